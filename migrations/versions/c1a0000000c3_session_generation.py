"""per-user session generation (issue 11)

Revision ID: c1a0000000c3
Revises: c1a0000000b2
Create Date: 2026-11-30 17:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'c1a0000000c3'
down_revision = 'c1a0000000b2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
