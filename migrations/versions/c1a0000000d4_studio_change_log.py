"""studio change log: who changed which reference record, when, why, field by field (issue 12)

Revision ID: c1a0000000d4
Revises: c1a0000000c3
Create Date: 2026-11-30 21:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000d4'
down_revision = 'c1a0000000c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'studio_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('area', sa.String(length=30), nullable=False),
        sa.Column('record_key', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('diff', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    # the history page of one table, and of one record in it
    op.create_index('ix_studio_change_area_key', 'studio_change', ['area', 'record_key'], unique=False)


def downgrade():
    op.drop_index('ix_studio_change_area_key', table_name='studio_change')
    op.drop_table('studio_change')
