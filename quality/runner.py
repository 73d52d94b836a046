"""Runs behaviour tests through the engine's public surface, never touching real sessions.

The behaviour is read once per suite into an engine snapshot (for inline behaviour and older
versions, inside a transaction that is rolled back, so live behaviour is never changed). Each test
then runs as one engine turn with an in-memory event sink and no cancellation: nothing is written
to the session tables. Tests run concurrently; a callback hears of each result as it lands (the
admin's progress bar).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from engine import types as engine_types
from engine.ports import GenerationRequest, NLPService
from parlant_site.ids import new_id
from quality.suite import BehaviorTest, CustomerSpec, JourneyExpectation, Suite

logger = logging.getLogger(__name__)

PASSED, FAILED, ERROR = "passed", "failed", "error"
DEFAULT_CONCURRENCY = 4


@dataclass
class Check:
    """One expectation's verdict: passed, failed (with what was seen) or skipped."""

    expectation: str
    expected: Any
    actual: Any = None
    status: str = PASSED  # passed | failed | skipped
    message: str = ""
    links: list[dict[str, str]] = field(default_factory=list)  # {"kind", "id", "label"}


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class, despite the name

    name: str
    status: str
    checks: list[Check] = field(default_factory=list)
    reply: list[str] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    duration_ms: float = 0.0

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status == FAILED]

    @property
    def skipped(self) -> list[Check]:
        return [check for check in self.checks if check.status == "skipped"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "checks": [check.__dict__ for check in self.checks],
            "reply": self.reply,
            "explanation": self.explanation,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 2),
        }


@dataclass
class SuiteResult:
    suite: str
    snapshot_version: str
    results: list[TestResult]
    error: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.error and all(r.status == PASSED for r in self.results)

    def counts(self) -> dict[str, int]:
        counts = {PASSED: 0, FAILED: 0, ERROR: 0}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "snapshot_version": self.snapshot_version,
            "error": self.error,
            "counts": self.counts(),
            "tests": [result.as_dict() for result in self.results],
        }


# --- Behaviour ---------------------------------------------------------------------------------


def _throwaway_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The export document with its agent renamed to a throwaway id (and its scope tag with it)."""
    from behavior.models import agent_tag_id

    old_id = str(document.get("agent", {}).get("id", ""))
    new_agent_id = f"behavior-test-{new_id()}"
    old_tag, new_tag = agent_tag_id(old_id), agent_tag_id(new_agent_id)

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rename(item) for item in value]
        return new_tag if value == old_tag else value

    renamed = rename(copy.deepcopy(dict(document)))
    renamed["agent"]["id"] = new_agent_id
    return renamed


def behavior_snapshot(
    *, agent_id: str = "", document: Mapping[str, Any] | None = None, at_revision: int | None = None
) -> engine_types.AgentSnapshot:
    """The engine snapshot a suite runs against. Inline behaviour and older versions are built
    inside a transaction that is always rolled back. Raises LookupError for an unknown agent
    and ValueError for a document that does not import."""
    from django.core.exceptions import ValidationError

    from behavior.models import Agent
    from behavior.snapshot import agent_snapshot
    from behavior.transfer import behavior_import
    from quality.versions import behavior_revert_to

    with transaction.atomic():
        try:
            if at_revision is not None:
                behavior_revert_to(at_revision)
            if document is not None:
                agent_id = behavior_import(document=_throwaway_document(document)).pk
            return agent_snapshot(agent_id)
        except Agent.DoesNotExist:
            raise LookupError(f"no agent with id {agent_id!r}") from None
        except ValidationError as error:
            raise ValueError(f"the inline behaviour does not import: {error}") from None
        finally:
            transaction.set_rollback(True)


# --- One turn ----------------------------------------------------------------------------------


class InMemorySink:
    """Keeps the turn's events in memory: a behaviour test never writes to a session."""

    def __init__(self, start_offset: int) -> None:
        self.events: list[engine_types.NewEvent] = []
        self.start_offset = start_offset

    async def emit(self, event: engine_types.NewEvent) -> int:
        self.events.append(event)
        return self.start_offset + len(self.events) - 1

    async def update(self, offset: int, data: Mapping[str, Any]) -> None:
        old = self.events[offset - self.start_offset]
        self.events[offset - self.start_offset] = replace(old, data=dict(data))

    @property
    def messages(self) -> list[str]:
        return [
            str(event.data.get("message", ""))
            for event in self.events
            if event.kind == engine_types.EventKind.MESSAGE
        ]


