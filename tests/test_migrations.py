"""The schema comes from migrations, and they agree with the models: a fresh database, and one made before
migrations existed, both end up at the models' schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from broadcaster.db import Base, Database
from broadcaster.migrations import BASELINE, upgrade


def differences(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_build_exactly_the_models_schema(database: Database) -> None:
    # The ``database`` fixture built it through the migrations (SQLite, and PostgreSQL when configured).
    assert differences(database) == [], "a model changed without a migration: python -m broadcaster.migrations"


def test_a_database_from_before_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    legacy = [t for name, t in Base.metadata.tables.items() if name not in ("recurrences", "occurrence_plays")]
    Base.metadata.create_all(engine, tables=legacy)  # what create_all made before migrations existed
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO areas (id, name, kind) VALUES (1, 'Thôn Đông', 'village')")
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"recurrences", "occurrence_plays", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM areas").scalar() == "Thôn Đông", "nothing was lost"
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() != BASELINE
    upgrade(engine)  # again: nothing to do, no error
