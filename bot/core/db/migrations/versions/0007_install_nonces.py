"""install nonces: consumed install states, shared by every replica

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('install_nonces',
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce_hash', name=op.f('pk_install_nonces'))
    )
    with op.batch_alter_table('install_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_install_nonces_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('install_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_install_nonces_expires_at'))

    op.drop_table('install_nonces')
