"""baseline: the schema before migrations

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22

The tables as Base.metadata.create_all made them before migrations existed; such databases are stamped
with this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['areas.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('assets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('render_key', sa.String(length=64), nullable=True),
    sa.Column('codec', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('published_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('render_key')
    )
    op.create_table('signing_state',
    sa.Column('kid', sa.String(length=32), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kid')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    sa.UniqueConstraint('username')
    )
    op.create_table('bulletins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('approved_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('devices',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('last_seen', broadcaster.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.String(length=40), nullable=True),
    sa.Column('volume', sa.Integer(), nullable=True),
    sa.Column('now_playing', sa.Integer(), nullable=True),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['areas.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('lexicon',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=80), nullable=False),
    sa.Column('reading', sa.String(length=300), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('word')
    )
    op.create_table('listening_checks',
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('understood', sa.Float(), nullable=False),
    sa.Column('missed', sa.Text(), nullable=False),
    sa.Column('heard', sa.Text(), nullable=False),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.PrimaryKeyConstraint('asset_id')
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('play_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.Column('grace_s', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('sent_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('device_credentials',
    sa.Column('device_id', sa.String(length=63), nullable=False),
    sa.Column('mqtt_hash', sa.String(length=200), nullable=False),
    sa.Column('changed_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('device_id')
    )
    op.create_table('device_health',
    sa.Column('device_id', sa.String(length=63), nullable=False),
    sa.Column('reported', sa.Text(), nullable=False),
    sa.Column('clock_skew_s', sa.Float(), nullable=True),
    sa.Column('updated_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('device_id')
    )
    op.create_table('recordings',
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=40), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ),
    sa.PrimaryKeyConstraint('bulletin_id')
    )
    op.create_table('refusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=63), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('reported_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('received_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('refusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refusals_device_id'), ['device_id'], unique=False)

    op.create_table('volume_settings',
    sa.Column('device_id', sa.String(length=63), nullable=False),
    sa.Column('volume', sa.Integer(), nullable=False),
    sa.Column('set_by', sa.Integer(), nullable=False),
    sa.Column('set_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('sent_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('device_id')
    )
    op.create_table('deliveries',
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=63), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('started_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('broadcast_id', 'device_id')
    )
    op.create_table('relays',
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('window_s', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], ),
    sa.PrimaryKeyConstraint('broadcast_id')
    )


def downgrade() -> None:
    op.drop_table('relays')
    op.drop_table('deliveries')
    op.drop_table('volume_settings')
    with op.batch_alter_table('refusals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refusals_device_id'))

    op.drop_table('refusals')
    op.drop_table('recordings')
    op.drop_table('device_health')
    op.drop_table('device_credentials')
    op.drop_table('broadcasts')
    op.drop_table('listening_checks')
    op.drop_table('lexicon')
    op.drop_table('devices')
    op.drop_table('bulletins')
    op.drop_table('users')
    op.drop_table('signing_state')
    op.drop_table('assets')
    op.drop_table('areas')
