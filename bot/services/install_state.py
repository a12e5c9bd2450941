"""The product's side of a platform's install flow: its state, the same for every platform.

Two kinds of install flow (``plugins.integration.ConnectFlow``) carry a state the product issues
and the platform echoes back:

* **install redirect** (OAuth authorization code): the merchant's browser goes to the platform and
  comes back to ``/api/integrations/<platform>/callback``. The state is a random nonce; the nonce,
  the merchant, the store asked for and an expiry travel in a signed, short-lived, HttpOnly,
  ``SameSite=Lax`` cookie (``Secure`` behind https) scoped to ``/api/integrations/<platform>``, so
  the callback must come back to the browser that started it. The nonce is consumed once, in the
  database (:class:`~bot.core.db.models.InstallNonce`), so a replay fails on every replica.
* **authorization callback** (the store POSTs credentials server to server): there is no browser
  cookie, so the state is ``<store id>.<nonce>`` and the pending store row keeps the nonce's hash,
  its expiry and whether it was used (locked while it is consumed).

Nothing here names a platform; the platform's own checks (signatures, shop addresses, code
exchange) live in its plugin.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import datetime, timedelta
from typing import Any, Dict, Optional, Tuple

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.db.models import InstallNonce, StoreIntegration, utcnow
from bot.core.sealed import derive_key, seal, unseal

#: ``store.config`` key of a pending store's install state (authorization callbacks)
PENDING_KEY = "install"
_PENDING_STATE = re.compile(r"([0-9]{1,10})\.([A-Za-z0-9_\-]{20,100})")


def nonce_hash(nonce: str) -> str:
    """What is stored of a nonce (SHA-256, hex)."""
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


# --- install redirect: the signed state cookie ---------------------------------------------------

def cookie_name(platform: str) -> str:
    """``tb_<platform>_oauth``."""
    return f"tb_{platform}_oauth"


def cookie_path(platform: str) -> str:
    """The cookie is sent only to ``/api/integrations/<platform>`` (and below)."""
    return f"/api/integrations/{platform}"


def _cookie_key(secret: str, platform: str) -> bytes:
    return derive_key(secret, f"{platform}-oauth-cookie")


def sign_state(secret: str, platform: str, payload: Dict[str, Any]) -> str:
    """The signed state cookie value for ``platform`` (see :mod:`bot.core.sealed`)."""
    return seal(_cookie_key(secret, platform), payload)


def read_state(secret: str, platform: str, cookie: Optional[str], now: Optional[float] = None) -> Optional[Dict[str, Any]]:
    """The state cookie's payload when authentic, for ``platform`` and unexpired; else None."""
    payload = unseal(_cookie_key(secret, platform), cookie)
    if payload is None or not isinstance(payload.get("exp"), (int, float)) or not isinstance(payload.get("n"), str):
        return None
    if payload["exp"] < (time.time() if now is None else now):
        return None
    return payload


def state_matches(payload: Dict[str, Any], state: str) -> bool:
    """True when the echoed ``state`` is the cookie's nonce (constant time)."""
    return hmac.compare_digest(str(payload.get("n", "")).encode("utf-8"), state.encode("utf-8", "replace"))


def consume_nonce(session: Session, platform: str, nonce: str, ttl: int) -> bool:
    """Record ``nonce`` as used; False when it was used before (on any replica). Prunes expired rows."""
    now = utcnow()
    session.execute(delete(InstallNonce).where(InstallNonce.expires_at < now))
    try:
        with session.begin_nested():
            session.add(InstallNonce(nonce_hash=nonce_hash(nonce), platform=platform[:40],
                                     expires_at=now + timedelta(seconds=ttl)))
    except IntegrityError:
        return False
    return True


# --- authorization callback: the pending store -------------------------------------------------

def pending_state(store_id: int, nonce: str) -> str:
    """The state an authorization callback echoes: ``<store id>.<nonce>``."""
    return f"{store_id}.{nonce}"


def parse_pending_state(state: Any) -> Optional[Tuple[int, str]]:
    """``(store id, nonce)`` of a well-formed state, else None."""
    text = str(state) if isinstance(state, (str, int)) and not isinstance(state, bool) else ""
    match = _PENDING_STATE.fullmatch(text)
    return (int(match.group(1)), match.group(2)) if match else None


def new_pending(nonce: str, ttl: int, return_to: Optional[str]) -> Dict[str, Any]:
    """The ``store.config[PENDING_KEY]`` of a store waiting for its authorization callback."""
    expires = utcnow() + timedelta(seconds=ttl)
    return {"nonce_hash": nonce_hash(nonce), "expires_at": expires.isoformat(), "used": False, "return_to": return_to}


def pending_of(config: Any) -> Tuple[Optional[str], Dict[str, Any]]:
    """``(key, state)`` of a store's pending install state in its ``config``.

    The state is under :data:`PENDING_KEY`; a store started by an older connect handler keeps
    it under another key, recognised by its ``nonce_hash``.
    """
    config = config if isinstance(config, dict) else {}
    if isinstance(config.get(PENDING_KEY), dict):
        return PENDING_KEY, config[PENDING_KEY]
    for key, value in config.items():
        if isinstance(value, dict) and "nonce_hash" in value and "expires_at" in value:
            return key, value
    return None, {}


def pending_expiry(config: Any) -> Optional[datetime]:
    """When a pending store's install state expires (None: unknown, treat as expired)."""
    _, state = pending_of(config)
    try:
        return datetime.fromisoformat(str(state.get("expires_at")))
    except (TypeError, ValueError):
        return None


def _nonce_ok(state: Dict[str, Any], nonce: str) -> bool:
    expected = str(state.get("nonce_hash") or "")
    return bool(expected) and hmac.compare_digest(expected, nonce_hash(nonce))


def claim_pending(session: Session, platform: str, store_id: int, nonce: str) -> Optional[StoreIntegration]:
    """Consume a pending store's state if it is live (row locked meanwhile): the store, else None."""
    store = session.get(StoreIntegration, store_id, with_for_update=True)
    if store is None or store.platform != platform or store.status != "pending":
        return None
    key, state = pending_of(store.config)
    if key is None or state.get("used") or not _nonce_ok(state, nonce):
        return None
    expires = pending_expiry(store.config)
    if expires is None or expires < utcnow():
        return None
    store.config = {**(store.config or {}), key: {**state, "used": True}}
    session.flush()
    return store


def set_pending_result(store: StoreIntegration, result: str) -> None:
    """Record how the authorization callback ended (``ok`` or ``failed``) for the return page."""
    key, state = pending_of(store.config)
    if key is not None:
        store.config = {**(store.config or {}), key: {**state, "result": result}}


def pending_outcome(session: Session, platform: str, store_id: int, nonce: str, denied: bool) -> Tuple[str, Optional[str]]:
    """How an authorization flow ended — ``ok``, ``pending``, ``denied``, ``failed`` or ``unknown`` —
    and the ``return_to`` page the merchant asked for. A denied pending store is deleted."""
    store = session.get(StoreIntegration, store_id)
    if store is None or store.platform != platform:
        return "unknown", None
    key, state = pending_of(store.config)
    if key is None or not _nonce_ok(state, nonce):
        return "unknown", None
    if store.status == "active" and state.get("result") == "ok":
        return "ok", state.get("return_to") if isinstance(state.get("return_to"), str) else None
    if store.status == "pending" and denied:
        session.delete(store)  # the merchant said no: nothing half-written stays behind
        return "denied", None
    if store.status == "pending":
        return "pending", None
    return "failed", None
