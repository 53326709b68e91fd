"""number counters per prefix; human-task ids never reused (issue 11)

Revision ID: c1a0000000a1
Revises: b3d5e7f9a1c2
Create Date: 2026-11-30 17:00:00

number_counter: the last serial per numbered column and prefix (app.services.next_serial). It needs no
seeding: a prefix's first use starts after the highest serial already stored under it.
form_token: one-time form tokens (领码 posted twice makes one project).
wf_human_task and attachment on SQLite: rebuilt with AUTOINCREMENT, so an id freed by a deleted row is never
given to a new one (a stale click must not land on another task or material). PostgreSQL sequences never
reuse ids: nothing to do there.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c1a0000000a1'
down_revision = 'b3d5e7f9a1c2'
branch_labels = None
depends_on = None

_INBOX_INDEX = ("ix_wf_human_task_inbox_due", "wf_human_task",
                ["candidate_role", "department_id", "region_code", sa.text("(due_at IS NULL)"), "due_at", "id"])


def upgrade():
    op.create_table(
        'number_counter',
        sa.Column('scope', sa.String(length=60), nullable=False),
        sa.Column('prefix', sa.String(length=60), nullable=False),
        sa.Column('last_value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'prefix'),
    )
    op.create_table(
        'form_token',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('result', sa.String(length=100), nullable=True),
        sa.Column('used_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('token'),
    )
    _sqlite_autoincrement(True)


def downgrade():
    _sqlite_autoincrement(False)
    op.drop_table('form_token')
    op.drop_table('number_counter')


def _sqlite_autoincrement(on: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    # Reflection skips the expression index of the inbox: drop it first, create it again after the copy.
    op.drop_index(_INBOX_INDEX[0], table_name=_INBOX_INDEX[1])
    for table in ('wf_human_task', 'attachment'):  # no other table refers to either
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': on}):
            pass
    op.create_index(*_INBOX_INDEX)
