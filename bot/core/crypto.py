"""Encryption of store credentials at rest: an AES-256-GCM key ring with rotation.

A stored value looks like ``tb2:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``:

* a fresh random 96-bit nonce for every encryption;
* associated data binding the ciphertext to what the caller names (for credentials: table, store
  id, widget id and field), so a value copied into another store's row or field does not decrypt;
  the ring adds the format version and the key id to it, so neither can be swapped either;
* the key id, so old values still decrypt after a new key becomes current.

Values in the earlier ``tb1`` format (associated data without format version and key id) still
decrypt; :meth:`KeyRing.needs_rotation` reports them, so ``trulybot keys reencrypt`` moves them to
``tb2``. With random 96-bit nonces one key must not encrypt more than :data:`MAX_ENCRYPTIONS_PER_KEY`
values (NIST SP 800-38D, section 8.3); callers count encryptions per key
(:mod:`bot.services.key_usage`).

Keys come from ``TRULYBOT_ENCRYPTION_KEYS`` (``kid:base64key,...``, newest last) or from the key
file (JSON ``{"current": kid, "keys": {kid: base64key}}``). In demo mode a key file is generated on
first use; outside demo mode a missing key is a start-up error, never a silent random key.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "tb2"  #: the format written today
LEGACY_PREFIX = "tb1"  #: read only: associated data without format version and key id
FORMATS = (LEGACY_PREFIX, PREFIX)
#: at most 2**32 encryptions under one key with random 96-bit nonces (NIST SP 800-38D, 8.3)
MAX_ENCRYPTIONS_PER_KEY = 2 ** 32
NONCE_BYTES = 12
KEY_BYTES = 32
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(RuntimeError):
    """The key ring cannot be built (missing, unreadable or malformed keys)."""


class DecryptionError(ValueError):
    """A stored value is malformed, was tampered with, or its key is not in the ring."""


def associated_data(table: str, row_key: str, field: str) -> bytes:
    """The associated data that binds a ciphertext to one field of one row."""
    return f"trulybot/{table}/{row_key}/{field}".encode("utf-8")


def bound_associated_data(fmt: str, kid: str, aad: bytes) -> bytes:
    """The associated data actually authenticated for a value of format ``fmt`` under key ``kid``."""
    if fmt == LEGACY_PREFIX:
        return aad
    return f"{fmt}\x1f{kid}\x1f".encode("ascii") + aad


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_key() -> str:
    """A new random 256-bit key, base64url encoded."""
    return _b64encode(secrets.token_bytes(KEY_BYTES))


def new_key_id(existing: Mapping[str, object] = ()) -> str:
    """A short key id not used yet in ``existing``."""
    while True:
        kid = "k" + secrets.token_hex(4)
        if kid not in existing:
            return kid


@dataclass(frozen=True)
class KeyRing:
    """A set of AES-256 keys by id; new values are encrypted with ``current``."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyRingError(f"current key id {self.current!r} is not in the key ring")
        for kid, key in self.keys.items():
            if not _KID_RE.match(kid):
                raise KeyRingError(f"key id {kid!r} must be 1-32 letters, digits, '-' or '_'")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {kid!r} must be {KEY_BYTES} bytes (base64 of 32 random bytes)")

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        """Encrypt ``plaintext`` under the current key, bound to ``aad``."""
        nonce = os.urandom(NONCE_BYTES)
        bound = bound_associated_data(PREFIX, self.current, aad)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode("utf-8"), bound)
        return f"{PREFIX}:{self.current}:{_b64encode(nonce + sealed)}"

    def decrypt(self, stored: str, aad: bytes) -> str:
        """Decrypt a value produced by :meth:`encrypt` with the same ``aad``."""
        fmt = self.format_of(stored)
        kid = self.key_id_of(stored)
        if kid not in self.keys:
            raise DecryptionError(f"value was encrypted with key {kid!r}, which is not in the key ring")
        try:
            blob = _b64decode(stored.split(":", 2)[2])
        except (binascii.Error, ValueError) as exc:
            raise DecryptionError("value is not valid base64") from exc
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptionError("value is too short to be a ciphertext")
        try:
            plain = AESGCM(self.keys[kid]).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                                  bound_associated_data(fmt, kid, aad))
        except InvalidTag as exc:
            raise DecryptionError("value failed authentication (tampered, or bound to another field)") from exc
        return plain.decode("utf-8")

    @staticmethod
    def key_id_of(stored: str) -> str:
        """The key id a stored value names (raises DecryptionError when it is not one)."""
        return _parts(stored)[1]

    @staticmethod
    def format_of(stored: str) -> str:
        """The format version a stored value names (``tb1`` or ``tb2``)."""
        return _parts(stored)[0]

    def needs_rotation(self, stored: str) -> bool:
        """True when ``stored`` is not under the current key or not in the current format."""
        return self.key_id_of(stored) != self.current or self.format_of(stored) != PREFIX

    def reencrypt(self, stored: str, aad: bytes) -> str:
        """Decrypt with whichever key it names and encrypt again under the current key."""
        return self.encrypt(self.decrypt(stored, aad), aad)

    def with_new_key(self) -> "KeyRing":
        """A ring holding every existing key plus a new current one."""
        kid = new_key_id(self.keys)
        keys = dict(self.keys)
        keys[kid] = _b64decode(generate_key())
        return KeyRing(keys=keys, current=kid)

    # --- serialisation -------------------------------------------------------------------
    @classmethod
    def from_env_value(cls, value: str) -> "KeyRing":
        """Parse ``kid:base64key[,kid:base64key...]``; the last entry is current."""
        keys: Dict[str, bytes] = {}
        kid = ""
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            kid, sep, encoded = part.partition(":")
            if not sep:
                raise KeyRingError("TRULYBOT_ENCRYPTION_KEYS entries must look like kid:base64key")
            keys[kid] = _decode_key(kid, encoded)
        if not keys:
            raise KeyRingError("TRULYBOT_ENCRYPTION_KEYS holds no key")
        return cls(keys=keys, current=kid)

    @classmethod
    def from_file(cls, path: Path) -> "KeyRing":
        """Load a key file written by :meth:`save`."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: _decode_key(kid, enc) for kid, enc in data["keys"].items()}
            return cls(keys=keys, current=data["current"])
        except OSError as exc:
            raise KeyRingError(f"cannot read key file {path}: {exc.strerror}") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyRingError(f"key file {path} is malformed ({exc})") from exc

    def save(self, path: Path) -> None:
        """Write the ring to ``path`` atomically, readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"current": self.current, "keys": {kid: _b64encode(k) for kid, k in self.keys.items()}}
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
        os.replace(tmp, path)

    @classmethod
    def generate(cls) -> "KeyRing":
        """A ring with one new random key."""
        kid = new_key_id()
        return cls(keys={kid: _b64decode(generate_key())}, current=kid)


def _parts(stored: str) -> list:
    parts = stored.split(":", 2) if isinstance(stored, str) else []
    if len(parts) != 3 or parts[0] not in FORMATS:
        raise DecryptionError("value is not a TrulyBot ciphertext")
    return parts


def _decode_key(kid: str, encoded: str) -> bytes:
    try:
        key = _b64decode(encoded.strip())
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError(f"key {kid!r} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"key {kid!r} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def load_key_ring(encryption_keys: Optional[str], key_file: Path, demo: bool) -> KeyRing:
    """The key ring for this deployment.

    ``TRULYBOT_ENCRYPTION_KEYS`` wins; else the key file; else, in demo mode only, a new key file
    is generated. Outside demo mode a missing key raises :class:`KeyRingError`.
    """
    if encryption_keys:
        return KeyRing.from_env_value(encryption_keys)
    if key_file.exists():
        return KeyRing.from_file(key_file)
    if not demo:
        raise KeyRingError(
            f"no encryption key: set TRULYBOT_ENCRYPTION_KEYS or create {key_file} with "
            "'trulybot keys init' (a random key is only generated in demo mode)"
        )
    ring = KeyRing.generate()
    ring.save(key_file)
    return ring
