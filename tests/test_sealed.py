"""Signed JSON values (cookies, OAuth state)."""
from __future__ import annotations

from bot.core.sealed import derive_key, seal, unseal


def test_round_trip_and_tampering():
    key = derive_key("s" * 40, "test")
    value = seal(key, {"a": 1, "b": "x"})
    assert unseal(key, value) == {"a": 1, "b": "x"}
    body, mac = value.split(".")
    assert unseal(key, body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B")) is None
    assert unseal(key, body[:-2] + "." + mac) is None
    assert unseal(derive_key("s" * 40, "other purpose"), value) is None
    assert unseal(derive_key("t" * 40, "test"), value) is None


def test_malformed_values():
    key = derive_key("s" * 40, "test")
    for bad in (None, "", "nodot", "a.b.c", "é.é", "x" * 5000, 42):
        assert unseal(key, bad) is None
    assert unseal(key, seal(key, {"a": 1}), max_chars=5) is None
