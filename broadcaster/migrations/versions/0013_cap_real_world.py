"""CAP alerts from real issuers: what became of each alert (one per sender and identifier), issuers and their
policies, feeds and their health, the priority mapping table, geocodes and area outlines.

cap_alerts is rebuilt (its key was the identifier alone; now an id, unique per sender and identifier); the
alerts received before keep their status, bulletin and broadcasts, as aired or recorded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cap_priority_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("urgencies", sa.String(length=100), nullable=False),
        sa.Column("severities", sa.String(length=100), nullable=False),
        sa.Column("certainties", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "area_outlines",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("area_id"),
    )
    op.create_table(
        "cap_geocodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value_name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("value_name", "value", "area_id"),
    )
    op.create_table(
        "cap_issuers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("senders", sa.Text(), nullable=False),
        sa.Column("certificates", sa.Text(), nullable=False),
        sa.Column("require_signature", sa.Boolean(), nullable=False),
        sa.Column("hold_for_approval", sa.Boolean(), nullable=False),
        sa.Column("language_fallback", sa.String(length=10), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "cap_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("poll_every_s", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("next_poll_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("last_polled_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("entries_seen", sa.Integer(), nullable=False),
        sa.Column("alerts_imported", sa.Integer(), nullable=False),
        sa.Column("created_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["cap_issuers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_table(
        "cap_feed_entries",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=300), nullable=False),
        sa.Column("seen_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["cap_feeds.id"]),
        sa.PrimaryKeyConstraint("feed_id", "link"),
    )
    # A new table under a new name, then renamed: PostgreSQL keeps the old key's index name with a renamed
    # table, which the new table's key would collide with.
    op.create_table(
        "cap_alerts_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("sent", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("msg_type", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=True),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("expires", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("play_at", broadcaster.db.UTCDateTime(), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("referenced", sa.Text(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("broadcast_ids", sa.Text(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("signed_by", sa.String(length=300), nullable=True),
        sa.Column("received_by", sa.Integer(), nullable=False),
        sa.Column("received_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"]),
        sa.ForeignKeyConstraint(["feed_id"], ["cap_feeds.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["cap_issuers.id"]),
        sa.ForeignKeyConstraint(["received_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender", "identifier"),
    )
    op.execute(
        "INSERT INTO cap_alerts_new (identifier, sender, status, msg_type, scope, outcome, reason, event, report, "
        "original_text, targets, referenced, bulletin_id, broadcast_ids, received_by, received_at) "
        "SELECT identifier, sender, status, msg_type, '', "
        "CASE WHEN broadcast_ids = '[]' THEN 'recorded' ELSE 'aired' END, '', '', '{}', '', '[]', '[]', "
        "bulletin_id, broadcast_ids, received_by, received_at FROM cap_alerts")
    op.drop_table("cap_alerts")
    op.rename_table("cap_alerts_new", "cap_alerts")


def downgrade() -> None:
    op.create_table(
        "cap_alerts_old",
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("msg_type", sa.String(length=20), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("broadcast_ids", sa.Text(), nullable=False),
        sa.Column("received_by", sa.Integer(), nullable=False),
        sa.Column("received_at", broadcaster.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"]),
        sa.ForeignKeyConstraint(["received_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("identifier"),
    )
    op.execute("INSERT INTO cap_alerts_old (identifier, sender, status, msg_type, bulletin_id, broadcast_ids, "
               "received_by, received_at) SELECT identifier, MIN(sender), MIN(status), MIN(msg_type), "
               "MIN(bulletin_id), MIN(broadcast_ids), MIN(received_by), MIN(received_at) FROM cap_alerts "
               "GROUP BY identifier")
    op.drop_table("cap_alerts")
    op.rename_table("cap_alerts_old", "cap_alerts")
    op.drop_table("cap_feed_entries")
    op.drop_table("cap_feeds")
    op.drop_table("cap_issuers")
    op.drop_table("cap_geocodes")
    op.drop_table("area_outlines")
    op.drop_table("cap_priority_rules")
