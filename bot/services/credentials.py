"""Reading and writing the encrypted credential columns of ``store_integrations``."""
from __future__ import annotations

from typing import Dict, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.crypto import KeyRing, associated_data
from bot.core.db.models import StoreIntegration

# credential name used by platform plugins → encrypted column
CREDENTIAL_COLUMNS = {
    "consumer_key": "consumer_key_encrypted",
    "consumer_secret": "consumer_secret_encrypted",
    "access_token": "access_token_encrypted",
}


def _aad(store: StoreIntegration, column: str) -> bytes:
    return associated_data(StoreIntegration.__tablename__, store.widget_id, column)


def set_credentials(store: StoreIntegration, ring: KeyRing, credentials: Dict[str, Optional[str]]) -> None:
    """Encrypt ``credentials`` (consumer_key, consumer_secret, access_token) into ``store``."""
    if not store.widget_id:
        raise ValueError("the store needs its widget_id before credentials can be bound to it")
    for name, value in credentials.items():
        column = CREDENTIAL_COLUMNS[name]
        setattr(store, column, ring.encrypt(value, _aad(store, column)) if value else None)


def get_credentials(store: StoreIntegration, ring: KeyRing) -> Dict[str, str]:
    """Decrypt every stored credential of ``store``."""
    out: Dict[str, str] = {}
    for name, column in CREDENTIAL_COLUMNS.items():
        stored = getattr(store, column)
        if stored:
            out[name] = ring.decrypt(stored, _aad(store, column))
    return out


def reencrypt_all(sessions: "sessionmaker[Session]", ring: KeyRing) -> int:
    """Re-encrypt every credential not under the current key; return how many values changed.

    Runs in one transaction: either every row moves to the new key or none does.
    """
    changed = 0
    with sessions.begin() as session:
        for store in session.execute(select(StoreIntegration)).scalars():
            for column in StoreIntegration.ENCRYPTED_FIELDS:
                stored = getattr(store, column)
                if stored and ring.needs_rotation(stored):
                    setattr(store, column, ring.reencrypt(stored, _aad(store, column)))
                    changed += 1
    return changed


def clear_credentials(store: StoreIntegration) -> None:
    """Forget every stored credential of ``store`` (disconnect, app uninstalled)."""
    for column in CREDENTIAL_COLUMNS.values():
        setattr(store, column, None)
