"""Prometheus metrics, correct across the web and worker processes.

Two kinds of numbers, each measured where it is honest:

- Events (turns by outcome, reply latency, engine time, LLM calls and tokens, tool calls and
  failures) are counted where they happen, mostly in a Celery worker. With
  PROMETHEUS_MULTIPROC_DIR set (prometheus-client's multiprocess mode), every process writes its
  counters to that directory and a scrape of any web process on the host sums them. Without it
  only this process is counted, which is the whole product in the embedded mode.
- States (turns waiting and the age of the oldest, handoffs waiting) are facts of the database,
  so they are read from it at scrape time and every replica reports the same truth. Open
  WebSockets and long-polls are per process ("livesum" gauges, dead processes drop out).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Count, F, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)


def _process_identifier() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Every process that records (web, worker, a management command) writes files here.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    # Files are named per process. In containers that share the directory every main process
    # is pid 1, so the container's host name goes into the name too.
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)

# Our metrics live in their own registry so that a scrape shows exactly these (plus the
# database gauges), not whatever else a library registered in the process-wide default.
REGISTRY = CollectorRegistry(auto_describe=True)

TURNS = Counter(
    "parlant_turns", "Agent turns that finished, by outcome.", ["outcome"], registry=REGISTRY
)
# Customer message to the agent's reply (its first chunk when streamed). Buckets span the
# embedded engine's milliseconds to a slow model's tens of seconds.
REPLY_LATENCY = Histogram(
    "parlant_reply_latency_seconds",
    "Time from a customer's message to the agent's reply.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
    registry=REGISTRY,
)
ENGINE_TIME = Histogram(
    "parlant_engine_seconds",
    "Time a turn spent in the engine, by part: total, model (LLM calls), tools, engine (rest).",
    ["part"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
    registry=REGISTRY,
)
LLM_CALLS = Counter(
    "parlant_llm_calls", "LLM calls, by model and outcome.", ["model", "outcome"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "parlant_llm_tokens", "LLM tokens, by model and kind (prompt, completion).",
    ["model", "kind"], registry=REGISTRY,
)
TOOL_CALLS = Counter("parlant_tool_calls", "Tool calls run, by tool.", ["tool"], registry=REGISTRY)
TOOL_FAILURES = Counter(
    "parlant_tool_failures", "Tool calls that failed, by tool.", ["tool"], registry=REGISTRY
)
OPEN_WEBSOCKETS = Gauge(
    "parlant_open_websockets", "WebSockets open now.", registry=REGISTRY,
    multiprocess_mode="livesum",
)
OPEN_LONG_POLLS = Gauge(
    "parlant_open_long_polls", "Long-polls waiting for events now.", registry=REGISTRY,
    multiprocess_mode="livesum",
)


def is_multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def record_turn_finished(*, turn_id: str, status: str, trace: dict[str, Any]) -> None:
    """Count a finished turn: outcome, engine time, LLM calls and tokens, tools, reply latency.

    Never raises: a metrics fault must not fail the turn it describes.
    """
    try:
        _record_turn_finished(turn_id=turn_id, status=status, trace=trace)
    except Exception:
        logger.exception("recording turn metrics failed")


def _record_turn_finished(*, turn_id: str, status: str, trace: dict[str, Any]) -> None:
    TURNS.labels(outcome=status).inc()
    timing = trace.get("timing") or {}
    for part in ("total", "model", "tools", "engine"):
        milliseconds = timing.get(f"{part}_ms")
        if isinstance(milliseconds, int | float):
            ENGINE_TIME.labels(part=part).observe(milliseconds / 1000)
    llm_calls = trace.get("llm_calls") or []
    for call in llm_calls:
        model = str(call.get("model") or "unknown")
        LLM_CALLS.labels(model=model, outcome="ok" if call.get("is_ok") else "failed").inc()
        for kind in ("prompt", "completion"):
            tokens = call.get(f"{kind}_tokens") or 0
            if tokens:
                LLM_TOKENS.labels(model=model, kind=kind).inc(tokens)
    tools_run = [entry for entry in trace.get("tools") or [] if "skipped" not in entry]
    for entry in tools_run:
        tool = str(entry.get("tool_id") or "unknown")
        TOOL_CALLS.labels(tool=tool).inc()
        if entry.get("error"):
            TOOL_FAILURES.labels(tool=tool).inc()
    latency = _reply_latency_seconds(turn_id)
    if latency is not None:
        REPLY_LATENCY.observe(latency)
    logger.info(
        "turn finished",
        extra={
            "outcome": status,
            "duration_ms": timing.get("total_ms"),
            "latency_ms": None if latency is None else round(latency * 1000, 1),
            "llm_calls": len(llm_calls),
            "tool_calls": len(tools_run),
        },
    )


def _reply_latency_seconds(turn_id: str) -> float | None:
    from sessions_app.models import Event, Turn

    turn = Turn.objects.filter(pk=turn_id).values("session_id", "trigger_offset", "trace_id")
    turn = turn.first()
    if turn is None:
        return None
    asked_at = (
        Event.objects.filter(session_id=turn["session_id"], offset=turn["trigger_offset"])
        .values_list("created_at", flat=True)
        .first()
    )
    answered_at = (
        Event.objects.filter(
            session_id=turn["session_id"],
            trace_id=turn["trace_id"],
            kind=Event.Kind.MESSAGE,
            source=Event.Source.AI_AGENT,
        )
        .order_by("offset")
        .values_list("created_at", flat=True)
        .first()
    )
    if asked_at is None or answered_at is None:
        return None
    return max(0.0, (answered_at - asked_at).total_seconds())


class DatabaseGauges:
    """Gauges read from the database at scrape time: the same on every replica."""

    def collect(self) -> Iterable[Metric]:
        from sessions_app.models import Event, Session, Turn

        # A session waits for a turn while its newest customer message is past the offset its
        # latest turn claimed (and the agent, not a human, answers it).
        waiting = Event.objects.filter(
            kind=Event.Kind.MESSAGE,
            source=Event.Source.CUSTOMER,
            deleted=False,
            session__mode=Session.Mode.AUTO,
            offset__gt=F("session__claimed_offset"),
        ).aggregate(sessions=Count("session", distinct=True), oldest=Min("created_at"))
        oldest = waiting["oldest"]
        yield _gauge(
            "parlant_turns_waiting", "Sessions whose customer message no turn has claimed yet.",
            waiting["sessions"],
        )
        yield _gauge(
            "parlant_oldest_waiting_turn_age_seconds",
            "Age of the oldest customer message that no turn has claimed yet (0: none).",
            (timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
        yield _gauge(
            "parlant_turns_running", "Turns claimed and not finished.",
            Turn.objects.filter(status=Turn.Status.RUNNING).count(),
        )
        yield _gauge(
            "parlant_handoffs_waiting", "Sessions handed to a human that no operator holds yet.",
            Session.objects.filter(mode=Session.Mode.MANUAL, held_by__isnull=True).count(),
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class _Scrape:
    def __init__(self, collectors: list[Any]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def scrape() -> _Scrape:
    """What one scrape reports: every process's counters on this host, then the database's."""
    event_metrics = (
        MultiProcessCollector(None, os.environ["PROMETHEUS_MULTIPROC_DIR"])
        if is_multiprocess()
        else REGISTRY
    )
    return _Scrape([event_metrics, DatabaseGauges()])


def mark_this_process_dead() -> None:
    """Drop this process's live gauges from the shared directory (on a clean exit)."""
    if is_multiprocess():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(_process_identifier())
