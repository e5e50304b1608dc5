"""Indexes for a province's dashboard: a cluster's newest play, failures since midnight, emergencies, planned
times, and each broadcast's counts by state.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcasts_play_at"), ["play_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcasts_priority"), ["priority"], unique=False)

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_device_finished", ["device_id", "state", "finished_at"], unique=False)
        batch_op.create_index("ix_deliveries_state_updated", ["state", "updated_at"], unique=False)
        batch_op.create_index("ix_deliveries_broadcast_state", ["broadcast_id", "state"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_broadcast_state")
        batch_op.drop_index("ix_deliveries_state_updated")
        batch_op.drop_index("ix_deliveries_device_finished")

    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_priority"))
        batch_op.drop_index(batch_op.f("ix_broadcasts_play_at"))

