"""The behaviour-test file format: parsing and validation into plain dataclasses.

A suite names its agent (an existing one by id, or behaviour inline in the export format of
`behavior/transfer.py`), a customer, and tests. Each test gives the conversation so far, the
customer's next message and what the reply's turn must show. The README documents the format.

Every problem is reported with the file, the test and the field it concerns, so an editor or a
CI log points straight at the line to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUITE_KEYS = {"agent", "behavior", "behavior_file", "customer", "tests", "name"}
TEST_KEYS = {"name", "conversation", "journey_state", "message", "expect", "customer"}
CUSTOMER_KEYS = {"name", "tags", "variables"}
EXPECT_KEYS = {
    "guidelines_matched",
    "guidelines_not_matched",
    "journey",
    "tool_calls",
    "no_tool_call",
    "canned_response",
    "reply_contains",
    "reply_does_not_contain",
    "no_reply",
    "handoff",
    "criteria",
}
JOURNEY_KEYS = {"journey", "state", "ended"}
TURN_ROLES = ("customer", "agent", "tool")


class SuiteError(ValueError):
    """A suite that cannot run; the message names the file, the test and the field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class CustomerSpec:
    name: str = "Test customer"
    tags: tuple[str, ...] = ()
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConversationItem:
    role: str  # customer | agent | tool
    message: str = ""
    tool_calls: tuple[Mapping[str, Any], ...] = ()  # role tool: {tool, arguments, result}


@dataclass(frozen=True)
class JourneyExpectation:
    journey: str  # id or title
    state: str = ""  # id or the state's action text; empty: any state
    is_ended: bool = False


@dataclass(frozen=True)
class ToolCallExpectation:
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)  # a subset that must match


@dataclass(frozen=True)
class Expectations:
    guidelines_matched: tuple[str, ...] = ()
    guidelines_not_matched: tuple[str, ...] = ()
    journey: JourneyExpectation | None = None
    tool_calls: tuple[ToolCallExpectation, ...] = ()
    is_no_tool_call: bool = False
    canned_response: str = ""
    reply_contains: tuple[str, ...] = ()
    reply_does_not_contain: tuple[str, ...] = ()
    is_no_reply: bool = False
    handoff: bool | None = None
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class BehaviorTest:
    name: str
    message: str
    conversation: tuple[ConversationItem, ...] = ()
    journey_state: JourneyExpectation | None = None  # where the journey stands before the turn
    expect: Expectations = Expectations()
    customer: CustomerSpec | None = None  # overrides the suite's customer
    source: str = ""  # "file › test" for reports


@dataclass(frozen=True)
class Suite:
    name: str
    tests: tuple[BehaviorTest, ...]
    agent_id: str = ""
    behavior: Mapping[str, Any] | None = None  # an export document, loaded into a throwaway agent
    customer: CustomerSpec = CustomerSpec()
    source: str = ""


