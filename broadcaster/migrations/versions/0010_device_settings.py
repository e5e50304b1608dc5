"""Device settings: the volume, and on/off, sent together (volume_settings carried over).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_settings",
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("set_by", sa.Integer(), nullable=False),
        sa.Column("set_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["set_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.execute("INSERT INTO device_settings (device_id, volume, enabled, set_by, set_at, sent_at) "
               "SELECT device_id, volume, true, set_by, set_at, sent_at FROM volume_settings")
    op.drop_table("volume_settings")


def downgrade() -> None:
    op.create_table(
        "volume_settings",
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=False),
        sa.Column("set_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["set_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.execute("INSERT INTO volume_settings (device_id, volume, set_by, set_at, sent_at) "
               "SELECT device_id, volume, set_by, set_at, sent_at FROM device_settings WHERE volume IS NOT NULL")
    op.drop_table("device_settings")
