"""Stopping a Celery worker under load (SIGTERM, as `docker stop` sends) loses no turn: running
turns finish (warm shutdown), queued ones stay with the broker for the next worker, and every
customer message gets exactly one reply."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.deployment import Deployment, deployment, wait_until

pytestmark = pytest.mark.live_worker

CONVERSATIONS = 16


def call(stack: Deployment, method: str, path: str, body=None):
    request = urllib.request.Request(
        stack.url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def agent_replies(stack: Deployment, session_id: str) -> list[dict]:
    return call(
        stack, "GET",
        f"/sessions/{session_id}/events?kinds=message&source=ai_agent&wait_for_data=0",
    )


def turns_running(stack: Deployment) -> float:
    status, body = stack.get("/metrics")
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith("parlant_turns_running "):
            return float(line.split()[1])
    raise AssertionError("parlant_turns_running missing")


def test_stopping_a_worker_under_load_loses_no_turn():
    with deployment() as stack:
        stack.start("web")
        stack.start("worker")
        sessions = [
            call(stack, "POST", "/sessions", {"agent_id": "otto-carmen"})["id"]
            for _ in range(CONVERSATIONS)
        ]
        for number, session_id in enumerate(sessions):
            call(stack, "POST", f"/sessions/{session_id}/events",
                 {"kind": "message", "source": "customer", "message": f"Hello, I am #{number}"})
        # Stop as soon as work is under way, with most of it still queued or running.
        wait_until(lambda: any(agent_replies(stack, s) for s in sessions), "a first reply")
        assert stack.stop("worker") == 0, stack.logs()
        answered_by_first = sum(bool(agent_replies(stack, s)) for s in sessions)
        assert answered_by_first < CONVERSATIONS, "the load was over before the stop"
        assert turns_running(stack) == 0, "a stopped worker left a turn half done"

        stack.start("worker")
        wait_until(
            lambda: all(agent_replies(stack, s) for s in sessions),
            "every conversation to be answered", seconds=120,
        )
        assert [len(agent_replies(stack, s)) for s in sessions] == [1] * CONVERSATIONS
        assert turns_running(stack) == 0
