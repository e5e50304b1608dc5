"""Voices: a bulletin's own voice and speed, and an area's default voice.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulletins") as table:
        table.add_column(sa.Column("voice", sa.String(length=63), nullable=True))
        table.add_column(sa.Column("speed", sa.Float(), nullable=True))
    with op.batch_alter_table("areas") as table:
        table.add_column(sa.Column("voice", sa.String(length=63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("areas") as table:
        table.drop_column("voice")
    with op.batch_alter_table("bulletins") as table:
        table.drop_column("speed")
        table.drop_column("voice")