class NeverCancelled:
    async def is_cancelled(self) -> bool:
        return False


def _find_journey(snapshot: engine_types.AgentSnapshot, reference: str) -> engine_types.Journey:
    wanted = reference.strip().casefold()
    for journey in snapshot.journeys:
        if journey.id == reference or journey.title.strip().casefold() == wanted:
            return journey
    raise LookupError(f"no journey with id or title {reference!r}")


def _find_state(journey: engine_types.Journey, reference: str) -> engine_types.JourneyState:
    wanted = reference.strip().casefold()
    for state in journey.states:
        if state.id == reference or wanted in {
            state.action.strip().casefold(),
            state.description.strip().casefold(),
        }:
            return state
    for state in journey.states:  # a tool state is named by its tool
        if wanted in {tool_id.casefold() for tool_id in state.tool_ids}:
            return state
    raise LookupError(f"journey {journey.title!r} has no state with id or action {reference!r}")


def _find_guideline(snapshot: engine_types.AgentSnapshot, reference: str) -> engine_types.Guideline:
    wanted = reference.strip().casefold()
    for guideline in snapshot.guidelines:
        if guideline.id == reference or guideline.condition.strip().casefold() == wanted:
            return guideline
    raise LookupError(f"no guideline with id or condition {reference!r}")


def _customer(spec: CustomerSpec) -> engine_types.Customer:
    return engine_types.Customer(id=f"behavior-test-{new_id()}", name=spec.name, tags=spec.tags)


def _with_variables(
    snapshot: engine_types.AgentSnapshot, values: Mapping[str, Any]
) -> engine_types.AgentSnapshot:
    by_name = {variable.name: variable for variable in snapshot.variables}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise LookupError(f"customer.variables: the agent has no variable {', '.join(unknown)}")
    return replace(
        snapshot,
        variables=tuple(
            replace(variable, value=values[variable.name], is_stale=False)
            if variable.name in values
            else variable
            for variable in snapshot.variables
        ),
    )


def build_turn_input(
    snapshot: engine_types.AgentSnapshot, test: BehaviorTest, customer: CustomerSpec
) -> engine_types.TurnInput:
    """The engine's input for the test's turn: its conversation, then the new message."""
    snapshot = _with_variables(snapshot, customer.variables)
    engine_customer = _customer(customer)
    customer_participant = {"display_name": customer.name}
    agent_participant = {"display_name": snapshot.agent.name}
    events: list[engine_types.SessionEvent] = []
    for item in [*test.conversation, None]:
        offset = len(events)
        if item is None:
            kind, source = engine_types.EventKind.MESSAGE, engine_types.EventSource.CUSTOMER
            data: dict[str, Any] = {"message": test.message, "participant": customer_participant}
        elif item.role == "tool":
            kind, source = engine_types.EventKind.TOOL, engine_types.EventSource.AI_AGENT
            data = {"tool_calls": [dict(call) for call in item.tool_calls]}
        elif item.role == "agent":
            kind, source = engine_types.EventKind.MESSAGE, engine_types.EventSource.AI_AGENT
            data = {"message": item.message, "participant": agent_participant}
        else:
            kind, source = engine_types.EventKind.MESSAGE, engine_types.EventSource.CUSTOMER
            data = {"message": item.message, "participant": customer_participant}
        events.append(engine_types.SessionEvent(offset=offset, kind=kind, source=source, data=data))
    journey_paths: dict[str, tuple[str, ...]] = {}
    if test.journey_state is not None:
        journey = _find_journey(snapshot, test.journey_state.journey)
        state = _find_state(journey, test.journey_state.state) if test.journey_state.state else None
        journey_paths[journey.id] = (state.id,) if state else (journey.states[0].id,)
    return engine_types.TurnInput(
        snapshot=snapshot,
        session_id=f"behavior-test-{new_id()}",
        customer=engine_customer,
        events=tuple(events),
        state=engine_types.AgentState(journey_paths=journey_paths),
        trace_id=f"behavior-test-{new_id()}",
    )


# --- Expectations ------------------------------------------------------------------------------


def _guideline_label(guideline: engine_types.Guideline) -> str:
    action = f", then {guideline.action}" if guideline.action else ""
    return f"When {guideline.condition}{action}"


def _link(kind: str, entity_id: str, label: str) -> dict[str, str]:
    return {"kind": kind, "id": entity_id, "label": label}


