"""Many conversations at once: is every customer message answered exactly once, and how fast?

Usage: python -m bench.load --sessions 20 --messages 10 [--url http://host:port] [--api-key K]
Without --url it starts the product as `./dev.sh run` would (embedded default unless
DATABASE_URL/REDIS_URL are set). Each session sends its messages one at a time and waits for each
reply, all sessions at once. Afterwards every session's full event log is audited. Prints: sent,
replies, lost (a customer message with no agent reply), duplicated (extra replies), gaps (missing
offsets), failed posts, reply latency p50/p95, and replies per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MESSAGES = ["Hi!", "Do you have electric cars?", "What does the red one cost?", "Thanks, bye!"]
# A reply that takes longer than this is counted lost; outages under test last ~10 s.
REPLY_TIMEOUT_SECONDS = 90


@dataclass
class LoadReport:
    sent: int = 0
    replies: int = 0
    lost: int = 0
    duplicated: int = 0
    gaps: int = 0
    failed_posts: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def lines(self) -> list[str]:
        return [
            f"sent        {self.sent}",
            f"replies     {self.replies}",
            f"lost        {self.lost}",
            f"duplicated  {self.duplicated}",
            f"gaps        {self.gaps}",
            f"failed posts {self.failed_posts}",
            f"p50         {self.percentile(0.50):.0f} ms",
            f"p95         {self.percentile(0.95):.0f} ms",
            f"replies/s   {self.replies / self.seconds if self.seconds else 0:.1f}",
            f"wall time   {self.seconds:.1f} s",
        ]


class Client:
    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 70) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())


@dataclass
class Progress:
    """Replies seen so far, for tests that strike in the middle of the load."""

    replies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self) -> None:
        with self.lock:
            self.replies += 1


def wait_for_reply(client: Client, session_id: str, after_offset: int) -> bool:
    deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
    min_offset = after_offset + 1
    while time.monotonic() < deadline:
        try:
            events = client.call(
                "GET",
                f"/sessions/{session_id}/events?min_offset={min_offset}&kinds=message"
                "&wait_for_data=20",
            )
        except urllib.error.HTTPError as error:
            if error.code == 504:
                continue
            raise
        if any(event["source"] == "ai_agent" for event in events):
            return True
        min_offset = events[-1]["offset"] + 1
    return False


def converse(client: Client, messages: int, report: LoadReport, progress: Progress) -> str:
    session = client.call("POST", "/sessions", {"agent_id": "otto-carmen"})
    for index in range(messages):
        started = time.perf_counter()
        try:
            posted = client.call(
                "POST",
                f"/sessions/{session['id']}/events",
                {"kind": "message", "source": "customer", "message": MESSAGES[index % 4]},
            )
        except (urllib.error.URLError, OSError):
            # Not retried: a retry after a post that was stored would duplicate the message.
            report.failed_posts += 1
            continue
        if wait_for_reply(client, session["id"], posted["offset"]):
            report.latencies_ms.append((time.perf_counter() - started) * 1000)
            progress.add()
    return session["id"]


def audit(client: Client, session_id: str, report: LoadReport) -> None:
    """Count sent messages, replies, lost and duplicated replies and offset gaps in one log."""
    events = client.call("GET", f"/sessions/{session_id}/events?min_offset=0")
    offsets = [event["offset"] for event in events]
    report.gaps += len(set(range(max(offsets, default=-1) + 1)) - set(offsets))
    replies_per_message: list[int] = []
    for event in events:
        if event["kind"] != "message":
            continue
        if event["source"] == "customer":
            replies_per_message.append(0)
        elif event["source"] == "ai_agent" and replies_per_message:
            replies_per_message[-1] += 1
    report.sent += len(replies_per_message)
    report.replies += sum(replies_per_message)
    report.lost += sum(1 for count in replies_per_message if count == 0)
    report.duplicated += sum(count - 1 for count in replies_per_message if count > 1)


def run_load(
    base_url: str,
    *,
    sessions: int,
    messages: int,
    api_key: str | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    client = Client(base_url, api_key)
    report = LoadReport()
    progress = progress or Progress()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        futures = [
            pool.submit(converse, client, messages, report, progress) for _ in range(sessions)
        ]
        session_ids = [future.result() for future in futures]
    report.seconds = time.perf_counter() - started
    for session_id in session_ids:
        audit(client, session_id, report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--url", help="a running product; without it one is started")
    parser.add_argument("--api-key", help="an API key with the app role, if the server wants one")
    arguments = parser.parse_args()
    if arguments.url:
        report = run_load(
            arguments.url,
            sessions=arguments.sessions,
            messages=arguments.messages,
            api_key=arguments.api_key,
        )
    else:
        from tests.support.live_stack import live_stack

        with live_stack() as stack:
            run_load(stack.url, sessions=2, messages=1)  # warm-up: imports, first connections
            report = run_load(stack.url, sessions=arguments.sessions, messages=arguments.messages)
    print("\n".join(report.lines()))  # noqa: T201
    if report.latencies_ms:
        mean = statistics.fmean(report.latencies_ms)
        print(f"mean        {mean:.0f} ms")  # noqa: T201


if __name__ == "__main__":
    main()
