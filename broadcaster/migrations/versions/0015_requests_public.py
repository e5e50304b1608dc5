"""What the writer asked for with a bulletin (priority, time, targets, repeat), and communes with a public page.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulletins") as table:
        table.add_column(sa.Column("request", sa.Text(), nullable=True))
    with op.batch_alter_table("areas") as table:
        table.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("areas") as table:
        table.drop_column("public")
    with op.batch_alter_table("bulletins") as table:
        table.drop_column("request")