def _check_journey(
    snapshot: engine_types.AgentSnapshot, expected: JourneyExpectation, trace: Mapping[str, Any]
) -> Check:
    journey = _find_journey(snapshot, expected.journey)
    path = list(trace.get("journeys", {}).get("after", {}).get(journey.id, []))
    ended_now = bool(path) and path[-1] == engine_types.JOURNEY_END
    current = path[-1] if path and not ended_now else None
    states = {state.id: state for state in journey.states}
    actual = (
        "ended"
        if ended_now
        else _state_label(states[current])
        if current in states
        else ("not active")
    )
    link = [_link("journey", journey.id, journey.title)]
    if expected.is_ended:
        return Check(
            "journey ended",
            journey.title,
            actual,
            PASSED if ended_now else FAILED,
            "" if ended_now else f"journey {journey.title!r} is {actual}",
            link,
        )
    if expected.state:
        state = _find_state(journey, expected.state)
        ok = current == state.id
        return Check(
            "journey state",
            f"{journey.title}: {_state_label(state)}",
            actual,
            PASSED if ok else FAILED,
            "" if ok else f"journey {journey.title!r} is at {actual!r}",
            link,
        )
    ok = current is not None
    return Check("journey active", journey.title, actual, PASSED if ok else FAILED, "", link)


def _state_label(state: engine_types.JourneyState) -> str:
    if state.is_tool_state:
        return "tool " + ", ".join(state.tool_ids)
    return state.action or state.description or state.id


def _arguments_match(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    return all(
        key in actual and str(actual[key]).casefold() == str(value).casefold()
        for key, value in expected.items()
    )


def evaluate(
    test: BehaviorTest,
    snapshot: engine_types.AgentSnapshot,
    outcome: engine_types.TurnOutcome,
    replies: Sequence[str],
) -> list[Check]:
    """Every expectation of the test against what the turn did (criteria come later)."""
    expect = test.expect
    trace = outcome.trace
    checks: list[Check] = []
    matched = {match["id"] for match in trace.get("matched", [])}
    for reference in expect.guidelines_matched:
        guideline = _find_guideline(snapshot, reference)
        ok = guideline.id in matched
        checks.append(
            Check(
                "guideline matched",
                _guideline_label(guideline),
                "matched" if ok else "not matched",
                PASSED if ok else FAILED,
                "" if ok else "the guideline did not match this message",
                [_link("guideline", guideline.id, _guideline_label(guideline))],
            )
        )
    for reference in expect.guidelines_not_matched:
        guideline = _find_guideline(snapshot, reference)
        ok = guideline.id not in matched
        checks.append(
            Check(
                "guideline not matched",
                _guideline_label(guideline),
                "not matched" if ok else "matched",
                PASSED if ok else FAILED,
                "" if ok else "the guideline matched although it should not",
                [_link("guideline", guideline.id, _guideline_label(guideline))],
            )
        )
    if expect.journey is not None:
        checks.append(_check_journey(snapshot, expect.journey, trace))
    calls = [call for call in trace.get("tools", []) if not call.get("skipped")]
    seen_calls = [{"tool": c.get("tool_id"), "arguments": c.get("arguments", {})} for c in calls]
    for expected_call in expect.tool_calls:
        ok = any(
            call.get("tool_id") == expected_call.tool
            and _arguments_match(expected_call.arguments, call.get("arguments", {}))
            for call in calls
        )
        checks.append(
            Check(
                "tool called",
                {"tool": expected_call.tool, "arguments": dict(expected_call.arguments)},
                seen_calls,
                PASSED if ok else FAILED,
                "" if ok else f"no call of {expected_call.tool} with these arguments",
            )
        )
    if expect.is_no_tool_call:
        checks.append(Check("no tool call", [], seen_calls, FAILED if calls else PASSED, ""))
    if expect.canned_response:
        wanted = expect.canned_response.strip().casefold()
        template = next(
            (
                canned
                for canned in snapshot.canned_responses
                if canned.id == expect.canned_response or canned.value.strip().casefold() == wanted
            ),
            None,
        )
        if template is None:
            raise LookupError(f"no canned response with id or text {expect.canned_response!r}")
        chosen = trace.get("composition", {}).get("canned_response_id")
        checks.append(
            Check(
                "canned response",
                template.value,
                chosen or "(none: the reply was composed freely)",
                PASSED if chosen == template.id else FAILED,
            )
        )
    reply_text = "\n".join(replies)
    for text in expect.reply_contains:
        ok = text.casefold() in reply_text.casefold()
        checks.append(Check("reply contains", text, reply_text, PASSED if ok else FAILED))
    for text in expect.reply_does_not_contain:
        ok = text.casefold() not in reply_text.casefold()
        checks.append(Check("reply does not contain", text, reply_text, PASSED if ok else FAILED))
    if expect.is_no_reply:
        checks.append(Check("no reply", "", reply_text, FAILED if replies else PASSED))
    if expect.handoff is not None:
        handed_off = outcome.session_mode == engine_types.SessionMode.MANUAL
        checks.append(
            Check(
                "handoff" if expect.handoff else "no handoff",
                expect.handoff,
                handed_off,
                PASSED if handed_off == expect.handoff else FAILED,
            )
        )
    return checks


CRITERIA_SCHEMA = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "criterion": {"type": "string"},
                    "is_met": {"type": "boolean"},
                    "reason": {"type": "string"},
                },
                "required": ["criterion", "is_met", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["verdicts"],
    "additionalProperties": False,
}


