"""The WebSocket stream through a real socket on the running product."""

import asyncio
import json

import pytest
import websockets

from tests.support.http import call_json


async def receive_until(socket, predicate, deadline_seconds: float = 20.0) -> list[dict]:
    received: list[dict] = []
    async with asyncio.timeout(deadline_seconds):
        while not any(predicate(event) for event in received):
            received.append(json.loads(await socket.recv())["event"])
    return received


def ws_url(product, session_id: str, min_offset: int = 0) -> str:
    return (
        product.url.replace("http", "ws")
        + f"/ws/sessions/{session_id}/events?min_offset={min_offset}"
    )


async def test_it_streams_the_turn_live_and_replays_from_an_offset(product):
    session = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    async with websockets.connect(ws_url(product, session["id"]), origin=product.url) as socket:
        call_json(
            "POST",
            f"{product.url}/sessions/{session['id']}/events",
            {"kind": "message", "source": "customer", "message": "Good morning!"},
        )
        events = await receive_until(
            socket, lambda e: e["kind"] == "message" and e["source"] == "ai_agent"
        )
    kinds = [(event["kind"], event["data"].get("status")) for event in events]
    assert kinds[0] == ("message", None)
    assert ("status", "typing") in kinds
    reply = events[-1]
    assert "drink" in reply["data"]["message"].lower()

    # A reconnecting client resumes from its last offset: no gap, no repeat.
    async with websockets.connect(
        ws_url(product, session["id"], min_offset=reply["offset"]), origin=product.url
    ) as socket:
        replayed = json.loads(await socket.recv())["event"]
    assert replayed["offset"] == reply["offset"]
    assert replayed == reply


async def test_it_refuses_an_unknown_session(product):
    # Closing before the handshake completes makes the server answer the upgrade with 403.
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_url(product, "nope"), origin=product.url):
            pass
    assert refused.value.response.status_code == 403


async def test_it_refuses_a_foreign_origin(product):
    session = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_url(product, session["id"]), origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
