"""Writes of the quality app: tests saved from turns, test runs, and per-turn facts."""

import logging
import math
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from engine.types import JOURNEY_END
from quality.models import BehaviorTest, GuidelineMatch, JourneyProgress, TestRun, TurnFacts
from quality.suite import SuiteError, validate_test_definition

logger = logging.getLogger(__name__)

MAX_PROPOSED_NAME = 80


# --- Tests -------------------------------------------------------------------------------------


def _active_journey(paths: Mapping[str, list[str]]) -> tuple[str, str] | None:
    for journey_id, path in paths.items():
        if path and path[-1] != JOURNEY_END:
            return journey_id, path[-1]
    return None


def proposed_expectations(trace: Mapping[str, Any]) -> dict[str, Any]:
    """What the turn did, as expectations for the editor to keep or change."""
    expect: dict[str, Any] = {}
    matched = [match["id"] for match in trace.get("matched", [])]
    if matched:
        expect["guidelines_matched"] = matched
    for move in trace.get("journeys", {}).get("moves", []):
        path = move.get("path_after") or []
        if path and path[-1] == JOURNEY_END and path != (move.get("path_before") or []):
            expect["journey"] = {"journey": move["journey_id"], "ended": True}
            break
        if path:
            expect["journey"] = {"journey": move["journey_id"], "state": path[-1]}
            break
    calls = [call for call in trace.get("tools", []) if not call.get("skipped")]
    if calls:
        expect["tool_calls"] = [
            {"tool": call["tool_id"], "arguments": call.get("arguments", {})} for call in calls
        ]
    else:
        expect["no_tool_call"] = True
    canned_id = trace.get("composition", {}).get("canned_response_id")
    if canned_id:
        expect["canned_response"] = canned_id
    expect["handoff"] = trace.get("session_mode") == "manual"
    return expect


def _conversation_item(event: Any) -> dict[str, Any] | None:
    from sessions_app.models import Event

    if event.kind == Event.Kind.TOOL:
        calls = [
            {
                "tool": call.get("tool_id", ""),
                "arguments": call.get("arguments", {}),
                "result": (call.get("result") or {}).get("data"),
            }
            for call in event.data.get("tool_calls", [])
        ]
        return {"tool": calls} if calls else None
    if event.kind != Event.Kind.MESSAGE or not event.data.get("message"):
        return None
    role = (
        "customer"
        if event.source in (Event.Source.CUSTOMER, Event.Source.CUSTOMER_UI)
        else ("agent")
    )
    return {role: str(event.data["message"])}


def _unique_name(agent_id: str, wanted: str) -> str:
    name, number = wanted, 1
    while BehaviorTest.objects.filter(agent_id=agent_id, name=name).exists():
        number += 1
        name = f"{wanted} ({number})"
    return name


def behavior_test_from_turn(*, turn_id: str) -> BehaviorTest:
    """Save a turn as a test: the conversation up to the customer's message it answered, that
    message, and expectations proposed from the turn's explanation.

    Raises Turn.DoesNotExist, and ValueError for a turn that answered no customer message.
    """
    from sessions_app.models import Event, Turn

    turn = Turn.objects.select_related("session").get(pk=turn_id)
    events = list(
        Event.objects.filter(
            session_id=turn.session_id, deleted=False, offset__lte=turn.trigger_offset
        ).order_by("offset")
    )
    if not events or events[-1].offset != turn.trigger_offset or not events[-1].data.get("message"):
        raise ValueError("This turn answered no customer message.")
    trigger = events.pop()
    return behavior_test_propose(
        agent_id=turn.session.agent_id,
        conversation=[item for item in map(_conversation_item, events) if item is not None],
        message=str(trigger.data["message"]),
        trace=turn.trace,
        session_id=turn.session_id,
    )