def _criteria_prompt(test: BehaviorTest, replies: Sequence[str]) -> str:
    conversation = "\n".join(
        f"{item.role}: {item.message or json.dumps(list(item.tool_calls))}"
        for item in test.conversation
    )
    criteria = "\n".join(f"- {criterion}" for criterion in test.expect.criteria)
    return (
        "You grade a customer-service agent's reply against criteria.\n"
        f"Conversation so far:\n{conversation}\ncustomer: {test.message}\n\n"
        f"The agent's reply:\n{chr(10).join(replies) or '(no reply)'}\n\n"
        f"For each criterion, say whether the reply meets it, with a short reason:\n{criteria}"
    )


async def judge_criteria(
    nlp: NLPService | None, test: BehaviorTest, replies: Sequence[str]
) -> list[Check]:
    """Natural-language criteria, judged by the configured model; skipped without one."""
    criteria = test.expect.criteria
    if not criteria:
        return []
    if nlp is None or nlp.name == "local":
        return [
            Check("criterion", criterion, None, "skipped", "no language model is configured")
            for criterion in criteria
        ]
    result = await nlp.generate(
        GenerationRequest(
            prompt=_criteria_prompt(test, replies),
            schema_name="behavior_test_criteria",
            json_schema=CRITERIA_SCHEMA,
            temperature=0.0,
        )
    )
    verdicts = list(result.content.get("verdicts", []))
    checks = []
    for index, criterion in enumerate(criteria):
        verdict = verdicts[index] if index < len(verdicts) else {}
        ok = bool(verdict.get("is_met"))
        checks.append(
            Check(
                "criterion",
                criterion,
                verdict.get("reason", "(not judged)"),
                PASSED if ok else FAILED,
                "" if ok else str(verdict.get("reason", "the model did not judge it")),
            )
        )
    return checks


# --- Running -----------------------------------------------------------------------------------


def _explain(trace: Mapping[str, Any], snapshot: engine_types.AgentSnapshot) -> dict[str, Any]:
    from sessions_app.explanations import explain_turn

    names = {g.id: _guideline_label(g) for g in snapshot.guidelines}
    names.update({j.id: j.title for j in snapshot.journeys})
    return explain_turn(trace, names)


