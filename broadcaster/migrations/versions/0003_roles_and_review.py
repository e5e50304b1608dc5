"""Users get roles and areas, several API tokens, a lockout counter; an audit log; bulletins get an area and
the review workflow's fields.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Admins (is_admin) become users with the admin role, other users editors; each user's single API token
becomes their first entry in api_tokens.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import broadcaster.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', broadcaster.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', broadcaster.db.UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('user_areas',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'area_id')
    )
    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'role')
    )
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', broadcaster.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('submitted_at', broadcaster.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('review_comment', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_bulletins_area_id', 'areas', ['area_id'], ['id'])

    op.execute("INSERT INTO user_roles (user_id, role) SELECT id, CASE WHEN is_admin THEN 'admin' ELSE 'editor' END "
               "FROM users")
    op.execute("INSERT INTO api_tokens (user_id, name, token_hash, created_at) "
               "SELECT id, 'first token', token_hash, created_at FROM users WHERE token_hash IS NOT NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', broadcaster.db.UTCDateTime(), nullable=True))
        batch_op.drop_column('token_hash')
        batch_op.drop_column('is_admin')



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.BOOLEAN(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('token_hash', sa.VARCHAR(length=64), nullable=True))
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
    op.execute("UPDATE users SET is_admin = true WHERE id IN (SELECT user_id FROM user_roles WHERE role = 'admin')")

    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_constraint('fk_bulletins_area_id', type_='foreignkey')
        batch_op.drop_column('review_comment')
        batch_op.drop_column('submitted_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('area_id')

    op.drop_table('user_roles')
    op.drop_table('user_areas')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
