"""Merchant API tokens: created random, stored as SHA-256, shown once, revocable.

A token looks like ``tb_<43 url-safe characters>``; its first 10 characters (the ``prefix``) are
stored in clear to recognise it in lists. Every merchant route needs ``Authorization: Bearer``.

A token is an owner's (the merchant's own tokens) or a team member's (``agent_id`` set; the member's
role). :func:`merchant_required` routes need an owner: :func:`require_owner` is the one role check,
answering 403 with a clear message. :func:`member_required` routes (the handoff inbox) take anyone
on the team.
"""
from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Awaitable, Callable, List, Optional, Tuple

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.db import in_db
from bot.api.errors import ApiError
from bot.services.merchant_tokens import TOKEN_PREFIX, hash_token, new_token
from bot.core.db.models import Merchant, MerchantAgent, MerchantToken, utcnow

PREFIX_LENGTH = 10
MAX_TOKEN_LENGTH = 200
LAST_USED_RESOLUTION = timedelta(minutes=5)


OWNER_ONLY = ("This needs an owner of the merchant account: agents work the inbox only and cannot change "
              "store settings or credentials.")


@dataclass(frozen=True)
class MerchantIdentity:
    merchant_id: int
    token_id: int
    role: str = "owner"
    agent_id: Optional[int] = None
    name: Optional[str] = None  # the team member's display name (None for the merchant's own tokens)


def require_owner(identity: MerchantIdentity) -> None:
    """Refuse (403) anyone but an owner: the check every store-changing route goes through."""
    if identity.role != "owner":
        raise ApiError(403, "owner_only", OWNER_ONLY)


def create_merchant(session: Session, name: str, email: Optional[str] = None, token_name: str = "default") -> Tuple[Merchant, str]:
    """A new merchant with one token; returns (merchant, plaintext token)."""
    merchant = Merchant(name=name.strip()[:200], email=(email.strip().lower() if email else None))
    session.add(merchant)
    session.flush()
    _, token = create_token(session, merchant.id, token_name)
    return merchant, token


def create_token(session: Session, merchant_id: int, name: str = "default",
                 agent_id: Optional[int] = None) -> Tuple[MerchantToken, str]:
    """A new token for ``merchant_id`` (or one member of its team); returns (row, plaintext). Only the hash is stored."""
    if session.get(Merchant, merchant_id) is None:
        raise LookupError(f"no merchant with id {merchant_id}")
    if agent_id is not None:
        agent = session.get(MerchantAgent, agent_id)
        if agent is None or agent.merchant_id != merchant_id or agent.revoked_at is not None:
            raise LookupError(f"no team member {agent_id} of merchant {merchant_id}")
    token = new_token()
    row = MerchantToken(merchant_id=merchant_id, name=name[:100], token_hash=hash_token(token), prefix=token[:PREFIX_LENGTH],
                        agent_id=agent_id)
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, *, token_id: Optional[int] = None, prefix: Optional[str] = None,
                 merchant_id: Optional[int] = None) -> List[MerchantToken]:
    """Revoke tokens by id or prefix (optionally restricted to one merchant); returns them."""
    query = select(MerchantToken).where(MerchantToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(MerchantToken.id == token_id)
    if prefix is not None:
        query = query.where(MerchantToken.prefix == prefix)
    if merchant_id is not None:
        query = query.where(MerchantToken.merchant_id == merchant_id)
    rows = list(session.execute(query).scalars())
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    return rows


def _lookup(session: Session, digest: str) -> Optional[MerchantIdentity]:
    row = session.execute(select(MerchantToken).where(MerchantToken.token_hash == digest)).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    role, name = "owner", None
    if row.agent_id is not None:
        agent = session.get(MerchantAgent, row.agent_id)
        if agent is None or agent.revoked_at is not None or agent.accepted_at is None:
            return None
        role, name = agent.role, agent.name or agent.email.split("@", 1)[0]
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return MerchantIdentity(row.merchant_id, row.id, role, row.agent_id, name)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="trulybot"'})


async def authenticate(request: web.Request) -> MerchantIdentity:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header:
        raise _unauthorized("missing Authorization: Bearer <token> header")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise _unauthorized("malformed Authorization header; expected Bearer <token>")
    identity = await in_db(request.app, _lookup, hash_token(token))
    if identity is None:
        raise _unauthorized("invalid or revoked token")
    return identity


def merchant_required(handler: Callable[[web.Request, MerchantIdentity], Awaitable[web.StreamResponse]]
                      ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Decorator: authenticate the bearer token, require an owner, pass the identity to the handler."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        identity = await authenticate(request)
        require_owner(identity)
        return await handler(request, identity)

    return wrapper


def member_required(handler: Callable[[web.Request, MerchantIdentity], Awaitable[web.StreamResponse]]
                    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Decorator: authenticate the bearer token of anyone on the merchant's team (owners and agents)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        identity = await authenticate(request)
        return await handler(request, identity)

    return wrapper
