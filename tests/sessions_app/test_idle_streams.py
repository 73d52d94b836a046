"""Idle streams stay open: a pause longer than the channel layer's blocking read breaks nothing.

With the Redis channel layer, the redis client's read timeout once fired before channels_redis'
5 s blocking pop returned, so every stream idle for 5 s died. These run in both modes.
"""

import asyncio
import json
import time
import urllib.error

import websockets

from tests.sessions_app.test_websocket_live import receive_until, ws_url
from tests.support.http import call_json

# Longer than the 5 s blocking pop of channels_redis and its old client-side timeout.
IDLE_SECONDS = 20


async def long_poll_status(product, session_id: str, min_offset: int, wait: int) -> tuple:
    def call():
        started = time.monotonic()
        try:
            call_json(
                "GET",
                f"{product.url}/sessions/{session_id}/events"
                f"?min_offset={min_offset}&wait_for_data={wait}",
            )
        except urllib.error.HTTPError as answer:
            return answer.code, json.loads(answer.read()), time.monotonic() - started
        return 200, None, time.monotonic() - started

    return await asyncio.to_thread(call)


async def test_an_idle_long_poll_times_out_with_504_and_an_idle_socket_gets_the_next_reply(
    product,
):
    polled = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    watched = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    async with websockets.connect(ws_url(product, watched["id"]), origin=product.url) as socket:
        # Both idle at once, so the suite pays for the longer wait only.
        poll = asyncio.create_task(long_poll_status(product, polled["id"], 0, 8))
        try:
            async with asyncio.timeout(IDLE_SECONDS):
                await socket.recv()
            raise AssertionError("nothing happened in the session, yet the socket got a frame")
        except TimeoutError:
            pass
        status, body, elapsed = await poll
        assert status == 504, body
        assert body == {"detail": "Request timed out"}
        assert 7.5 <= elapsed < 12, elapsed

        call_json(
            "POST",
            f"{product.url}/sessions/{watched['id']}/events",
            {"kind": "message", "source": "customer", "message": "Hello there"},
        )
        events = await receive_until(
            socket, lambda e: e["kind"] == "message" and e["source"] == "ai_agent"
        )
    assert "drink" in events[-1]["data"]["message"].lower()
