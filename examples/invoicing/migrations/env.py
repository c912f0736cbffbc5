"""Alembic environment of the invoicing app: its own tables, its own version table.

backoffice's tables have their own revisions; ``run_migrations`` leaves them out of this
history. ``backoffice migrate`` runs this folder after backoffice's own when it is listed in
``BACKOFFICE_APP_MIGRATIONS``; ``alembic -c examples/invoicing/alembic.ini revision
--autogenerate`` writes new revisions for the app's models.
"""

from alembic import context

import examples.invoicing.models as models
from backoffice.migration_env import run_migrations

APP_TABLES = [models.Customer.__tablename__, models.Invoice.__tablename__]

run_migrations(context, tables=APP_TABLES, version_table="alembic_version_invoicing")
