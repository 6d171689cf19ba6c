"""Alembic environment: runs the store's migrations on the connection `open_store` hands over."""

from __future__ import annotations

from alembic import context

from postcall.store.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
