"""``trulybot merchants`` commands."""
from __future__ import annotations

import re

from bot.api.auth import hash_token
from bot.process.cli import main


def test_merchants_create_token_list_revoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRULYBOT_DATA_DIR", str(tmp_path))
    for var in ("TRULYBOT_DATABASE_URL", "TRULYBOT_KEY_FILE", "TRULYBOT_ENCRYPTION_KEYS"):
        monkeypatch.delenv(var, raising=False)
    assert main(["merchants", "create", "--name", "Acme", "--email", "owner@acme.example"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"(tb_[A-Za-z0-9_\-]{40,})", out).group(1)
    assert main(["merchants", "create", "--name", "Again", "--email", "owner@acme.example"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["merchants", "token", "create", "--merchant", "1", "--name", "ci"]) == 0
    second = re.search(r"(tb_[A-Za-z0-9_\-]{40,})", capsys.readouterr().out).group(1)
    assert second != token
    assert main(["merchants", "token", "list", "--merchant", "1"]) == 0
    listed = capsys.readouterr().out
    assert token[:10] in listed and token not in listed and "active" in listed
    assert main(["merchants", "list"]) == 0
    assert "Acme" in capsys.readouterr().out
    assert main(["merchants", "token", "revoke", "--prefix", token[:10]]) == 0
    assert main(["merchants", "token", "revoke", "--prefix", token[:10]]) == 1
    assert main(["merchants", "token", "create", "--merchant", "99"]) == 1
    capsys.readouterr()
    assert main(["merchants", "token", "list", "--merchant", "1"]) == 0
    assert "revoked" in capsys.readouterr().out
    # everything on disk: the database file and its write-ahead log (pooled connections may not
    # have checkpointed yet)
    db = b"".join(path.read_bytes() for path in tmp_path.glob("trulybot.db*"))
    assert token.encode() not in db and second.encode() not in db
    assert hash_token(token).encode() in db
