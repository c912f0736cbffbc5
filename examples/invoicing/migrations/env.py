"""Alembic environment of the invoicing app: its own tables, its own version table.

backoffice's tables have their own revisions; ``run_migrations`` leaves them out of this
history. ``backoffice migrate`` runs this folder after backoffice's own when it is listed in
``BACKOFFICE_APP_MIGRATIONS``; ``backoffice makemigrations --app examples/invoicing/migrations``
(or ``alembic -c examples/invoicing/alembic.ini revision --autogenerate``) writes new revisions
for the app's models.
"""

from alembic import context

from backoffice.migration_env import run_migrations, tables_of

run_migrations(
    context,
    tables=tables_of("examples.invoicing.models"),
    version_table="alembic_version_invoicing",
)
