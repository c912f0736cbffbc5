"""Alembic environment for backoffice's own tables (see ``backoffice.migration_env``).

Run by ``alembic …`` from the repository root (with alembic.ini) and by ``backoffice migrate``
(``backoffice.migrate`` builds the config in code). The URL is the one ``backoffice.migrate``
passes, otherwise the application's own ``Settings().database_url``; never an ini's.
"""

from logging.config import fileConfig

from alembic import context

from backoffice.migration_env import run_migrations

if context.config.config_file_name is not None:
    # Keep the application's loggers alive: fileConfig disables existing loggers by default.
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

run_migrations(context)
