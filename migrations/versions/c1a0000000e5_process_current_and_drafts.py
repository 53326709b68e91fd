"""process versions: deploy reason, the current version per process, studio drafts (issue 12)

Revision ID: c1a0000000e5
Revises: c1a0000000d4
Create Date: 2026-11-30 22:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000e5'
down_revision = 'c1a0000000d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wf_process_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
    op.create_table(
        'wf_process_current',
        sa.Column('process_key', sa.String(length=100), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('changed_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['wf_process_version.id']),
        sa.PrimaryKeyConstraint('process_key'),
    )
    # Until now the newest version was the current one: keep it so.
    op.execute(
        "INSERT INTO wf_process_current (process_key, version_id, changed_at, changed_by) "
        "SELECT v.process_key, v.id, v.deployed_at, v.deployed_by FROM wf_process_version v "
        "WHERE v.version = (SELECT MAX(w.version) FROM wf_process_version w WHERE w.process_key = v.process_key)")
    op.create_table(
        'wf_process_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('base_hash', sa.String(length=64), nullable=False),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('filename'),
    )


def downgrade():
    op.drop_table('wf_process_draft')
    op.drop_table('wf_process_current')
    with op.batch_alter_table('wf_process_version', schema=None) as batch_op:
        batch_op.drop_column('reason')
