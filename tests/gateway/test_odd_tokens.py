"""Odd characters on the socket and the push API: an error frame or a 400/401, never a crash."""
from __future__ import annotations

import json
import time

import pytest

from tests.gateway.helpers import WidgetSocket


@pytest.mark.parametrize("token", ["v1.é.x", "v1.\u0660\u0661.\u0662", "v1.abc.ａｂｃ", "v1.🙂.🙂"])
async def test_a_non_ascii_session_token_gets_session_expired_and_the_socket_stays_usable(client, token):
    sock = await WidgetSocket.connect(client)
    frame = await sock.hello(session=token)
    assert frame["type"] == "error" and frame["code"] == "session_expired", frame
    assert (await sock.hello())["type"] == "welcome"


async def test_push_with_an_arabic_indic_timestamp_is_refused_with_401(client):
    arabic = "".join(chr(0x0660 + int(d)) for d in str(int(time.time())))
    resp = await client.post("/internal/push", data=json.dumps({"conversation_id": "c_x", "text": "hi"}),
                             headers={"Content-Type": "application/json", "X-TrulyBot-Timestamp": arabic,
                                      "X-TrulyBot-Signature": "v1=" + "0" * 64})
    assert resp.status == 401
