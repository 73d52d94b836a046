"""An operator's walk through a deployment started as the image starts it (deploy/entrypoint.sh):
health, readiness with a dependency stopped and back, metrics behind the policy, JSON logs,
and a graceful stop of the web process with clients connected.

Redis here is the deployment's own redis-server, never the machine's shared one.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid

import pytest
import websockets

from tests.support.deployment import ENTRYPOINT, Deployment, deployment, wait_until

pytestmark = pytest.mark.live_worker

BUSY_SESSIONS = 8

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "operations-test-" + "k" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "LOG_FORMAT": "json",
    "PARLANT_SHUTDOWN_GRACE_SECONDS": "10",
}


def call(stack: Deployment, method: str, path: str, key: str, body=None, timeout: float = 30):
    request = urllib.request.Request(
        stack.url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def probe(stack: Deployment, path: str) -> int:
    """deploy/probe.py, the image's HEALTHCHECK, run as the container would."""
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT.parent / "probe.py"), path],
        env=stack.environment, timeout=30,
    ).returncode


def readiness(stack: Deployment) -> tuple[int, dict]:
    status, body = stack.get("/readyz")
    return status, json.loads(body) if body else {}


def metric_values(text: str, name: str) -> dict[str, float]:
    """Samples of one metric: {label string: value}."""
    values = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(\{{[^}}]*\}})? (\S+)", line)
        if match:
            values[match.group(1) or ""] = float(match.group(2))
    return values


def scrape(stack: Deployment, key: str) -> str:
    status, body = stack.get("/metrics", {"Authorization": f"Bearer {key}"})
    assert status == 200, body
    return body.decode()


def converse(stack: Deployment, key: str, text: str) -> tuple[str, dict, dict]:
    status, session = call(stack, "POST", "/sessions", key, {"agent_id": "otto-carmen"})
    assert status == 201, session
    status, event = call(
        stack, "POST", f"/sessions/{session['id']}/events", key,
        {"kind": "message", "source": "customer", "message": text},
    )
    assert status == 201, event
    status, replies = call(
        stack, "GET",
        f"/sessions/{session['id']}/events?min_offset={event['offset'] + 1}"
        "&kinds=message&source=ai_agent&wait_for_data=30",
        key, timeout=40,
    )
    assert status == 200, (status, replies, stack.logs())
    assert replies
    return session["id"], event, replies[0]


def test_an_operator_runs_watches_and_restarts_the_product():
    with deployment(PRODUCTION) as stack:
        stack.start("worker")
        stack.start("web")
        app_key = stack.manage("create_api_key", "chat app").strip()
        monitoring_key = stack.manage(
            "create_api_key", "prometheus", "--role", "monitoring"
        ).strip()

        # Health: alive, and ready once the worker answers; each dependency is named.
        assert stack.get("/healthz")[0] == 200
        wait_until(lambda: readiness(stack)[0] == 200, "readiness", seconds=60)
        status, ready = readiness(stack)
        assert ready == {
            "status": "ready",
            "checks": {"database": "ok", "channel_layer": "ok", "broker": "ok", "worker": "ok"},
        }

        # The image's HEALTHCHECK probe says the same.
        assert probe(stack, "/healthz") == 0
        assert probe(stack, "/readyz") == 0

        # Metrics: behind the policy, and they move with a conversation.
        assert stack.get("/metrics")[0] == 401
        assert stack.get("/metrics", {"Authorization": f"Bearer {app_key}"})[0] == 403
        before = scrape(stack, monitoring_key)
        secret_words = f"my locker code is {uuid.uuid4().hex}"
        session_id, asked, reply = converse(stack, app_key, f"Hello! {secret_words}")
        completed = '{outcome="completed"}'

        def turns_completed(text: str) -> float:
            return metric_values(text, "parlant_turns_total").get(completed, 0)

        # The reply is out before its turn is counted as finished: poll, with a deadline.
        wait_until(
            lambda: turns_completed(scrape(stack, monitoring_key)) >= turns_completed(before) + 1,
            "the turn to be counted", seconds=20,
        )
        after = scrape(stack, monitoring_key)
        assert metric_values(after, "parlant_reply_latency_seconds_count")[""] >= 1
        assert sum(metric_values(after, "parlant_engine_seconds_count").values()) >= 1
        assert sum(metric_values(after, "parlant_llm_calls_total").values()) >= 1
        for gauge in ("parlant_turns_waiting", "parlant_oldest_waiting_turn_age_seconds",
                      "parlant_handoffs_waiting", "parlant_open_websockets",
                      "parlant_open_long_polls"):
            assert metric_values(after, gauge), f"{gauge} missing from\n{after}"

        # JSON logs (Celery's start-up banner aside, which is not a log record): the turn's
        # line carries the three ids, and the customer's words appear in no log at all.
        finished = []
        for line in stack.log_lines("worker"):
            if line.startswith("{"):
                record = json.loads(line)
                if record["event"] == "turn finished":
                    finished.append(record)
        mine = [record for record in finished if record.get("trace_id") == reply["trace_id"]]
        assert mine, stack.logs()
        assert mine[0]["session_id"] == session_id
        assert mine[0]["correlation_id"] == asked["correlation_id"]
        assert mine[0]["outcome"] == "completed"
        everything = "\n".join(stack.log_lines("web") + stack.log_lines("worker"))
        assert secret_words not in everything

        # Readiness with Redis stopped: not ready, naming what is down; ready again after.
        stack.redis.stop()
        wait_until(lambda: readiness(stack)[0] == 503, "not ready", seconds=30)
        status, body = readiness(stack)
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["channel_layer"] == "unavailable"
        assert body["checks"]["broker"] == "unavailable"
        assert probe(stack, "/readyz") == 1
        stack.redis.start()
        wait_until(lambda: readiness(stack)[0] == 200, "ready again", seconds=90)

        # A stopped worker: not ready (no live worker); a new one: ready.
        assert stack.stop("worker") == 0
        wait_until(lambda: readiness(stack)[0] == 503, "not ready without a worker", seconds=30)
        assert readiness(stack)[1]["checks"]["worker"] == "unavailable"
        stack.start("worker")
        wait_until(lambda: readiness(stack)[0] == 200, "ready with a new worker", seconds=60)

        assert_graceful_web_restart(stack, app_key, monitoring_key)


