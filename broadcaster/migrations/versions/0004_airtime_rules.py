"""Air-time rules per area: allowed hours, minutes per broadcast, broadcasts per day.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('airtime_rules',
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('allowed_from', sa.String(length=5), nullable=False),
    sa.Column('allowed_to', sa.String(length=5), nullable=False),
    sa.Column('max_session_min', sa.Integer(), nullable=True),
    sa.Column('max_sessions_per_day', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('area_id')
    )


def downgrade() -> None:
    op.drop_table('airtime_rules')
