"""Live sessions, and what the recognizer heard in a recording.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_sessions",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(length=40), nullable=False),
        sa.Column("speaker_id", sa.Integer(), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("max_s", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("asset_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"]),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"]),
        sa.ForeignKeyConstraint(["speaker_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("broadcast_id"),
        sa.UniqueConstraint("session"),
        sa.UniqueConstraint("ticket_hash"),
    )
    with op.batch_alter_table("recordings") as table:
        table.add_column(sa.Column("transcript", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as table:
        table.drop_column("transcript")
    op.drop_table("live_sessions")
