"""Many idle WebSockets on one Daphne: its memory, and how fast an event still reaches a socket.

Usage: python bench/idle_websockets.py [--sockets 2000] [--probes 30] [--url URL --pid PID]

Without --url it starts the product as the end-to-end tests do (embedded default unless
DATABASE_URL/REDIS_URL are set), on loopback. It creates one session per socket (widget customers
who keep a page open), opens a WebSocket on each session's event stream and leaves them idle.
While all are open it posts a customer message to `--probes` sessions, one after another, and
times each from the POST to the moment that session's socket receives the message event (and
from the POST's answer, which leaves out the request's own handling).
Prints: sockets open, Daphne's RSS before and with the sockets (with --url, only if --pid names
the server process), and the delivery time p50/p95/max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import Client  # noqa: E402

# Handshakes in flight at once. Daphne drops a handshake its application has not accepted within
# 5 s (--websocket_connect_timeout), which a herd of 100 does on a loaded 2-core machine; a
# dropped one is retried, as the widget reconnects, and counted.
CONNECT_BATCH = 25
CONNECT_ATTEMPTS = 3


def raise_open_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_sessions(client: Client, count: int) -> list[str]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        sessions = pool.map(
            lambda _: client.call("POST", "/sessions", {"agent_id": "otto-carmen"}), range(count)
        )
        return [session["id"] for session in sessions]


async def open_socket(base_url: str, session_id: str, retries: list[int]):
    url = base_url.replace("http", "ws", 1) + f"/ws/sessions/{session_id}/events?min_offset=0"
    for _ in range(CONNECT_ATTEMPTS - 1):
        try:
            return await websockets.connect(url, origin=base_url, open_timeout=120, max_queue=None)
        except (websockets.exceptions.InvalidMessage, OSError):
            retries.append(1)
    return await websockets.connect(url, origin=base_url, open_timeout=120, max_queue=None)


async def time_delivery(client: Client, socket, session_id: str) -> tuple[float, float]:
    """(ms from sending the POST, ms from its answer) to the event reaching the socket."""
    started = time.perf_counter()
    posted = await asyncio.to_thread(
        client.call,
        "POST",
        f"/sessions/{session_id}/events",
        {"kind": "message", "source": "customer", "message": "Still there?"},
    )
    answered = time.perf_counter()
    async with asyncio.timeout(30):
        while True:
            event = json.loads(await socket.recv())["event"]
            if event["offset"] == posted["offset"]:
                now = time.perf_counter()
                return (now - started) * 1000, (now - answered) * 1000


async def measure(base_url: str, pid: int | None, sockets: int, probes: int) -> list[str]:
    client = Client(base_url)
    rss_before = rss_mb(pid)
    started = time.perf_counter()
    session_ids = await asyncio.to_thread(create_sessions, client, sockets)
    created_seconds = time.perf_counter() - started
    opened = []
    retries: list[int] = []
    started = time.perf_counter()
    for first in range(0, len(session_ids), CONNECT_BATCH):
        batch = session_ids[first : first + CONNECT_BATCH]
        opened += await asyncio.gather(*(open_socket(base_url, sid, retries) for sid in batch))
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(2)  # let the server settle after the handshakes
    rss_open = rss_mb(pid)
    step = max(1, len(opened) // probes)
    delays = [
        await time_delivery(client, opened[index], session_ids[index])
        for index in range(0, len(opened), step)[:probes]
    ]
    rss_after = rss_mb(pid)
    ordered = sorted(total for total, _ in delays)
    after_answer = sorted(after for _, after in delays)
    await asyncio.gather(*(socket.close() for socket in opened))
    return [
        f"sockets open     {len(opened)}",
        f"sessions created in {created_seconds:.1f} s; sockets opened in {connect_seconds:.1f} s "
        f"({len(retries)} handshakes retried)",
        f"daphne RSS       {rss_before:.0f} MB idle, {rss_open:.0f} MB with the sockets open, "
        f"{rss_after:.0f} MB after the probes",
        f"delivery p50     {statistics.median(ordered):.0f} ms",
        f"delivery p95     {ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]:.0f} ms",
        f"delivery max     {ordered[-1]:.0f} ms  ({len(ordered)} probes)",
        f"after the POST's answer: p50 {statistics.median(after_answer):.0f} ms, "
        f"p95 {after_answer[min(len(ordered) - 1, int(0.95 * len(ordered)))]:.0f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--url", help="a running product; without it one is started")
    parser.add_argument("--pid", type=int, help="the server's process id, for its RSS")
    arguments = parser.parse_args()
    # Each socket is a file descriptor here and, for a started server, in the child too.
    raise_open_file_limit(arguments.sockets * 2 + 256)
    if arguments.url:
        lines = asyncio.run(
            measure(arguments.url, arguments.pid, arguments.sockets, arguments.probes)
        )
    else:
        from tests.support.live_stack import live_stack

        with live_stack() as stack:
            daphne = stack.processes[0]
            lines = asyncio.run(measure(stack.url, daphne.pid, arguments.sockets, arguments.probes))
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
