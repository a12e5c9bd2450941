"""The credential key ring: AES-256-GCM round trips, tamper detection, rotation."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from bot.core.crypto import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    associated_data,
    generate_key,
    load_key_ring,
)
from bot.core.db import Merchant, StoreIntegration, make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from bot.services.credentials import credential_aad, get_credentials, reencrypt_all, set_credentials, webhook_secret_aad

AAD = associated_data("store_integrations", "w_1", "access_token_encrypted")


def _blob(stored: str) -> bytearray:
    text = stored.split(":", 2)[2]
    return bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _with_blob(stored: str, blob: bytes) -> str:
    prefix, kid, _ = stored.split(":", 2)
    return f"{prefix}:{kid}:" + base64.urlsafe_b64encode(bytes(blob)).decode().rstrip("=")


def test_round_trip_and_fresh_nonce():
    ring = KeyRing.generate()
    one, two = ring.encrypt("shpat_secret", AAD), ring.encrypt("shpat_secret", AAD)
    assert one != two
    assert _blob(one)[:12] != _blob(two)[:12]
    assert ring.decrypt(one, AAD) == ring.decrypt(two, AAD) == "shpat_secret"
    assert "shpat_secret" not in one
    assert one.startswith(f"tb2:{ring.current}:")


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag"])
def test_tampering_fails(where):
    ring = KeyRing.generate()
    stored = ring.encrypt("ck_abcdef", AAD)
    blob = _blob(stored)
    index = {"nonce": 0, "ciphertext": 12, "tag": len(blob) - 1}[where]
    blob[index] ^= 0x01
    with pytest.raises(DecryptionError):
        ring.decrypt(_with_blob(stored, blob), AAD)


def test_associated_data_binds_store_and_field():
    ring = KeyRing.generate()
    stored = ring.encrypt("cs_secret", AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(stored, associated_data("store_integrations", "w_2", "access_token_encrypted"))
    with pytest.raises(DecryptionError):
        ring.decrypt(stored, associated_data("store_integrations", "w_1", "consumer_secret_encrypted"))


@pytest.mark.parametrize("bad", ["", "plaintext", "tb1:kx", "tb1:unknown:AAAA", "tb3:k:abc", "tb1:{kid}:!!!", "tb1:{kid}:AAAA",
                                 "tb2:{kid}:!!!", "tb2:{kid}:AAAA"])
def test_malformed_values_fail_cleanly(bad):
    ring = KeyRing.generate()
    with pytest.raises(DecryptionError):
        ring.decrypt(bad.format(kid=ring.current), AAD)


def test_rotation_keeps_old_values_readable():
    old = KeyRing.generate()
    stored = old.encrypt("value", AAD)
    new = old.with_new_key()
    assert new.current != old.current
    assert new.decrypt(stored, AAD) == "value"
    assert new.needs_rotation(stored)
    rotated = new.reencrypt(stored, AAD)
    assert not new.needs_rotation(rotated) and new.decrypt(rotated, AAD) == "value"


def test_env_value_and_file_formats(tmp_path):
    env_value = f"old:{generate_key()},new:{generate_key()}"
    ring = KeyRing.from_env_value(env_value)
    assert ring.current == "new" and set(ring.keys) == {"old", "new"}
    path = tmp_path / "keys.json"
    ring.save(path)
    assert KeyRing.from_file(path) == ring
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("value", ["", "nocolon", "k:notbase64!!", "k:" + base64.b64encode(b"short").decode()])
def test_bad_env_keys_are_rejected(value):
    with pytest.raises(KeyRingError):
        KeyRing.from_env_value(value)


def test_bad_key_file_is_rejected(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"current": "a", "keys": {"b": generate_key()}}))
    with pytest.raises(KeyRingError, match="current key id"):
        KeyRing.from_file(path)
    path.write_text("{not json")
    with pytest.raises(KeyRingError, match="malformed"):
        KeyRing.from_file(path)


def test_demo_generates_a_key_production_refuses(tmp_path):
    path = tmp_path / "keys.json"
    with pytest.raises(KeyRingError, match="TRULYBOT_ENCRYPTION_KEYS"):
        load_key_ring(None, path, demo=False)
    assert not path.exists()
    ring = load_key_ring(None, path, demo=True)
    assert path.exists() and load_key_ring(None, path, demo=False) == ring


def test_reencrypt_all_rotates_every_row(tmp_path):
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    old = KeyRing.generate()
    with sessions.begin() as session:
        merchant = Merchant(name="m")
        session.add(merchant)
        session.flush()
        for i in range(3):
            store = StoreIntegration(user_id=merchant.id, platform="woocommerce", widget_id=f"w{i}", config={})
            session.add(store)
            set_credentials(store, old, {"consumer_key": f"ck_{i}", "consumer_secret": f"cs_{i}"})
    new = old.with_new_key()
    with sessions() as session:  # before rotation, the new ring reads old values
        first = session.execute(select(StoreIntegration).where(StoreIntegration.widget_id == "w0")).scalar_one()
        assert get_credentials(first, new) == {"consumer_key": "ck_0", "consumer_secret": "cs_0"}
    assert reencrypt_all(sessions, new) == 6
    assert reencrypt_all(sessions, new) == 0
    only_new = KeyRing(keys={new.current: new.keys[new.current]}, current=new.current)
    with sessions() as session:
        for store in session.execute(select(StoreIntegration)).scalars():
            i = store.widget_id[1:]
            assert get_credentials(store, only_new) == {"consumer_key": f"ck_{i}", "consumer_secret": f"cs_{i}"}


def test_format_version_and_key_id_are_authenticated():
    ring = KeyRing.generate()
    twin = KeyRing(keys={**ring.keys, "other": ring.keys[ring.current]}, current=ring.current)
    stored = twin.encrypt("cs_secret", AAD)
    _, kid, blob = stored.split(":", 2)
    with pytest.raises(DecryptionError):  # same key bytes under another id: the key id is bound
        twin.decrypt(f"tb2:other:{blob}", AAD)
    with pytest.raises(DecryptionError):  # downgraded to the earlier format: the version is bound
        twin.decrypt(f"tb1:{kid}:{blob}", AAD)
    assert twin.decrypt(stored, AAD) == "cs_secret"


def test_legacy_values_decrypt_and_need_rotation():
    from tests.support.legacy_crypto import legacy_aad, legacy_encrypt

    ring = KeyRing.generate()
    old = legacy_encrypt(ring, "ck_old", "w_1", "consumer_key_encrypted")
    assert ring.decrypt(old, legacy_aad("w_1", "consumer_key_encrypted")) == "ck_old"
    assert ring.needs_rotation(old)
    new = ring.reencrypt(old, legacy_aad("w_1", "consumer_key_encrypted"))
    assert new.startswith("tb2:") and not ring.needs_rotation(new)


def _store_with(sessions, ring, widget_id: str, creds):
    with sessions.begin() as session:
        merchant = session.execute(select(Merchant)).scalars().first()
        if merchant is None:
            merchant = Merchant(name="m")
            session.add(merchant)
            session.flush()
        store = StoreIntegration(user_id=merchant.id, platform="csvstore", widget_id=widget_id, config={})
        session.add(store)
        set_credentials(store, ring, creds)
        return store.id


def test_credentials_map_any_field_and_moved_ciphertexts_fail(tmp_path):
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    ring = KeyRing.generate()
    one = _store_with(sessions, ring, "w_one", {"api_key": "key-one", "account": "acct-1"})
    two = _store_with(sessions, ring, "w_two", {"api_key": "key-two", "account": "acct-2"})
    with sessions.begin() as session:
        a, b = session.get(StoreIntegration, one), session.get(StoreIntegration, two)
        assert get_credentials(a, ring) == {"api_key": "key-one", "account": "acct-1"}
        moved_store = dict(b.credentials_encrypted, api_key=a.credentials_encrypted["api_key"])
        moved_field = dict(a.credentials_encrypted, account=a.credentials_encrypted["api_key"])
        b.credentials_encrypted, a.credentials_encrypted = moved_store, moved_field
    with sessions() as session:
        with pytest.raises(DecryptionError):  # another store's ciphertext
            get_credentials(session.get(StoreIntegration, two), ring)
        with pytest.raises(DecryptionError):  # the same store, another field
            get_credentials(session.get(StoreIntegration, one), ring)
    _store_with(sessions, ring, "w_later", {})  # so the next row gets a new id
    with sessions.begin() as session:  # same widget id, but another store row: the store id is bound
        store = session.get(StoreIntegration, two)
        stolen = dict(store.credentials_encrypted)
        session.delete(store)
    three = _store_with(sessions, ring, "w_two", {})
    assert three != two
    with sessions.begin() as session:
        session.get(StoreIntegration, three).credentials_encrypted = stolen
    with sessions() as session, pytest.raises(DecryptionError):
        get_credentials(session.get(StoreIntegration, three), ring)


def test_encryptions_are_counted_per_key(tmp_path):
    from bot.services.key_usage import needs_rotation_soon, usage
    from bot.core.crypto import MAX_ENCRYPTIONS_PER_KEY

    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    ring = KeyRing.generate()
    _store_with(sessions, ring, "w_a", {"api_key": "k", "account": "a"})
    _store_with(sessions, ring, "w_b", {"api_key": "k"})
    with sessions() as session:
        assert usage(session) == {ring.current: 3}
    new = ring.with_new_key()
    assert reencrypt_all(sessions, new) == 3
    with sessions() as session:
        assert usage(session) == {ring.current: 3, new.current: 3}
    assert not needs_rotation_soon(3) and needs_rotation_soon(MAX_ENCRYPTIONS_PER_KEY // 2)


def test_set_credentials_refuses_bad_field_names_and_detached_stores(tmp_path):
    ring = KeyRing.generate()
    with pytest.raises(ValueError, match="session"):
        set_credentials(StoreIntegration(widget_id="w_x", platform="p", config={}), ring, {"api_key": "k"})
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    with pytest.raises(ValueError, match="field name"):
        _store_with(sessions, ring, "w_bad", {"api key": "k"})


def _sealed(prefix: str, kid: str, key: bytes, nonce: bytes, plaintext: str, authenticated: bytes) -> str:
    """A stored value built with the cipher directly, as an earlier release would have written it."""
    blob = nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), authenticated)
    return f"{prefix}:{kid}:" + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def test_stored_values_of_earlier_releases_stay_readable():
    """Known answers: the associated data is a stored format, not an implementation detail. Changing
    it would make every stored credential and webhook secret unreadable after an upgrade."""
    key, nonce = bytes(range(32)), bytes(range(12))
    ring = KeyRing(keys={"k1": key}, current="k1")
    assert credential_aad(7, "w_1", "api_key") == b"trulybot/store_integrations/7/w_1/credentials/api_key"
    assert webhook_secret_aad("w_1") == b"trulybot/store_integrations/w_1/webhook_secret"
    assert associated_data("store_integrations", "w_1", "consumer_key_encrypted") == \
        b"trulybot/store_integrations/w_1/consumer_key_encrypted"
    tb2 = _sealed("tb2", "k1", key, nonce, "shpat_known",
                  b"tb2\x1fk1\x1ftrulybot/store_integrations/7/w_1/credentials/api_key")
    assert ring.decrypt(tb2, credential_aad(7, "w_1", "api_key")) == "shpat_known"
    tb1 = _sealed("tb1", "k1", key, nonce, "ck_known", b"trulybot/store_integrations/w_1/consumer_key_encrypted")
    assert ring.decrypt(tb1, associated_data("store_integrations", "w_1", "consumer_key_encrypted")) == "ck_known"
    # and what is written today reads back under exactly that associated data
    written = ring.encrypt("cs_now", credential_aad(7, "w_1", "consumer_secret"))
    raw = bytes(_blob(written))
    assert AESGCM(key).decrypt(raw[:12], raw[12:], b"tb2\x1fk1\x1ftrulybot/store_integrations/7/w_1/credentials/consumer_secret") == b"cs_now"
