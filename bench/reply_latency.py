"""Time from a customer's message to the agent's message, over HTTP, on a freshly started product.

Usage: python -m bench.reply_latency [--turns 20]
Starts the product as `./dev.sh run` would (embedded default unless DATABASE_URL/REDIS_URL are set),
sends greetings one at a time and long-polls for each reply. Prints every turn and the median.
"""

import argparse
import statistics
import sys
import time
import urllib.error
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.http import call_json  # noqa: E402  (after the path is set)
from tests.support.live_stack import live_stack  # noqa: E402

MESSAGES = ["Hi!", "Hello there", "Good morning!", "Hey, how are you?"]


def measure(base_url: str, turns: int) -> list[float]:
    durations = []
    for turn in range(turns):
        session = call_json("POST", f"{base_url}/sessions", {"agent_id": "otto-carmen"})
        events_url = f"{base_url}/sessions/{session['id']}/events"
        started = time.perf_counter()
        posted = call_json(
            "POST",
            events_url,
            {"kind": "message", "source": "customer", "message": MESSAGES[turn % len(MESSAGES)]},
        )
        min_offset = posted["offset"] + 1
        while True:
            try:
                events = call_json(
                    "GET", f"{events_url}?min_offset={min_offset}&kinds=message&wait_for_data=30"
                )
            except urllib.error.HTTPError as error:
                if error.code == 504:
                    continue
                raise
            if any(event["source"] == "ai_agent" for event in events):
                break
            min_offset = events[-1]["offset"] + 1
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    arguments = parser.parse_args()
    with live_stack() as stack:
        measure(stack.url, 2)  # warm-up: imports, first connections
        durations = measure(stack.url, arguments.turns)
    for index, duration in enumerate(durations, 1):
        print(f"turn {index:2d}: {duration:7.1f} ms")  # noqa: T201
    ordered = sorted(durations)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(  # noqa: T201
        f"median_ms={statistics.median(durations):.1f} p90_ms={p90:.1f} "
        f"min_ms={ordered[0]:.1f} max_ms={ordered[-1]:.1f} turns={len(durations)}"
    )


if __name__ == "__main__":
    main()
