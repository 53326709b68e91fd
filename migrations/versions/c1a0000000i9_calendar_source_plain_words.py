"""calendar source in plain words: the built-in holiday schedule no longer names the Python library it was loaded
with (「据 chinese-calendar 1.11 载入」 → 「系统内置」), for rows the seed wrote; rows staff typed are left alone.
The 事项目录's change history needs no table: it is written to studio_change (area "items").

Revision ID: c1a0000000i9
Revises: c1a0000000h8
Create Date: 2026-12-01 09:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000i9'
down_revision = 'c1a0000000h8'
branch_labels = None
depends_on = None

OLD = "国务院办公厅关于部分节假日安排的通知（据 chinese-calendar 1.11 载入）"
NEW = "国务院办公厅关于部分节假日安排的通知（系统内置）"


def _swap(before: str, after: str) -> None:
    for table in ("calendar_day", "calendar_year"):
        op.execute(sa.text(f"UPDATE {table} SET source = :after WHERE source = :before")
                   .bindparams(before=before, after=after))


def upgrade():
    _swap(OLD, NEW)


def downgrade():
    _swap(NEW, OLD)
