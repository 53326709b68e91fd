"""sms_code.source: the client address that asked for a code, so codes per source address and hour can be limited

Revision ID: c1a0000000g7
Revises: c1a0000000f6
Create Date: 2026-12-01 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000g7'
down_revision = 'c1a0000000f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sms_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=45), nullable=True))
        batch_op.create_index('ix_sms_code_source', ['source', 'created_at'])


def downgrade():
    with op.batch_alter_table('sms_code', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_code_source')
        batch_op.drop_column('source')
