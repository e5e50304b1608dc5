"""Alarms that reach people: subscriptions and the messages sent (by e-mail, webhook, Telegram).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_subscriptions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("telegram_chat_id", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("quiet_from", sa.String(length=5), nullable=True),
        sa.Column("quiet_to", sa.String(length=5), nullable=True),
        sa.Column("daily_summary", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "notify_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "user_id", "channel", name="uq_notify_message"),
    )
    with op.batch_alter_table("notify_messages") as table:
        table.create_index(table.f("ix_notify_messages_alarm_id"), ["alarm_id"], unique=False)
        table.create_index(table.f("ix_notify_messages_user_id"), ["user_id"], unique=False)
        table.create_index(table.f("ix_notify_messages_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notify_messages") as table:
        table.drop_index(table.f("ix_notify_messages_state"))
        table.drop_index(table.f("ix_notify_messages_user_id"))
        table.drop_index(table.f("ix_notify_messages_alarm_id"))
    op.drop_table("notify_messages")
    op.drop_table("notify_subscriptions")