async def run_test(
    *,
    engine: Any,
    judge: NLPService | None,
    snapshot: engine_types.AgentSnapshot,
    test: BehaviorTest,
    customer: CustomerSpec,
) -> TestResult:
    started = time.perf_counter()
    try:
        turn_input = build_turn_input(snapshot, test, test.customer or customer)
        sink = InMemorySink(start_offset=len(turn_input.events))
        outcome = await engine.process_turn(turn_input, sink, NeverCancelled())
        replies = sink.messages
        checks = evaluate(test, turn_input.snapshot, outcome, replies)
        checks += await judge_criteria(judge, test, replies)
    except LookupError as error:
        return TestResult(
            name=test.name,
            status=ERROR,
            error=str(error.args[0] if error.args else error),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
    except Exception as error:
        logger.exception("behaviour test failed to run", extra={"test": test.name})
        return TestResult(
            name=test.name,
            status=ERROR,
            error=f"{type(error).__name__}: {error}",
            duration_ms=(time.perf_counter() - started) * 1000,
        )
    status = FAILED if any(check.status == FAILED for check in checks) else PASSED
    return TestResult(
        name=test.name,
        status=status,
        checks=checks,
        reply=replies,
        explanation=_explain(outcome.trace, turn_input.snapshot),
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def select_tests(tests: Sequence[BehaviorTest], keyword: str | None) -> list[BehaviorTest]:
    """`-k`: tests whose name contains the keyword (case-insensitive); `not x` excludes."""
    if not keyword:
        return list(tests)
    keyword = keyword.strip()
    if keyword.startswith("not "):
        excluded = keyword.removeprefix("not ").strip().casefold()
        return [test for test in tests if excluded not in test.name.casefold()]
    return [test for test in tests if keyword.casefold() in test.name.casefold()]


def run_suite(
    suite: Suite,
    *,
    keyword: str | None = None,
    at_revision: int | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_result: Callable[[TestResult, int, int], None] | None = None,
) -> SuiteResult:
    """Run the suite's (selected) tests concurrently; `on_result(result, done, total)` is called
    in the caller's thread after each test, so it may use the ORM."""
    from sessions_app.engine_adapter import engine as product_engine
    from sessions_app.engine_adapter import nlp_service

    tests = select_tests(suite.tests, keyword)
    try:
        snapshot = behavior_snapshot(
            agent_id=suite.agent_id, document=suite.behavior, at_revision=at_revision
        )
    except (LookupError, ValueError) as error:
        return SuiteResult(suite=suite.name, snapshot_version="", results=[], error=str(error))
    engine = product_engine(is_llm_free=snapshot.agent.is_llm_free)
    judge = None if snapshot.agent.is_llm_free else nlp_service()

    async def run_all() -> list[TestResult]:
        gate = asyncio.Semaphore(max(1, concurrency))
        done = 0
        report = sync_to_async(on_result) if on_result else None

        async def one(test: BehaviorTest) -> TestResult:
            nonlocal done
            async with gate:
                result = await run_test(
                    engine=engine,
                    judge=judge,
                    snapshot=snapshot,
                    test=test,
                    customer=suite.customer,
                )
            done += 1
            if report is not None:
                await report(result, done, len(tests))
            return result

        return list(await asyncio.gather(*(one(test) for test in tests)))

    results = async_to_sync(run_all)() if tests else []
    return SuiteResult(suite=suite.name, snapshot_version=snapshot.version, results=results)


# --- The admin's test chat ---------------------------------------------------------------------


def chat_turn(
    *,
    agent_id: str,
    conversation: Sequence[Mapping[str, Any]],
    message: str,
    state: Mapping[str, Any] | None = None,
    customer_name: str = "Test customer",
) -> dict[str, Any]:
    """One reply of the agent's live behaviour in a conversation held by the caller (the admin
    page), without a session: returns the reply, its explanation, the trace, the conversation
    items the turn added and the agent state to send back with the next message."""
    from quality.suite import SuiteError, parse_conversation
    from sessions_app.engine_adapter import engine as product_engine
    from sessions_app.engine_adapter import from_agent_state, to_agent_state

    try:
        items = parse_conversation(conversation, source="chat")
    except SuiteError as error:
        raise ValueError("; ".join(error.problems)) from None
    snapshot = behavior_snapshot(agent_id=agent_id)
    test = BehaviorTest(name="chat", message=message, conversation=items)
    turn_input = replace(
        build_turn_input(snapshot, test, CustomerSpec(name=customer_name)),
        state=to_agent_state(state or {}),
    )
    sink = InMemorySink(start_offset=len(turn_input.events))
    engine = product_engine(is_llm_free=snapshot.agent.is_llm_free)
    outcome = async_to_sync(engine.process_turn)(turn_input, sink, NeverCancelled())
    added: list[dict[str, Any]] = []
    for event in sink.events:
        if event.kind == engine_types.EventKind.TOOL:
            added.append(
                {
                    "tool": [
                        {
                            "tool": call.get("tool_id", ""),
                            "arguments": call.get("arguments", {}),
                            "result": (call.get("result") or {}).get("data"),
                        }
                        for call in event.data.get("tool_calls", [])
                    ]
                }
            )
        elif event.kind == engine_types.EventKind.MESSAGE:
            added.append({"agent": str(event.data.get("message", ""))})
    return {
        "reply": sink.messages,
        "explanation": _explain(outcome.trace, snapshot),
        "trace": json.loads(json.dumps(outcome.trace, default=str)),
        "added": added,
        "state": from_agent_state(outcome.state),
        "handoff": outcome.session_mode == engine_types.SessionMode.MANUAL,
    }
