"""number counters per prefix; human-task ids never reused (issue 11)

Revision ID: c1a0000000a1
Revises: b3d5e7f9a1c2
Create Date: 2026-11-30 17:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'c1a0000000a1'
down_revision = 'b3d5e7f9a1c2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
