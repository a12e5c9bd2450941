"""``trulybot merchants ...``: merchants and their API tokens (the token is printed once).

    trulybot merchants create --name "Shop Owner" [--email owner@example.com] [--token-name laptop]
    trulybot merchants list
    trulybot merchants token create --merchant 3 [--name ci] [--agent jo@example.com]
    trulybot merchants token list --merchant 3
    trulybot merchants token revoke (--prefix tb_AbCdEfG | --id 7) [--merchant 3]

This module only builds the parser cheaply; the database work is imported when a command runs.
"""
from __future__ import annotations

import argparse
import re
from typing import Any, Callable

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")


def add_merchants_parser(sub: Any, func: Callable[[argparse.Namespace], int]) -> None:
    merchants = sub.add_parser("merchants", help="merchants and their API tokens")
    msub = merchants.add_subparsers(dest="merchants_command", required=True)
    create = msub.add_parser("create", help="create a merchant and print its first API token (shown once)")
    create.add_argument("--name", required=True, help="merchant name")
    create.add_argument("--email", help="contact email (unique)")
    create.add_argument("--token-name", default="default", help="label of the first token")
    create.set_defaults(func=func)
    msub.add_parser("list", help="list merchants").set_defaults(func=func)
    token = msub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    tcreate = token.add_parser("create", help="create a token for a merchant (printed once)")
    tcreate.add_argument("--merchant", type=int, required=True, help="merchant id")
    tcreate.add_argument("--name", default="default", help="label of the token")
    tcreate.add_argument("--agent", help="a team member's email: the token carries their role (agents: inbox only)")
    tcreate.set_defaults(func=func)
    tlist = token.add_parser("list", help="list a merchant's tokens (prefixes only)")
    tlist.add_argument("--merchant", type=int, required=True, help="merchant id")
    tlist.set_defaults(func=func)
    revoke = token.add_parser("revoke", help="revoke a token by prefix or id")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--prefix", help="the token's first 10 characters (as listed)")
    which.add_argument("--id", type=int, help="token id (as listed)")
    revoke.add_argument("--merchant", type=int, help="only revoke a token of this merchant")
    revoke.set_defaults(func=func)


def run_merchants(args: argparse.Namespace, sessions: Any) -> int:
    from sqlalchemy import select

    from bot.api.auth import create_merchant, create_token, revoke_token
    from bot.core.db.models import Merchant, MerchantToken

    command = args.merchants_command
    if command == "create":
        name = args.name.strip()
        if not name or len(name) > 200:
            raise ValueError("--name must be 1-200 characters")
        if args.email and not _EMAIL_RE.match(args.email.strip()):
            raise ValueError("--email is not an email address")
        with sessions.begin() as session:
            if args.email and session.execute(select(Merchant).where(Merchant.email == args.email.strip().lower())).first():
                raise ValueError("a merchant with this email already exists")
            merchant, token = create_merchant(session, name, args.email, args.token_name)
            merchant_id = merchant.id
        print(f"Merchant {merchant_id} created: {name}")
        print(f"API token (shown once, keep it secret): {token}")
        return 0
    if command == "list":
        with sessions() as session:
            for merchant in session.execute(select(Merchant).order_by(Merchant.id)).scalars():
                print(f"{merchant.id}\t{merchant.name}\t{merchant.email or '-'}\t{len(merchant.stores)} store(s)")
        return 0
    sub = args.token_command
    if sub == "create":
        from bot.core.db.models import MerchantAgent

        with sessions.begin() as session:
            agent_id = None
            if getattr(args, "agent", None):
                agent = session.execute(select(MerchantAgent).where(
                    MerchantAgent.merchant_id == args.merchant, MerchantAgent.email == args.agent.strip().lower(),
                    MerchantAgent.revoked_at.is_(None), MerchantAgent.accepted_at.isnot(None))).scalar_one_or_none()
                if agent is None:
                    raise LookupError("no team member with this email has joined this merchant")
                agent_id = agent.id
            row, token = create_token(session, args.merchant, args.name, agent_id)
            token_id = row.id
        print(f"Token {token_id} created for merchant {args.merchant}")
        print(f"API token (shown once, keep it secret): {token}")
        return 0
    if sub == "list":
        with sessions() as session:
            rows = session.execute(select(MerchantToken).where(MerchantToken.merchant_id == args.merchant)
                                   .order_by(MerchantToken.id)).scalars()
            for row in rows:
                state = "revoked" if row.revoked_at else "active"
                used = row.last_used_at.isoformat() if row.last_used_at else "never"
                print(f"{row.id}\t{row.prefix}…\t{row.name}\t{state}\tlast used {used}")
        return 0
    if sub == "revoke":
        with sessions.begin() as session:
            rows = revoke_token(session, token_id=args.id, prefix=args.prefix, merchant_id=args.merchant)
            count = len(rows)
        if not count:
            raise LookupError("no active token matches")
        print(f"Revoked {count} token(s).")
        return 0
    raise ValueError(f"unknown command {command}")
