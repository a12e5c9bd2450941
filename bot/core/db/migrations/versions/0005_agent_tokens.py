"""merchant tokens of agents

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('merchant_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_merchant_tokens_agent_id_merchant_agents'), 'merchant_agents',
                                    ['agent_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('merchant_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_merchant_tokens_agent_id_merchant_agents'), type_='foreignkey')
        batch_op.drop_column('agent_id')
