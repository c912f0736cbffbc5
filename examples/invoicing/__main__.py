"""``python -m examples.invoicing``: migrate (backoffice's tables, then the app's) and serve.

The first superuser comes from BACKOFFICE_FIRST_SUPERUSER_EMAIL / _PASSWORD, as for
``backoffice serve``; without them, create one with ``backoffice createsuperuser``.
"""

import argparse
import asyncio
import os
from pathlib import Path

import uvicorn

from backoffice import Settings
from backoffice.cli import prepare_to_serve

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def settings() -> Settings:
    # Set in the environment, so the app factory uvicorn imports reads the same settings.
    os.environ.setdefault("BACKOFFICE_DATABASE_URL", "sqlite+aiosqlite:///./invoicing.db")
    os.environ.setdefault("BACKOFFICE_PROJECT_NAME", "Invoicing")
    os.environ.setdefault("BACKOFFICE_APP_MIGRATIONS", str(MIGRATIONS))
    return Settings()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.invoicing")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if asyncio.run(prepare_to_serve(settings())) != 0:
        raise SystemExit(1)
    uvicorn.run("examples.invoicing.app:create_app", factory=True, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