class _Checker:
    """Collects problems instead of stopping at the first, each prefixed with where it is."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    def text(self, value: Any, where: str, *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(where, "expected a non-empty text")
            return ""
        return value

    def texts(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(where, "expected a text or a list of texts")
            return ()
        return tuple(value)

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(where, f"expected a mapping, got {type(value).__name__}")
            return {}
        return value

    def keys(self, value: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in value:
            if key not in allowed:
                allowed_text = ", ".join(sorted(allowed))
                self.problem(where, f"unknown field {key!r} (allowed: {allowed_text})")

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.problem(where, "expected true or false")
            return False
        return value


def _customer(check: _Checker, value: Any, where: str) -> CustomerSpec:
    data = check.mapping(value, where)
    check.keys(data, CUSTOMER_KEYS, where)
    variables = check.mapping(data.get("variables", {}), f"{where}.variables")
    return CustomerSpec(
        name=check.text(data.get("name", "Test customer"), f"{where}.name"),
        tags=check.texts(data["tags"], f"{where}.tags") if "tags" in data else (),
        variables=variables,
    )


def _journey(check: _Checker, value: Any, where: str) -> JourneyExpectation | None:
    data = check.mapping(value, where)
    check.keys(data, JOURNEY_KEYS, where)
    journey = check.text(data.get("journey"), f"{where}.journey")
    is_ended = check.boolean(data["ended"], f"{where}.ended") if "ended" in data else False
    state = check.text(data.get("state"), f"{where}.state", required=False)
    if is_ended and state:
        check.problem(where, "give either a state or ended: true, not both")
    return JourneyExpectation(journey=journey, state=state, is_ended=is_ended) if journey else None


def _conversation(check: _Checker, value: Any, where: str) -> tuple[ConversationItem, ...]:
    if not isinstance(value, list):
        check.problem(where, "expected a list of turns ({customer: …}, {agent: …}, {tool: …})")
        return ()
    items = []
    for index, item in enumerate(value):
        here = f"{where}[{index}]"
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in TURN_ROLES:
            check.problem(here, "expected one of {customer: text}, {agent: text}, {tool: …}")
            continue
        ((role, content),) = item.items()
        if role != "tool":
            items.append(ConversationItem(role=role, message=check.text(content, f"{here}.{role}")))
            continue
        calls = content if isinstance(content, list) else [content]
        parsed = []
        for call_index, call in enumerate(calls):
            call_where = f"{here}.tool[{call_index}]"
            call = check.mapping(call, call_where)
            check.keys(call, {"tool", "arguments", "result"}, call_where)
            parsed.append(
                {
                    "tool_id": check.text(call.get("tool"), f"{call_where}.tool"),
                    "arguments": check.mapping(
                        call.get("arguments", {}), f"{call_where}.arguments"
                    ),
                    "result": {"data": call.get("result")},
                }
            )
        items.append(ConversationItem(role="tool", tool_calls=tuple(parsed)))
    return tuple(items)


def _tool_calls(check: _Checker, value: Any, where: str) -> tuple[ToolCallExpectation, ...]:
    if not isinstance(value, list):
        value = [value]
    calls = []
    for index, call in enumerate(value):
        here = f"{where}[{index}]"
        if isinstance(call, str):
            calls.append(ToolCallExpectation(tool=call))
            continue
        call = check.mapping(call, here)
        check.keys(call, {"tool", "arguments"}, here)
        calls.append(
            ToolCallExpectation(
                tool=check.text(call.get("tool"), f"{here}.tool"),
                arguments=check.mapping(call.get("arguments", {}), f"{here}.arguments"),
            )
        )
    return tuple(calls)


def _expectations(check: _Checker, value: Any, where: str) -> Expectations:
    data = check.mapping(value, where)
    check.keys(data, EXPECT_KEYS, where)
    if not data:
        check.problem(where, "expected at least one expectation")

    def texts(key: str) -> tuple[str, ...]:
        return check.texts(data[key], f"{where}.{key}") if key in data else ()

    def flag(key: str) -> bool:
        return check.boolean(data[key], f"{where}.{key}") if key in data else False

    expectations = Expectations(
        guidelines_matched=texts("guidelines_matched"),
        guidelines_not_matched=texts("guidelines_not_matched"),
        journey=_journey(check, data["journey"], f"{where}.journey") if "journey" in data else None,
        tool_calls=_tool_calls(check, data["tool_calls"], f"{where}.tool_calls")
        if "tool_calls" in data
        else (),
        is_no_tool_call=flag("no_tool_call"),
        canned_response=check.text(data["canned_response"], f"{where}.canned_response")
        if "canned_response" in data
        else "",
        reply_contains=texts("reply_contains"),
        reply_does_not_contain=texts("reply_does_not_contain"),
        is_no_reply=flag("no_reply"),
        handoff=check.boolean(data["handoff"], f"{where}.handoff") if "handoff" in data else None,
        criteria=texts("criteria"),
    )
    if expectations.is_no_tool_call and expectations.tool_calls:
        check.problem(where, "no_tool_call contradicts tool_calls")
    if expectations.is_no_reply and (expectations.reply_contains or expectations.canned_response):
        check.problem(where, "no_reply contradicts reply_contains / canned_response")
    return expectations


def parse_test(check: _Checker, value: Any, where: str) -> BehaviorTest | None:
    data = check.mapping(value, where)
    if not data:
        return None
    name = data.get("name")
    if isinstance(name, str) and name.strip():
        where = f"test {name!r}"
    check.keys(data, TEST_KEYS, where)
    test = BehaviorTest(
        name=check.text(name, f"{where}.name"),
        message=check.text(data.get("message"), f"{where}.message"),
        conversation=_conversation(check, data.get("conversation", []), f"{where}.conversation"),
        journey_state=_journey(check, data["journey_state"], f"{where}.journey_state")
        if "journey_state" in data
        else None,
        expect=_expectations(check, data.get("expect"), f"{where}.expect"),
        customer=_customer(check, data["customer"], f"{where}.customer")
        if "customer" in data
        else None,
        source=f"{check.source} › {name}",
    )
    if test.journey_state is not None and test.journey_state.is_ended:
        check.problem(f"{where}.journey_state", "a test starts in a state, not in an ended journey")
    return test


def parse_suite(data: Any, *, source: str, base_dir: Path | None = None) -> Suite:
    """Validate a parsed suite document; SuiteError lists every problem found."""
    check = _Checker(source)
    data = check.mapping(data, "suite")
    check.keys(data, SUITE_KEYS, "suite")
    sources = [key for key in ("agent", "behavior", "behavior_file") if key in data]
    if len(sources) != 1:
        check.problem("suite", "give exactly one of agent (an id), behavior or behavior_file")
    behavior = None
    if "behavior" in data:
        behavior = check.mapping(data["behavior"], "suite.behavior")
    elif "behavior_file" in data:
        path = Path(check.text(data["behavior_file"], "suite.behavior_file"))
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            behavior = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            check.problem("suite.behavior_file", f"cannot read {path}: {error}")
    if behavior is not None:
        from behavior.transfer import FORMAT

        if not isinstance(behavior, dict) or behavior.get("format") != FORMAT:
            check.problem("suite.behavior", f"expected an export document (format: {FORMAT})")
    raw_tests = data.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        check.problem("suite.tests", "expected a non-empty list of tests")
        raw_tests = []
    tests = [parse_test(check, item, f"tests[{index}]") for index, item in enumerate(raw_tests)]
    names = [test.name for test in tests if test is not None]
    for duplicate in sorted({name for name in names if names.count(name) > 1}):
        check.problem(f"test {duplicate!r}", "two tests have this name")
    if check.problems:
        raise SuiteError(check.problems)
    return Suite(
        name=data.get("name") or source,
        tests=tuple(test for test in tests if test is not None),
        agent_id=data.get("agent", "") if isinstance(data.get("agent"), str) else "",
        behavior=behavior,
        customer=_customer(check, data["customer"], "suite.customer")
        if "customer" in data
        else CustomerSpec(),
        source=source,
    )


def load_suite_text(text: str, *, source: str, base_dir: Path | None = None) -> Suite:
    """Parse YAML (JSON is accepted: it is YAML too) and validate it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SuiteError([f"{source}: not valid YAML or JSON: {error}"]) from None
    return parse_suite(data, source=source, base_dir=base_dir)


def load_suite_file(path: Path) -> Suite:
    try:
        text = path.read_text()
    except OSError as error:
        raise SuiteError([f"{path}: cannot read: {error.strerror}"]) from None
    return load_suite_text(text, source=str(path), base_dir=path.parent)


def validate_test_definition(definition: Any, *, source: str) -> BehaviorTest:
    """One stored test (the admin keeps tests one by one, in the same format)."""
    check = _Checker(source)
    test = parse_test(check, definition, "test")
    if check.problems or test is None:
        raise SuiteError(check.problems or [f"{source}: test: expected a mapping"])
    return test


def parse_conversation(value: Any, *, source: str) -> tuple[ConversationItem, ...]:
    """A conversation in the file format (the admin's test chat sends one); SuiteError if bad."""
    check = _Checker(source)
    items = _conversation(check, value, "conversation")
    if check.problems:
        raise SuiteError(check.problems)
    return items
