"""Robustness tests: fuzzing, hostile input, outages and several workers.

Tests marked ``postgres_only`` need a real PostgreSQL server (an outage to cause, several
processes sharing one database). Without BACKOFFICE_TEST_DATABASE_URL they are deselected, not
skipped: on SQLite they do not apply, so they are not reported as pending work either.
"""

import pytest
from conftest import POSTGRES_URL


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    kept = [item for item in items if item.get_closest_marker("postgres_only") is None]
    deselected = [item for item in items if item.get_closest_marker("postgres_only") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
