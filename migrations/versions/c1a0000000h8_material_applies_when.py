"""item_material.applies_when: when a material applies, as a rule over the questionnaire's answers (issue 14)

The seeded materials whose condition the questionnaire covers get their rule from app/seed/items.yaml, matched by
item code and material name, only where the column is empty.

Revision ID: c1a0000000h8
Revises: c1a0000000g7
Create Date: 2026-12-01 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1a0000000h8'
down_revision = 'c1a0000000g7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_material', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applies_when', sa.JSON(none_as_null=True), nullable=True))
    from app.seed.items import material_rules

    material = sa.table('item_material', sa.column('item_code', sa.String), sa.column('name', sa.String),
                        sa.column('applies_when', sa.JSON(none_as_null=True)))
    bind = op.get_bind()
    for code, name, rule in material_rules():
        bind.execute(material.update().where(material.c.item_code == code, material.c.name == name,
                                             material.c.applies_when.is_(None)).values(applies_when=rule))


def downgrade():
    with op.batch_alter_table('item_material', schema=None) as batch_op:
        batch_op.drop_column('applies_when')