def behavior_test_propose(
    *,
    agent_id: str,
    conversation: list[dict[str, Any]],
    message: str,
    trace: Mapping[str, Any],
    session_id: str | None = None,
) -> BehaviorTest:
    """A new test of the agent replaying `message` after `conversation`, expecting what the
    turn with `trace` did; named after the message. The editor keeps or changes it."""
    definition: dict[str, Any] = {
        "conversation": conversation,
        "message": message,
        "expect": proposed_expectations(trace),
    }
    before = _active_journey(trace.get("journeys", {}).get("before", {}))
    if before is not None:
        definition["journey_state"] = {"journey": before[0], "state": before[1]}
    short = " ".join(message.split())[:MAX_PROPOSED_NAME]
    name = _unique_name(agent_id, short or "Saved turn")
    definition["name"] = name
    validate_test_definition(definition, source=f"test {name!r}")
    return BehaviorTest.objects.create(
        agent_id=agent_id, name=name, definition=definition, source_session_id=session_id
    )


def behavior_test_save(
    *, agent_id: str, name: str, definition: Mapping[str, Any], test_id: str | None = None
) -> BehaviorTest:
    """Create or replace a test after validating it (SuiteError names the field at fault)."""
    definition = {**definition, "name": name}
    validate_test_definition(definition, source=f"test {name!r}")
    if test_id is None:
        return BehaviorTest.objects.create(agent_id=agent_id, name=name, definition=definition)
    BehaviorTest.objects.filter(pk=test_id).update(name=name, definition=definition)
    return BehaviorTest.objects.get(pk=test_id)


# --- Runs --------------------------------------------------------------------------------------


def behavior_test_run_start(
    *, agent_id: str, user: Any = None, at_revision: int | None = None
) -> TestRun:
    """Record a run of the agent's tests and queue it for a worker after commit.

    Without `at_revision` the run uses today's behaviour, recorded as the newest revision.
    """
    from quality.tasks import run_behavior_tests
    from quality.versions import current_revision_id
    from sessions_app.worker import send_on_commit

    with transaction.atomic():
        run = TestRun.objects.create(
            agent_id=agent_id,
            revision_id=at_revision if at_revision is not None else current_revision_id(),
            is_older_version=at_revision is not None,
            total=BehaviorTest.objects.filter(agent_id=agent_id).count(),
            started_by=user if getattr(user, "is_authenticated", False) else None,
        )
        send_on_commit(run_behavior_tests, run.id)
    return run


def _suite_for_agent(agent_id: str):
    from quality.suite import Suite

    tests = []
    for row in BehaviorTest.objects.filter(agent_id=agent_id).order_by("name"):
        definition = {**row.definition, "name": row.name}
        tests.append(validate_test_definition(definition, source=row.name))
    return Suite(name=agent_id, tests=tuple(tests), agent_id=agent_id, source="admin")


def behavior_test_run_execute(*, run_id: str) -> None:
    """Run a queued run's tests, recording progress after each test. Idempotent: only the
    first delivery claims the run (a compare-and-set on its status)."""
    from quality.runner import ERROR, FAILED, PASSED, run_suite

    if not TestRun.objects.filter(pk=run_id, status=TestRun.Status.QUEUED).update(
        status=TestRun.Status.RUNNING
    ):
        return
    run = TestRun.objects.get(pk=run_id)
    try:
        suite = _suite_for_agent(run.agent_id)
    except SuiteError as error:
        TestRun.objects.filter(pk=run_id).update(
            status=TestRun.Status.FAILED, error=str(error), finished_at=timezone.now()
        )
        return
    counts = {PASSED: 0, FAILED: 0, ERROR: 0}
    TestRun.objects.filter(pk=run_id).update(total=len(suite.tests))

    def progress(result, done: int, total: int) -> None:
        counts[result.status] += 1
        TestRun.objects.filter(pk=run_id).update(
            completed=done, passed=counts[PASSED], failed=counts[FAILED], errors=counts[ERROR]
        )

    at_revision = run.revision_id if run.is_older_version else None
    outcome = run_suite(suite, at_revision=at_revision, on_result=progress)
    TestRun.objects.filter(pk=run_id).update(
        status=TestRun.Status.FAILED if outcome.error else TestRun.Status.FINISHED,
        error=outcome.error,
        snapshot_version=outcome.snapshot_version,
        results=[result.as_dict() for result in outcome.results],
        completed=len(outcome.results),
        passed=outcome.counts()[PASSED],
        failed=outcome.counts()[FAILED],
        errors=outcome.counts()[ERROR],
        finished_at=timezone.now(),
    )


