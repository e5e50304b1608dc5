"""Alembic environment: runs on the engine the caller passes (``broadcaster.migrations.upgrade``)."""

from __future__ import annotations

from alembic import context

from broadcaster import db_cap  # noqa: F401  # the CAP tables are part of Base.metadata
from broadcaster.db import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    # render_as_batch: SQLite cannot ALTER most things, so column changes are done by copying the table.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
