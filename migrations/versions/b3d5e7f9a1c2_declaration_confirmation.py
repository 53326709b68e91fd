"""declaration.confirmation: the 信息确认 of a later stage (审批类 可研/初步设计)

Revision ID: b3d5e7f9a1c2
Revises: 888618196937
Create Date: 2026-11-23 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3d5e7f9a1c2'
down_revision = '888618196937'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('declaration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmation', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('declaration', schema=None) as batch_op:
        batch_op.drop_column('confirmation')