# --- Facts of finished turns -------------------------------------------------------------------

LATENCY_BUCKET_RATIO = 1.05


def latency_bucket(latency_ms: float | None) -> int | None:
    """The 5%-wide logarithmic bucket of a latency (see TurnFacts.latency_bucket)."""
    if latency_ms is None:
        return None
    return math.floor(math.log(max(latency_ms, 1.0)) / math.log(LATENCY_BUCKET_RATIO))


def bucket_upper_ms(bucket: int) -> float:
    return LATENCY_BUCKET_RATIO ** (bucket + 1)


@transaction.atomic
def turn_facts_record(*, turn_id: str, trace: Mapping[str, Any]) -> TurnFacts | None:
    """Reduce a completed turn's trace to the rows the insights page aggregates (once per turn).

    Latency is what the customer waited: from their message being stored to the turn's end.
    """
    from sessions_app.models import Event, Turn

    if "iterations" not in trace or TurnFacts.objects.filter(turn_id=turn_id).exists():
        return None
    turn = Turn.objects.select_related("session").get(pk=turn_id)
    now = timezone.now()
    asked_at = (
        Event.objects.filter(session_id=turn.session_id, offset=turn.trigger_offset)
        .values_list("created_at", flat=True)
        .first()
    )
    calls = trace.get("llm_calls", [])
    matched = [match["id"] for match in trace.get("matched", [])]
    journeys = trace.get("journeys", {})
    latency_ms = (now - asked_at).total_seconds() * 1000 if asked_at else None
    facts = TurnFacts.objects.create(
        turn_id=turn_id,
        agent_id=turn.session.agent_id,
        session_id=turn.session_id,
        created_at=now,
        day=timezone.localdate(now),
        is_first_turn=not TurnFacts.objects.filter(session_id=turn.session_id).exists(),
        trigger_offset=turn.trigger_offset,
        is_unhandled=not matched and _active_journey(journeys.get("after", {})) is None,
        is_handoff=trace.get("session_mode") == "manual",
        llm_calls=len(calls),
        prompt_tokens=sum(call.get("prompt_tokens", 0) for call in calls),
        completion_tokens=sum(call.get("completion_tokens", 0) for call in calls),
        model=next((call.get("model", "") for call in calls), "")[:100],
        latency_ms=latency_ms,
        latency_bucket=latency_bucket(latency_ms),
    )
    GuidelineMatch.objects.bulk_create(
        GuidelineMatch(
            turn=facts,
            agent_id=facts.agent_id,
            guideline_id=guideline_id,
            created_at=now,
            day=facts.day,
        )
        for guideline_id in dict.fromkeys(matched)
    )
    for move in journeys.get("moves", []):
        _journey_progress_record(facts, move, now)
    return facts


def _journey_progress_record(facts: TurnFacts, move: Mapping[str, Any], now: Any) -> None:
    path = move.get("path_after") or []
    events = move.get("events", [])
    if not path and "activated" not in events:
        return
    is_completed = bool(path) and path[-1] == JOURNEY_END and "completed" in events
    last_state = next((state for state in reversed(path) if state != JOURNEY_END), "")
    if "activated" in events:
        JourneyProgress.objects.update_or_create(
            session_id=facts.session_id,
            journey_id=move["journey_id"],
            defaults={
                "agent_id": facts.agent_id,
                "started_at": now,
                "last_state_id": last_state,
                "is_completed": is_completed,
            },
        )
        return
    JourneyProgress.objects.filter(
        session_id=facts.session_id, journey_id=move["journey_id"], is_completed=False
    ).update(last_state_id=last_state, is_completed=is_completed)
