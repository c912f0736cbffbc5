"""Robustness tests: fuzzing, hostile input, outages and several workers.

Tests marked ``postgres_only`` need a real PostgreSQL server (an outage to cause, several
processes sharing one database); see ``tests/conftest.py``.
"""

from collections.abc import AsyncIterator

import pytest
from conftest import POSTGRES_URL
from sqlalchemy.engine import make_url

from robustness.tcp_proxy import TcpProxy


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    """A TCP proxy to the test PostgreSQL server: stopping it is an outage (connections
    refused, open ones reset), starting it again is the server coming back."""
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    if proxy.is_up:
        await proxy.stop()
