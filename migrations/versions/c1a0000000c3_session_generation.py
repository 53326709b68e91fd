"""per-user session generation (issue 11)

Revision ID: c1a0000000c3
Revises: c1a0000000b2
Create Date: 2026-11-30 17:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000c3'
down_revision = 'c1a0000000b2'
branch_labels = None
depends_on = None


def upgrade():
    # server_default: existing users start at generation 0 (their old "<id>" cookies no longer load: one new login)
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
