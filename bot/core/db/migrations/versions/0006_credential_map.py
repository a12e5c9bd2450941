"""store credentials as one encrypted map per store; encryptions counted per key; error codes

The three credential columns become ``credentials_encrypted`` (``{field: ciphertext}``). Values
move unchanged: they stay ``tb1`` ciphertexts bound to the widget id and the former column name,
which :mod:`bot.services.credentials` still reads, until ``trulybot keys reencrypt`` rewrites them.
No key is needed to migrate. ``encryption_key_usage`` starts with the number of values each key
has encrypted that are still stored (a lower bound of its real use).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00
"""
from collections import Counter

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LEGACY_COLUMNS = {
    "consumer_key": "consumer_key_encrypted",
    "consumer_secret": "consumer_secret_encrypted",
    "access_token": "access_token_encrypted",
}


def _stores(*columns: str) -> sa.sql.TableClause:
    return sa.table("store_integrations", sa.column("id", sa.Integer()), sa.column("config", sa.JSON()),
                    *(sa.column(c, sa.JSON() if c == "credentials_encrypted" else sa.Text()) for c in columns))


def _key_id(value: str) -> str:
    parts = value.split(":", 2)
    return parts[1] if len(parts) == 3 else ""


def upgrade() -> None:
    usage = op.create_table('encryption_key_usage',
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('encryptions', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_encryption_key_usage'))
    )
    with op.batch_alter_table('store_integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credentials_encrypted', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('last_error_code', sa.String(length=40), nullable=True))

    bind = op.get_bind()
    old = _stores(*LEGACY_COLUMNS.values(), "credentials_encrypted")
    counts: Counter = Counter()
    for row in bind.execute(sa.select(old)).mappings().all():
        mapped = {field: row[column] for field, column in LEGACY_COLUMNS.items() if row[column]}
        counts.update(_key_id(v) for v in mapped.values())
        secret = ((row["config"] or {}).get("webhooks") or {}).get("secret_encrypted")
        if isinstance(secret, str) and secret:
            counts[_key_id(secret)] += 1
        bind.execute(old.update().where(old.c.id == row["id"]).values(credentials_encrypted=mapped))
    # errors were written as "code: text"; from now on the code has its own column
    errors = sa.table("store_integrations", sa.column("id", sa.Integer()), sa.column("last_error", sa.Text()),
                      sa.column("last_error_code", sa.String()))
    for row in bind.execute(sa.select(errors).where(errors.c.last_error.isnot(None))).mappings().all():
        code, sep, detail = str(row["last_error"]).partition(":")
        known = bool(sep) and code.strip().replace("_", "").isalnum() and len(code.strip()) <= 40
        bind.execute(errors.update().where(errors.c.id == row["id"]).values(
            last_error_code=code.strip() if known else "store_error",
            last_error=detail.strip() if known else row["last_error"]))
    if counts:
        now = sa.func.now() if bind.dialect.name == "postgresql" else sa.func.current_timestamp()
        for kid, n in counts.items():
            if kid:
                bind.execute(usage.insert().values(key_id=kid[:32], encryptions=n, updated_at=now))

    with op.batch_alter_table('store_integrations', schema=None) as batch_op:
        batch_op.alter_column('credentials_encrypted', existing_type=sa.JSON(), nullable=False)
        for column in LEGACY_COLUMNS.values():
            batch_op.drop_column(column)


def downgrade() -> None:
    """Back to three columns; only possible while every value is still a ``tb1`` value."""
    with op.batch_alter_table('store_integrations', schema=None) as batch_op:
        for column in LEGACY_COLUMNS.values():
            batch_op.add_column(sa.Column(column, sa.Text(), nullable=True))
    bind = op.get_bind()
    table = _stores(*LEGACY_COLUMNS.values(), "credentials_encrypted")
    for row in bind.execute(sa.select(table)).mappings().all():
        mapped = row["credentials_encrypted"] or {}
        unknown = set(mapped) - set(LEGACY_COLUMNS)
        newer = [f for f, v in mapped.items() if v and not str(v).startswith("tb1:")]
        if unknown or newer:
            raise RuntimeError(
                f"store {row['id']} holds credentials the old schema cannot keep "
                f"({', '.join(sorted(unknown | set(newer)))}): downgrade refused, nothing changed")
        if mapped:
            bind.execute(table.update().where(table.c.id == row["id"]).values(
                **{LEGACY_COLUMNS[f]: v for f, v in mapped.items()}))
    with op.batch_alter_table('store_integrations', schema=None) as batch_op:
        batch_op.drop_column('credentials_encrypted')
        batch_op.drop_column('last_error_code')
    op.drop_table('encryption_key_usage')
