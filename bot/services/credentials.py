"""A store's credentials: one map of encrypted values per store (``credentials_encrypted``).

The map holds ``{field name: ciphertext}``; field names are whatever the platform's connection
schema names (``consumer_key``, ``access_token``, ``api_key``, ...). Each value is encrypted with
:class:`bot.core.crypto.KeyRing` under associated data binding it to the table, the store id, the
widget id and the field (the ring adds format version and key id), so a ciphertext copied to
another store or another field does not decrypt.

Stores migrated from the three former columns keep their ``tb1`` values, which were bound to the
widget id and the former column name; they decrypt with that associated data until
``trulybot keys reencrypt`` (or ``rotate``) rewrites them in the current format.
"""
from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, sessionmaker

from bot.core.crypto import LEGACY_PREFIX, KeyRing, associated_data
from bot.core.db.models import StoreIntegration
from bot.services.key_usage import count_encryptions

TABLE = StoreIntegration.__tablename__
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: the columns credentials lived in before the map (``tb1`` values are bound to these names)
LEGACY_COLUMNS = {
    "consumer_key": "consumer_key_encrypted",
    "consumer_secret": "consumer_secret_encrypted",
    "access_token": "access_token_encrypted",
}
WEBHOOK_SECRET_FIELD = "webhook_secret"


def credential_aad(store_id: int, widget_id: str, field: str) -> bytes:
    """Associated data of one credential value of one store."""
    return f"trulybot/{TABLE}/{store_id}/{widget_id}/credentials/{field}".encode("utf-8")


def _aad_for(store: StoreIntegration, field: str, stored: str) -> bytes:
    if KeyRing.format_of(stored) == LEGACY_PREFIX:
        return associated_data(TABLE, store.widget_id, LEGACY_COLUMNS.get(field, field))
    return credential_aad(store.id, store.widget_id, field)


def _store_id(store: StoreIntegration) -> int:
    if not store.widget_id:
        raise ValueError("the store needs its widget_id before credentials can be bound to it")
    if store.id is None:
        session = object_session(store)
        if session is None:
            raise ValueError("the store needs its id (add it to a session) before credentials can be bound to it")
        session.flush([store])
    return store.id


def set_credentials(store: StoreIntegration, ring: KeyRing, credentials: Mapping[str, Optional[str]]) -> None:
    """Replace the store's credentials with ``credentials`` (empty values are left out), encrypted.

    The store must be in a session (its id is part of the associated data, and the encryptions
    are counted in that session's transaction).
    """
    store_id = _store_id(store)
    encrypted: Dict[str, str] = {}
    for name, value in credentials.items():
        if not FIELD_NAME.match(str(name)):
            raise ValueError(f"credential field name {name!r} must be a letter then letters, digits or '_'")
        if value:
            encrypted[name] = ring.encrypt(str(value), credential_aad(store_id, store.widget_id, name))
    store.credentials_encrypted = encrypted
    session = object_session(store)
    if session is not None:
        count_encryptions(session, encrypted.values())


def get_credentials(store: StoreIntegration, ring: KeyRing) -> Dict[str, str]:
    """Decrypt every stored credential of ``store`` (raises DecryptionError when one does not)."""
    stored_map = store.credentials_encrypted if isinstance(store.credentials_encrypted, dict) else {}
    return {name: ring.decrypt(stored, _aad_for(store, name, stored))
            for name, stored in stored_map.items() if stored}


def has_credentials(store: StoreIntegration) -> bool:
    """True when the store holds at least one credential."""
    return bool(store.credentials_encrypted)


def clear_credentials(store: StoreIntegration) -> None:
    """Forget every stored credential of ``store`` (disconnect, app uninstalled)."""
    store.credentials_encrypted = {}


def webhook_secret_aad(widget_id: str) -> bytes:
    """Associated data of a store's webhook secret (kept in ``config["webhooks"]["secret_encrypted"]``)."""
    return associated_data(TABLE, widget_id, WEBHOOK_SECRET_FIELD)


def encrypt_webhook_secret(session: Session, ring: KeyRing, widget_id: str, plain: str) -> str:
    """Encrypt a store's webhook secret (counted in ``session``)."""
    stored = ring.encrypt(plain, webhook_secret_aad(widget_id))
    count_encryptions(session, [stored])
    return stored


def reencrypt_all(sessions: "sessionmaker[Session]", ring: KeyRing) -> int:
    """Re-encrypt every credential and webhook secret not under the current key and format.

    Returns how many values changed. Runs in one transaction: either every row moves to the new
    key or none does.
    """
    changed: List[str] = []
    with sessions.begin() as session:
        for store in session.execute(select(StoreIntegration).order_by(StoreIntegration.id)).scalars():
            stored_map = dict(store.credentials_encrypted or {})
            if any(value and ring.needs_rotation(value) for value in stored_map.values()):
                plain = get_credentials(store, ring)
                set_credentials(store, ring, plain)
                changed.extend(store.credentials_encrypted.values())
            config = dict(store.config or {})
            webhooks = dict(config.get("webhooks") or {})
            secret = webhooks.get("secret_encrypted")
            if isinstance(secret, str) and secret and ring.needs_rotation(secret):
                webhooks["secret_encrypted"] = ring.reencrypt(secret, webhook_secret_aad(store.widget_id))
                changed.append(webhooks["secret_encrypted"])
                count_encryptions(session, [webhooks["secret_encrypted"]])
                config["webhooks"] = webhooks
                store.config = config
    return len(changed)
