"""`sse=true` on the events listing: Server-Sent Events for EventSource clients, resuming from
the last event id exactly as `min_offset` does (and as the WebSocket does)."""

import json
import urllib.request

from tests.support.http import call_json


def read_events(response, until) -> list[dict]:
    """Parse `id:`/`data:` frames from an open event stream until `until(event)` holds."""
    events, frame = [], {}
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("id: "):
            frame["id"] = line[4:]
        elif line.startswith("data: "):
            frame["data"] = json.loads(line[6:])
        elif line == "" and frame:
            assert frame["id"] == str(frame["data"]["offset"])
            events.append(frame["data"])
            frame = {}
            if until(events[-1]):
                return events
    raise AssertionError(f"the stream ended first: {events}")


def is_agent_message(event: dict) -> bool:
    return event["kind"] == "message" and event["source"] == "ai_agent"


def test_it_streams_events_as_they_happen_and_resumes_after_the_last_event_id(product):
    session = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    url = f"{product.url}/sessions/{session['id']}/events?sse=true&wait_for_data=20"
    with urllib.request.urlopen(url, timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        # The stream is open and waiting: the message and the reply arrive through it live.
        message = call_json(
            "POST", f"{product.url}/sessions/{session['id']}/events",
            {"kind": "message", "source": "customer", "message": "Hello there!"},
        )
        events = read_events(stream, until=is_agent_message)
    assert events[0]["id"] == message["id"]
    assert [event["offset"] for event in events] == list(range(len(events)))
    reply = events[-1]
    assert reply["trace_id"] == message["trace_id"]

    # A reconnecting EventSource sends Last-Event-ID and gets only what came after it.
    resume = urllib.request.Request(
        f"{product.url}/sessions/{session['id']}/events?sse=true&wait_for_data=1&kinds=message",
        headers={"Last-Event-ID": str(message["offset"])},
    )
    with urllib.request.urlopen(resume, timeout=30) as stream:
        resumed = read_events(stream, until=is_agent_message)
    assert [event["id"] for event in resumed] == [reply["id"]]


def test_an_idle_stream_ends_after_wait_for_data(product):
    session = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    url = f"{product.url}/sessions/{session['id']}/events?sse=true&wait_for_data=1"
    with urllib.request.urlopen(url, timeout=30) as stream:
        assert b"data:" not in stream.read()  # only the opening comment, then the end
