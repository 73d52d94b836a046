"""What the operations endpoints cost, and how long a graceful stop takes, on a started deployment.

Usage: python -m bench.probes [--probes 50] [--clients 20]
Starts web and worker with deploy/entrypoint.sh (its own redis-server; PostgreSQL when
DATABASE_URL is set, else SQLite), then prints the median and 95th percentile of /healthz,
/readyz and /metrics, and the time from SIGTERM to exit of Daphne with that many long-polls
waiting and of an idle worker.
"""

import argparse
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.deployment import deployment, wait_until  # noqa: E402
from tests.support.http import call_json  # noqa: E402


def timed_gets(url: str, count: int, headers: dict) -> list[float]:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10):
            pass
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def describe(name: str, durations: list[float]) -> str:
    ordered = sorted(durations)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"{name:10s} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"


def long_poll(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=70).read()
    except urllib.error.HTTPError as answer:
        answer.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    arguments = parser.parse_args()
    with deployment() as stack:
        stack.start("worker")
        stack.start("web")
        wait_until(lambda: stack.get("/readyz")[0] == 200, "readiness", seconds=60)
        for path in ("/healthz", "/readyz", "/metrics"):
            print(describe(path, timed_gets(stack.url + path, arguments.probes, {})))  # noqa: T201
        session = call_json("POST", f"{stack.url}/sessions", {"agent_id": "otto-carmen"})
        poll_url = f"{stack.url}/sessions/{session['id']}/events?min_offset=99&wait_for_data=60"
        polls = [threading.Thread(target=long_poll, args=(poll_url,))
                 for _ in range(arguments.clients)]
        for thread in polls:
            thread.start()
        time.sleep(1)  # let the long-polls reach their wait (a benchmark, not a test)
        started = time.perf_counter()
        stack.stop("web")
        elapsed = (time.perf_counter() - started) * 1000
        print(f"daphne stop with {arguments.clients} long-polls waiting: {elapsed:.0f} ms")  # noqa: T201
        started = time.perf_counter()
        stack.stop("worker")
        elapsed = (time.perf_counter() - started) * 1000
        print(f"idle worker warm shutdown: {elapsed:.0f} ms")  # noqa: T201
        for thread in polls:
            thread.join(10)


if __name__ == "__main__":
    main()
