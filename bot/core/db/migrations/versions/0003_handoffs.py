"""handoffs and merchant agents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchant_agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('invite_hash', sa.String(length=64), nullable=True),
    sa.Column('invite_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_merchant_agents_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_agents')),
    sa.UniqueConstraint('invite_hash', name=op.f('uq_merchant_agents_invite_hash'))
    )
    with op.batch_alter_table('merchant_agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_agents_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index('ix_merchant_agents_merchant_email', ['merchant_id', 'email'], unique=True)

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('agent_name', sa.String(length=200), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('question', sa.Text(), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_reply_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_shopper_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['merchant_agents.id'], name=op.f('fk_handoffs_agent_id_merchant_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['store_integrations.id'], name=op.f('fk_handoffs_store_id_store_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_conversation_state', ['conversation_id', 'state'], unique=False)
        batch_op.create_index('ix_handoffs_store_state_requested', ['store_id', 'state', 'requested_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_store_state_requested')
        batch_op.drop_index('ix_handoffs_conversation_state')
    op.drop_table('handoffs')
    with op.batch_alter_table('merchant_agents', schema=None) as batch_op:
        batch_op.drop_index('ix_merchant_agents_merchant_email')
        batch_op.drop_index(batch_op.f('ix_merchant_agents_merchant_id'))
    op.drop_table('merchant_agents')
