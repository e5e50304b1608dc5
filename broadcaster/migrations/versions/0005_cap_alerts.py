"""CAP alerts received, by identifier.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cap_alerts',
    sa.Column('identifier', sa.String(length=200), nullable=False),
    sa.Column('sender', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('msg_type', sa.String(length=20), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=True),
    sa.Column('broadcast_ids', sa.Text(), nullable=False),
    sa.Column('received_by', sa.Integer(), nullable=False),
    sa.Column('received_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ),
    sa.ForeignKeyConstraint(['received_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('identifier')
    )


def downgrade() -> None:
    op.drop_table('cap_alerts')
