"""inbox index in due order

Revision ID: 7c1e2a9b4d10
Revises: 444efcfd1ada
Create Date: 2026-11-23

The 待办 query filters on role, department and region and orders by (due_at IS NULL, due_at, id);
an index in that order lets the database stop after the first page instead of sorting every row.
"""
import sqlalchemy as sa
from alembic import op

revision = "7c1e2a9b4d10"
down_revision = "444efcfd1ada"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wf_human_task") as batch_op:
        batch_op.drop_index("ix_wf_human_task_inbox")
    op.create_index("ix_wf_human_task_inbox_due", "wf_human_task",
                    ["candidate_role", "department_id", "region_code", sa.text("(due_at IS NULL)"), "due_at", "id"])


def downgrade():
    op.drop_index("ix_wf_human_task_inbox_due", table_name="wf_human_task")
    with op.batch_alter_table("wf_human_task") as batch_op:
        batch_op.create_index("ix_wf_human_task_inbox", ["candidate_role", "department_id", "region_code", "assignee"])