def assert_graceful_web_restart(stack: Deployment, app_key: str, monitoring_key: str) -> None:
    """Stopping Daphne: long-polls get a normal answer, WebSockets close with 4012, and the
    clients' conversations go on with the next process without losing a message."""
    status, session = call(stack, "POST", "/sessions", app_key, {"agent_id": "otto-carmen"})
    assert status == 201
    session_id = session["id"]
    ws_url = (f"ws://127.0.0.1:{stack.port}/ws/sessions/{session_id}/events"
              f"?min_offset=0&token={app_key}")
    poll_answers: list[int] = []

    def long_poll() -> None:
        request = urllib.request.Request(
            f"{stack.url}/sessions/{session_id}/events?min_offset=0&wait_for_data=50",
            headers={"Authorization": f"Bearer {app_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                poll_answers.append(response.status)
        except urllib.error.HTTPError as error:
            json.loads(error.read())  # a JSON answer, not a dropped connection
            poll_answers.append(error.code)

    async def watch_until_closed() -> int:
        async with websockets.connect(ws_url, origin=stack.url) as socket:
            wait_until(
                lambda: metric_values(scrape(stack, monitoring_key), "parlant_open_long_polls")
                .get("", 0) >= 2,
                "the long-polls to wait", seconds=20,
            )
            stopping.set()
            try:
                while True:
                    await asyncio.wait_for(socket.recv(), 30)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006

    stopping = threading.Event()
    polls = [threading.Thread(target=long_poll) for _ in range(2)]
    for thread in polls:
        thread.start()
    # Under load: customers of other sessions write just before the stop, so their turns run
    # while the web process drains and is gone (and their replies must not be lost).
    busy_sessions = [
        call(stack, "POST", "/sessions", app_key, {"agent_id": "otto-carmen"})[1]["id"]
        for _ in range(BUSY_SESSIONS)
    ]

    for busy in busy_sessions:
        call(stack, "POST", f"/sessions/{busy}/events", app_key,
             {"kind": "message", "source": "customer", "message": "Are you open today?"})
    stopper = threading.Thread(
        target=lambda: stopping.wait(30) and stop_codes.append(stack.stop("web"))
    )
    stop_codes: list[int] = []
    stopper.start()
    close_code = asyncio.run(watch_until_closed())
    stopper.join(60)
    for thread in polls:
        thread.join(60)
    assert close_code == 4012
    assert poll_answers == [504, 504]  # Parlant's "nothing yet, poll again"
    assert stop_codes == [0]

    # The next process serves the same conversation: a message sent now gets its reply.
    stack.start("web")
    status, event = call(
        stack, "POST", f"/sessions/{session_id}/events", app_key,
        {"kind": "message", "source": "customer", "message": "Hello again"},
    )
    assert status == 201
    status, replies = call(
        stack, "GET",
        f"/sessions/{session_id}/events?min_offset={event['offset'] + 1}"
        "&kinds=message&source=ai_agent&wait_for_data=30",
        app_key, timeout=40,
    )
    assert status == 200, stack.logs()
    assert len(replies) == 1

    # Nothing was lost while the web process was away: each busy session has one reply.
    def agent_replies(busy: str) -> list:
        return call(stack, "GET", f"/sessions/{busy}/events?kinds=message&source=ai_agent"
                    "&wait_for_data=0", app_key)[1]

    wait_until(lambda: all(agent_replies(busy) for busy in busy_sessions),
               "every busy session's reply", seconds=60)
    assert [len(agent_replies(busy)) for busy in busy_sessions] == [1] * BUSY_SESSIONS
