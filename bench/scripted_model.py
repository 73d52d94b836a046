"""A scripted model that follows the scenario's decision rule, served over OpenAI's wire format.

`ScenarioModel` is a ScriptedOpenAI chat handler. It reads the engine's prompts as text, as a
model would (engine/prompts.py: guidelines as `[id] condition: … | action: …`, journeys with
`  [tid] from -> to when: …` transitions, tools as `[tool_id] … | parameters: … | used by: …`,
and `LATEST CUSTOMER MESSAGE: …`), decides by the rule, and answers with JSON for the requested
schema. Composition calls get one short fixed sentence; a strict-canned choice gets the first
approved response listed (the engine lists its best-ranked first).

`TimedScriptedOpenAI` records when each request started and finished on the server, and can hold
every chat completion for a fixed model latency, so that turn time splits into model and engine.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.decision_rule import DecisionRule
from tests.support.scripted_openai import ChatHandler, ScriptedOpenAI, minimal_instance

FIXED_REPLY = "Thank you, I can help you with that."
DECISION_SCHEMA_NAMES = frozenset({"turn_decision"})

LATEST_PATTERN = re.compile(r"^LATEST CUSTOMER MESSAGE: (.*)$", re.M)
GUIDELINE_PATTERN = re.compile(
    r"^\[(?P<id>[^\]\s]+)\](?: \[[A-Z-]+\])* condition: (?P<condition>.*?)"
    r"(?: \| action: .*| \| observation)?$"
)
JOURNEY_PATTERN = re.compile(
    r"^\[(?P<id>[^\]\s]+)\] .*?\| activates when: (?P<conditions>.*?) "
    r"\| current step: (?P<current>.*?) \| visited: (?P<visited>.*)$"
)
STEP_PATTERN = re.compile(r"^\s+step (?P<id>\S+): (?P<what>.*)$")
TRANSITION_PATTERN = re.compile(
    r"^\s+\[(?P<id>[^\]\s]+)\] (?P<source>\S+) -> (?P<target>\S+) when: (?P<condition>.*)$"
)
TOOL_PATTERN = re.compile(
    r"^\[(?P<id>[^\]\s]+)\] (?P<description>.*?) \| parameters: (?P<parameters>.*?) "
    r"\| used by: (?P<used_by>.*)$"
)
PARAMETER_PATTERN = re.compile(
    r"(?P<name>\w+): (?P<type>string|integer|number|boolean)"
    r"(?: one of (?P<enum>\[.*?\]))?(?P<optional> \(optional\))?(?: - (?P<description>.*?))?"
    r"(?=, \w+: (?:string|integer|number|boolean)|$)"
)
TOOL_RESULT_PATTERN = re.compile(r"^- (?:NEW )?(?P<id>[\w.-]+)\(")
TEMPLATE_PATTERN = re.compile(r"^\[(?P<id>[^\]\s]+)\] ")
# The decision prompt's closing line says how many items it listed; a parser that finds another
# number has fallen behind a change of engine/prompts.py and must not decide silently.
JUDGE_COUNT_PATTERN = re.compile(
    r"^Judge every guideline listed \((?P<guidelines>\d+)\) "
    r"and every journey \((?P<journeys>\d+)\)",
    re.M,
)
NOT_STARTED = "START"
UNCONDITIONAL = "(always)"
END = "END"


@dataclass
class ParameterView:
    name: str
    type: str
    description: str = ""
    enum: list[str] = field(default_factory=list)
    is_required: bool = True


@dataclass
class ToolView:
    id: str
    description: str
    parameters: list[ParameterView]
    used_by: list[str]


@dataclass
class TransitionView:
    id: str
    source: str
    target: str
    condition: str  # "" when unconditional


@dataclass
class JourneyView:
    id: str
    conditions: list[str]
    current_step: str | None  # None: not started
    tool_steps: set[str] = field(default_factory=set)
    transitions: list[TransitionView] = field(default_factory=list)


@dataclass
class DecisionPrompt:
    """What a model reads from one decision prompt."""

    latest_message: str
    guidelines: list[tuple[str, str]]  # (local id, condition)
    journeys: list[JourneyView]
    tools: list[ToolView]
    tool_results: list[tuple[str, dict[str, Any]]]  # (tool id, arguments) already run


def parse_decision_prompt(prompt: str) -> DecisionPrompt:
    latest = LATEST_PATTERN.search(prompt)
    parsed = DecisionPrompt(
        latest_message=latest.group(1).strip() if latest else "",
        guidelines=[],
        journeys=[],
        tools=[],
        tool_results=[],
    )
    if parsed.latest_message == "(none)":
        parsed.latest_message = ""
    section = ""
    for line in prompt.splitlines():
        header = re.match(r"^([A-Z][A-Z ]+)(?: \([^)]*\))?:", line)
        if header:
            section = header.group(1)
        if section == "TOOL RESULTS" and (match := TOOL_RESULT_PATTERN.match(line)):
            try:
                arguments, _ = json.JSONDecoder().raw_decode(line, match.end())
            except json.JSONDecodeError:
                arguments = {}
            parsed.tool_results.append((match.group("id"), arguments))
        elif section == "GUIDELINES" and (match := GUIDELINE_PATTERN.match(line)):
            parsed.guidelines.append((match.group("id"), match.group("condition")))
        elif section == "JOURNEYS" and (match := JOURNEY_PATTERN.match(line)):
            current = match.group("current")
            parsed.journeys.append(
                JourneyView(
                    id=match.group("id"),
                    conditions=match.group("conditions").split(" OR "),
                    current_step=None if current.startswith(NOT_STARTED) else current,
                )
            )
        elif section == "JOURNEYS" and parsed.journeys and (match := STEP_PATTERN.match(line)):
            if match.group("what").startswith("tool "):
                parsed.journeys[-1].tool_steps.add(match.group("id"))
        elif (
            section == "JOURNEYS" and parsed.journeys and (match := TRANSITION_PATTERN.match(line))
        ):
            condition = match.group("condition").strip()
            parsed.journeys[-1].transitions.append(
                TransitionView(
                    id=match.group("id"),
                    source=match.group("source"),
                    target=match.group("target"),
                    condition="" if condition == UNCONDITIONAL else condition,
                )
            )
        elif section == "TOOLS" and (match := TOOL_PATTERN.match(line)):
            parsed.tools.append(
                ToolView(
                    id=match.group("id"),
                    description=match.group("description"),
                    parameters=_parameters(match.group("parameters")),
                    used_by=[u.strip() for u in match.group("used_by").split(",") if u.strip()],
                )
            )
    return parsed


def _parameters(text: str) -> list[ParameterView]:
    if text.strip() == "-":
        return []
    parameters = []
    for match in PARAMETER_PATTERN.finditer(text):
        enum: list[str] = []
        if match.group("enum"):
            try:
                enum = [str(value) for value in json.loads(match.group("enum").replace("'", '"'))]
            except json.JSONDecodeError:
                enum = []
        parameters.append(
            ParameterView(
                name=match.group("name"),
                type=match.group("type"),
                description=match.group("description") or "",
                enum=enum,
                is_required=not match.group("optional"),
            )
        )
    return parameters


class PromptFormatChanged(Exception):  # noqa: N818 - names the situation, not an error kind
    """engine/prompts.py changed in a way this parser does not follow yet."""


def check_parsed(prompt: str, parsed: DecisionPrompt) -> None:
    if not LATEST_PATTERN.search(prompt):
        raise PromptFormatChanged("no 'LATEST CUSTOMER MESSAGE:' line in the decision prompt")
    counts = JUDGE_COUNT_PATTERN.search(prompt)
    if counts is None:
        return
    expected = (int(counts.group("guidelines")), int(counts.group("journeys")))
    found = (len(parsed.guidelines), len(parsed.journeys))
    if found != expected:
        raise PromptFormatChanged(
            f"the prompt lists {expected[0]} guidelines and {expected[1]} journeys, the parser "
            f"found {found[0]} and {found[1]}: update bench/scripted_model.py"
        )


class ScenarioModel:
    """Decides every decision prompt by the rule; see the module docstring."""

    def __init__(self, rule: DecisionRule) -> None:
        self.rule = rule

    def __call__(self, body: dict[str, Any]) -> str | dict[str, Any]:
        prompt = _first_user_prompt(body)
        response_format = body.get("response_format") or {}
        if response_format.get("type") != "json_schema":
            # Streaming or JSON mode: streaming wants text; JSON mode carries no schema name.
            if response_format.get("type") == "json_object":
                return self._json_mode_reply(body, prompt)
            return FIXED_REPLY
        schema_format = response_format.get("json_schema", {})
        return self.reply_for(
            schema_format.get("name", ""), schema_format.get("schema", {}), prompt
        )

    def reply_for(self, schema_name: str, schema: Mapping[str, Any], prompt: str) -> Any:
        if schema_name in DECISION_SCHEMA_NAMES:
            parsed = parse_decision_prompt(prompt)
            check_parsed(prompt, parsed)
            return self.decide(parsed)
        properties = schema.get("properties", {})
        reply = minimal_instance(schema)
        if "canned_response_id" in properties and "message" not in properties:
            reply["canned_response_id"] = _first_template_id(prompt)
        if "message" in properties:
            reply["message"] = FIXED_REPLY
        return reply

    def _json_mode_reply(self, body: dict[str, Any], prompt: str) -> Any:
        for message in body.get("messages", []):
            text = message.get("content") if isinstance(message.get("content"), str) else ""
            if message.get("role") == "system" and "schema" in text:
                schema = json.loads(text[text.index("{") :])
                name = "turn_decision" if "tool_calls" in schema.get("properties", {}) else ""
                return self.reply_for(name, schema, prompt)
        return {}

    def decide(self, prompt: DecisionPrompt) -> dict[str, Any]:
        latest = prompt.latest_message
        verdicts = []
        applying: set[str] = set()
        for local_id, condition in prompt.guidelines:
            shared = self.rule.shared(condition, latest)
            if shared:
                applying.add(local_id)
            verdicts.append(
                {
                    "id": local_id,
                    "rationale": f"shares {', '.join(shared)}" if shared else "shares no word",
                    "applies": bool(shared),
                }
            )
        return self._answer(prompt, verdicts, applying, latest)

    def _answer(
        self,
        prompt: DecisionPrompt,
        verdicts: list[dict[str, Any]],
        applying: set[str],
        latest: str,
    ) -> dict[str, Any]:
        """The decision: the verdicts, each journey walked, and the tool calls they enable."""
        journeys = []
        reached_tool_steps: set[str] = set()
        for journey in prompt.journeys:
            taken, position = self._walk(journey, latest)
            journeys.append({"id": journey.id, "transitions": taken, "exit": False})
            if position in journey.tool_steps:
                reached_tool_steps.add(f"{journey.id}:{position}")
        return {
            "guidelines": verdicts,
            "journeys": journeys,
            "tool_calls": self._tool_calls(prompt, applying | reached_tool_steps),
        }

    def holds(self, condition: str, latest: str) -> bool:
        return self.rule.holds(condition, latest)

    def _walk(self, journey: JourneyView, latest: str) -> tuple[list[str], str | None]:
        """Transitions to take now and where they lead (None: the journey stays off).

        Not started: it starts only if an activation condition holds, through START's first
        transition that is unconditional or holds. From a step, a transition is taken only if
        its condition holds (an unconditional one means the step's own action is still to do),
        and the walk goes on while conditions hold (the customer answered ahead), stopping at
        a tool step or the end.
        """
        position = journey.current_step
        if position is None:
            if not any(self.holds(c, latest) for c in journey.conditions):
                return [], None
            position = NOT_STARTED
        taken: list[str] = []
        for _ in range(len(journey.transitions) + 1):
            if position == END or position in journey.tool_steps:
                break
            options = [t for t in journey.transitions if t.source == position]
            chosen = next(
                (
                    t
                    for t in options
                    if (position == NOT_STARTED and not t.condition)
                    or (t.condition and self.holds(t.condition, latest))
                ),
                None,
            )
            if chosen is None:
                break
            taken.append(chosen.id)
            position = chosen.target
        return taken, position

    def _tool_calls(self, prompt: DecisionPrompt, enabled_by: set[str]) -> list[dict[str, Any]]:
        calls = []
        for tool in prompt.tools:
            if not enabled_by & set(tool.used_by):
                continue
            arguments: dict[str, Any] = {}
            missing: list[str] = []
            for parameter in tool.parameters:
                found = self.rule.value_words(
                    prompt.latest_message,
                    parameter_name=parameter.name,
                    parameter_type=parameter.type,
                    hints=[tool.description, parameter.description, *parameter.enum],
                    name_words=[tool.id.replace("_", " "), parameter.name.replace("_", " ")],
                )
                if found:
                    arguments[parameter.name] = " ".join(found)
                elif parameter.is_required:
                    missing.append(parameter.name)
            if not missing and (tool.id, arguments) in prompt.tool_results:
                continue  # the prompt says not to repeat a call whose result is in
            calls.append({"tool_id": tool.id, "arguments": arguments, "missing": missing})
        return calls


class LabelledModel(ScenarioModel):
    """Decides by the labels of a labelled conversation (the scenario's `semantic_conversation`):
    a condition holds when it is labelled for the turn whose message is the latest one, and tool
    arguments are the labelled values. A turn's labels are found by its message text."""

    def __init__(self, turns: Sequence[Mapping[str, Any]]) -> None:
        self.turns = {turn["message"]: turn for turn in turns}

    def labelled(self, latest: str) -> set[str]:
        turn = self.turns.get(latest, {})
        return {
            *turn.get("applies", ()),
            *turn.get("journey_conditions", ()),
            *turn.get("transitions", ()),
        }

    def holds(self, condition: str, latest: str) -> bool:
        return condition in self.labelled(latest)

    def decide(self, prompt: DecisionPrompt) -> dict[str, Any]:
        labelled = self.labelled(prompt.latest_message)
        verdicts = [
            {
                "id": local_id,
                "rationale": "labelled" if condition in labelled else "not labelled",
                "applies": condition in labelled,
            }
            for local_id, condition in prompt.guidelines
        ]
        applying = {local_id for local_id, condition in prompt.guidelines if condition in labelled}
        return self._answer(prompt, verdicts, applying, prompt.latest_message)

    def _tool_calls(self, prompt: DecisionPrompt, enabled_by: set[str]) -> list[dict[str, Any]]:
        labelled = self.turns.get(prompt.latest_message, {}).get("tool_arguments", {})
        calls = []
        for tool in prompt.tools:
            if not enabled_by & set(tool.used_by):
                continue
            arguments = dict(labelled.get(tool.id, {}))
            missing = [p.name for p in tool.parameters if p.is_required and p.name not in arguments]
            if not missing and (tool.id, arguments) in prompt.tool_results:
                continue
            calls.append({"tool_id": tool.id, "arguments": arguments, "missing": missing})
        return calls


def _first_user_prompt(body: Mapping[str, Any]) -> str:
    for message in body.get("messages", []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def _first_template_id(prompt: str) -> str:
    lines = prompt.splitlines()
    try:
        start = lines.index("APPROVED RESPONSES:") + 1
    except ValueError:
        return ""
    for line in lines[start:]:
        if match := TEMPLATE_PATTERN.match(line):
            return match.group("id")
        if not line.strip():
            break
    return ""


@dataclass(frozen=True)
class TimedRequest:
    path: str
    body: Mapping[str, Any]
    reply: str  # chat: the content sent back; other endpoints: ""
    started: float  # time.perf_counter() on the server, same clock as the caller's
    finished: float


class TimedScriptedOpenAI(ScriptedOpenAI):
    """ScriptedOpenAI that timestamps every request and can add a fixed model latency."""

    def __init__(
        self, chat_handler: ChatHandler, *, model_latency_ms: float = 0.0, **options: Any
    ) -> None:
        if model_latency_ms < 0:
            raise ValueError(f"model_latency_ms must not be negative, got {model_latency_ms}")
        self._inner_handler = chat_handler
        super().__init__(self._answer_chat, **options)
        self.model_latency_seconds = model_latency_ms / 1000
        self._current = threading.local()  # one request per server thread at a time
        self._timed: list[TimedRequest] = []
        self._timed_lock = threading.Condition()
        self._in_flight = 0

    @property
    def timed_requests(self) -> list[TimedRequest]:
        with self._timed_lock:
            return list(self._timed)

    def wait_until_idle(self, timeout_seconds: float = 10.0) -> None:
        """Wait until every request that reached the server is recorded.

        The client can read a response and move on before the server thread has appended its
        record, so a caller that has all its answers must wait here before reading
        `timed_requests`, or a request would be counted in the next turn (or lost).
        """
        with self._timed_lock:
            if not self._timed_lock.wait_for(lambda: self._in_flight == 0, timeout_seconds):
                raise TimeoutError(f"{self._in_flight} request(s) still in flight")

    def _answer_chat(self, body: dict[str, Any]) -> str | dict[str, Any]:
        self._current.body = body
        if self.model_latency_seconds and self._closing.wait(self.model_latency_seconds):
            return ""  # shutting down
        reply = self._inner_handler(body)
        self._current.reply = reply if isinstance(reply, str) else json.dumps(reply)
        return reply

    def _embeddings(self, handler: Any, body: dict[str, Any], fault: None) -> None:
        self._current.body = body
        super()._embeddings(handler, body, fault)

    def _respond(self, handler: Any) -> None:
        # Without TCP_NODELAY the body, written after the headers, waits for the client's
        # delayed ACK (~40 ms on Linux): time no real model endpoint adds, and that would land
        # in "engine time" since the server has already stopped its clock.
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._current.body = {}
        self._current.reply = ""
        with self._timed_lock:
            self._in_flight += 1
        started = time.perf_counter()
        try:
            super()._respond(handler)
        finally:
            record = TimedRequest(
                path=urlsplit(handler.path).path,
                body=self._current.body,
                reply=self._current.reply,
                started=started,
                finished=time.perf_counter(),
            )
            with self._timed_lock:
                self._timed.append(record)
                self._in_flight -= 1
                self._timed_lock.notify_all()


def merge_overlapping(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Intervals that overlap in time merged into one: each result is one sequential round."""
    merged: list[tuple[float, float]] = []
    for started, finished in sorted(intervals):
        if merged and started < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finished))
        else:
            merged.append((started, finished))
    return merged
