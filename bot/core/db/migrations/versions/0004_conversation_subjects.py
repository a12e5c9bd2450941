"""conversation subjects: keyed email hashes per conversation, for privacy requests

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store_integrations.id'], name=op.f('fk_conversation_subjects_store_id_store_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_subjects'))
    )
    with op.batch_alter_table('conversation_subjects', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_subjects_lookup', ['store_id', 'email_hash'], unique=False)
        batch_op.create_index('ix_conversation_subjects_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversation_subjects', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_subjects_created')
        batch_op.drop_index('ix_conversation_subjects_lookup')
    op.drop_table('conversation_subjects')
