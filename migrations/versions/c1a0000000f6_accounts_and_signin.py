"""accounts (issue 13): real-person fields, 经办人 authorisations, account requests, SMS codes, sign-in log

Revision ID: c1a0000000f6
Revises: c1a0000000e5
Create Date: 2026-12-01 03:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000f6'
down_revision = 'c1a0000000e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number', sa.String(length=18), server_default='', nullable=False))
        batch_op.add_column(sa.Column('realname_level', sa.String(length=10), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('realname_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('section', sa.String(length=50), server_default='', nullable=False))
        batch_op.add_column(sa.Column('position', sa.String(length=50), server_default='', nullable=False))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_rep_id', sa.String(length=18), server_default='', nullable=False))
        batch_op.add_column(sa.Column('licence_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('legal_rep_id_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('registered_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key('fk_enterprise_licence_upload', 'upload', ['licence_sha256'], ['sha256'])
        batch_op.create_foreign_key('fk_enterprise_legal_rep_id_upload', 'upload', ['legal_rep_id_sha256'], ['sha256'])

    op.create_table(
        'agent_authorization',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('project_ids', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('granted_by', sa.Integer(), nullable=False),
        sa.Column('granted_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id']),
        sa.ForeignKeyConstraint(['agent_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['granted_by'], ['app_user.id']),
        sa.ForeignKeyConstraint(['revoked_by'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_agent_authorization_agent', 'agent_authorization', ['agent_id', 'enterprise_id'])
    op.create_index(op.f('ix_agent_authorization_enterprise_id'), 'agent_authorization', ['enterprise_id'])

    op.create_table(
        'account_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('submitted_by', sa.Integer(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=False),
        sa.Column('reviewed_by', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['department_id'], ['department.id']),
        sa.ForeignKeyConstraint(['submitted_by'], ['app_user.id']),
        sa.ForeignKeyConstraint(['reviewed_by'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_account_request_scope', 'account_request', ['status', 'region_code'])
    op.create_index(op.f('ix_account_request_user_id'), 'account_request', ['user_id'])

    op.create_table(
        'sms_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sms_code_phone', 'sms_code', ['phone', 'purpose', 'created_at'])

    op.create_table(
        'signin_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=50), nullable=False),
        sa.Column('source', sa.String(length=45), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('result', sa.String(length=15), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_signin_log_user', 'signin_log', ['user_id', 'at'])
    op.create_index('ix_signin_log_name', 'signin_log', ['username', 'at'])
    op.create_index('ix_signin_log_source', 'signin_log', ['source', 'at'])


def downgrade():
    for table in ('signin_log', 'sms_code', 'account_request', 'agent_authorization'):
        op.drop_table(table)
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.drop_constraint('fk_enterprise_legal_rep_id_upload', type_='foreignkey')
        batch_op.drop_constraint('fk_enterprise_licence_upload', type_='foreignkey')
        for column in ('registered_at', 'legal_rep_id_sha256', 'licence_sha256', 'legal_rep_id'):
            batch_op.drop_column(column)
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        for column in ('cancelled_at', 'password_changed_at', 'must_change_password', 'position', 'section',
                       'realname_at', 'realname_level', 'id_number'):
            batch_op.drop_column(column)
