"""The schema comes from migrations, and they agree with the models: a fresh database, and one made before
migrations existed, both end up at the models' schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from broadcaster.database import Database
from broadcaster.db import Base
from broadcaster.migrations import BASELINE, alembic_config, upgrade


def differences(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_build_exactly_the_models_schema(database: Database) -> None:
    # The ``database`` fixture built it through the migrations (SQLite, and PostgreSQL when configured).
    assert differences(database) == [], "a model changed without a migration: python -m broadcaster.migrations"


def test_a_database_from_before_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), BASELINE)  # the tables create_all made before migrations...
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")  # ...which kept no record of a revision
        conn.exec_driver_sql("INSERT INTO areas (id, name, kind) VALUES (1, 'Thôn Đông', 'village')")
        conn.exec_driver_sql("INSERT INTO users (id, username, password_hash, token_hash, is_admin, created_at) "
                             "VALUES (1, 'admin', 'x', 'ab', 1, '2026-01-01 00:00:00')")
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"recurrences", "occurrence_plays", "user_roles", "api_tokens", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM areas").scalar() == "Thôn Đông", "nothing was lost"
        assert conn.exec_driver_sql("SELECT role FROM user_roles WHERE user_id = 1").scalar() == "admin"
        assert conn.exec_driver_sql("SELECT token_hash FROM api_tokens WHERE user_id = 1").scalar() == "ab"
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() != BASELINE
    upgrade(engine)  # again: nothing to do, no error
