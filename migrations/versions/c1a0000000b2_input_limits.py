"""input limits and timer failures (issue 11)

Revision ID: c1a0000000b2
Revises: c1a0000000a1
Create Date: 2026-11-30 17:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'c1a0000000b2'
down_revision = 'c1a0000000a1'
branch_labels = None
depends_on = None


def upgrade():
    # A timer whose firing fails backs off and stops after a few attempts, and an operator sees why.
    with op.batch_alter_table('wf_timer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('wf_timer', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
