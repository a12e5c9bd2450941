"""How many values each encryption key has encrypted (``encryption_key_usage``).

AES-GCM with random 96-bit nonces stays safe for at most
:data:`bot.core.crypto.MAX_ENCRYPTIONS_PER_KEY` encryptions under one key. Every code path that
stores a ciphertext counts it here, in the same transaction; ``trulybot keys status`` shows the
counts and warns from :data:`WARN_FRACTION` of the bound on, so the operator rotates in time.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.core.crypto import MAX_ENCRYPTIONS_PER_KEY, KeyRing
from bot.core.db.models import EncryptionKeyUsage, utcnow

#: share of the bound at which ``trulybot keys status`` asks for a rotation
WARN_FRACTION = 0.5


def count_encryptions(session: Session, ciphertexts: Iterable[str]) -> None:
    """Add one encryption per value in ``ciphertexts`` to the counter of the key it names."""
    per_key = Counter(KeyRing.key_id_of(value) for value in ciphertexts)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert if dialect == "sqlite" else None
    now = utcnow()
    for kid, n in per_key.items():
        if insert is not None:
            stmt = insert(EncryptionKeyUsage).values(key_id=kid, encryptions=n, updated_at=now)
            stmt = stmt.on_conflict_do_update(
                index_elements=[EncryptionKeyUsage.key_id],
                set_={"encryptions": EncryptionKeyUsage.encryptions + n, "updated_at": now})
            session.execute(stmt)
            continue
        row = session.get(EncryptionKeyUsage, kid, with_for_update=True)
        if row is None:
            session.add(EncryptionKeyUsage(key_id=kid, encryptions=n, updated_at=now))
        else:
            row.encryptions = row.encryptions + n
            row.updated_at = now


def usage(session: Session) -> Dict[str, int]:
    """Encryptions counted so far, by key id."""
    rows = session.execute(select(EncryptionKeyUsage.key_id, EncryptionKeyUsage.encryptions))
    return {kid: int(n) for kid, n in rows}


def needs_rotation_soon(encryptions: int) -> bool:
    """True once a key has used :data:`WARN_FRACTION` of its encryption bound."""
    return encryptions >= MAX_ENCRYPTIONS_PER_KEY * WARN_FRACTION
