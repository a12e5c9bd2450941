"""The ``tb1`` encryption exactly as stores were written before credentials became one map.

Tests use it to build databases the way the earlier code left them (old format, associated data
without format version and key id, bound to the widget id and the former column name).
"""
from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.core.crypto import KeyRing


def legacy_aad(widget_id: str, column: str) -> bytes:
    return f"trulybot/store_integrations/{widget_id}/{column}".encode("utf-8")


def legacy_encrypt(ring: KeyRing, plaintext: str, widget_id: str, column: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(ring.keys[ring.current]).encrypt(nonce, plaintext.encode("utf-8"), legacy_aad(widget_id, column))
    return f"tb1:{ring.current}:" + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
