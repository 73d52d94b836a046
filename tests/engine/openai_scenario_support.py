"""Scripted models for engine scenarios over OpenAI's wire format.

A `ScenarioModel` is a ScriptedOpenAI chat handler. Like a real model it sees only the prompt the
engine rendered (engine/prompts.py), so it parses it: guidelines `[g<n>] condition: …`, journeys
`[j<n>]` with their transitions `[t<n>] from -> to when: …`, tools `[tool_id] … | parameters: …`,
tool results, instructions, missing arguments and approved responses. Each scenario supplies the
judgement (`decide`), and may supply the writing (`write`) and the template choice (`choose`);
a test then checks what the engine did with those answers. Local ids are mapped back by the text
they stand for, never assumed, so a scenario breaks loudly if the engine lists something else.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import prompts

HEADER = re.compile(r"^(?P<name>[A-Z][A-Z ]*[A-Z])(?: \([^)]*\))?:(?P<rest>.*)$")
GUIDELINE_LINE = re.compile(
    r"^\[(?P<id>g\d+)\](?P<flags>(?: \[[A-Z-]+\])*) condition: (?P<condition>.*?)"
    r"(?: \| action: (?P<action>.*)| \| observation)$"
)
JOURNEY_LINE = re.compile(
    r"^\[(?P<id>j\d+)\] (?P<title>.*?): .*\| activates when: (?P<conditions>.*?) "
    r"\| current step: (?P<current>.*?) \| visited: (?P<visited>.*)$"
)
STEP_LINE = re.compile(r"^  step (?P<id>\S+): (?P<what>.*)$")
TRANSITION_LINE = re.compile(
    r"^  \[(?P<id>t\d+)\] (?P<source>\S+) -> (?P<target>\S+) when: (?P<condition>.*)$"
)
TOOL_LINE = re.compile(
    r"^\[(?P<id>[^\]]+)\] (?P<description>.*?) \| parameters: (?P<parameters>.*?) "
    r"\| used by: (?P<used_by>.*)$"
)
PARAMETER = re.compile(
    r"(?P<name>\w+): (?P<type>string|integer|number|boolean|date|datetime|list of \w+)"
    r"(?: one of (?P<enum>\[[^\]]*\]))?(?P<optional> \(optional(?:, default [^)]*)?\))?"
)
TOOL_RESULT_LINE = re.compile(r"^- (?P<new>NEW )?(?P<id>[\w.-]+)\(")
INSTRUCTION_LINE = re.compile(r"^\d+\. When (?P<condition>.*?), then (?P<action>.*)$")
TEMPLATE_LINE = re.compile(r"^\[(?P<id>[^\]]+)\] (?P<text>.*)$")
JUDGE_COUNT = re.compile(r"^Judge every guideline listed \((?P<guidelines>\d+)\)", re.M)


def sections(prompt: str) -> dict[str, list[str]]:
    """Lines under each upper-case header ("TOOLS", "APPROVED RESPONSES", …), header rest first."""
    found: dict[str, list[str]] = {}
    current: list[str] = found.setdefault("", [])
    for line in prompt.splitlines():
        header = HEADER.match(line)
        if header:
            current = found.setdefault(header.group("name"), [])
            current.append(header.group("rest").strip())
        else:
            current.append(line)
    return found


@dataclass(frozen=True)
class ToolResultView:
    tool_id: str
    arguments: dict[str, Any]
    data: Any
    is_new: bool


def _tool_results(found: Mapping[str, list[str]]) -> list[ToolResultView]:
    """`- NEW tool_id({arguments}) -> data`, both in JSON."""
    decoder = json.JSONDecoder()
    results = []
    for line in found.get("TOOL RESULTS", []):
        if match := TOOL_RESULT_LINE.match(line):
            arguments, end = decoder.raw_decode(line, match.end())
            if not line.startswith(") -> ", end):
                raise AssertionError(f"unreadable tool result line: {line}")
            data, _ = decoder.raw_decode(line, end + len(") -> "))
            results.append(
                ToolResultView(
                    tool_id=match.group("id"),
                    arguments=arguments,
                    data=data,
                    is_new=bool(match.group("new")),
                )
            )
    return results


def _latest(found: Mapping[str, list[str]]) -> str:
    latest = found.get("LATEST CUSTOMER MESSAGE", ["(none)"])[0]
    return "" if latest == "(none)" else latest


# -- the decision prompt ----------------------------------------------------------------------


@dataclass(frozen=True)
class GuidelineView:
    id: str
    condition: str
    action: str  # "" for an observation
    flags: frozenset[str]


@dataclass(frozen=True)
class TransitionView:
    id: str
    source: str  # a step id or "START"
    target: str  # a step id or "END"
    condition: str  # "(always)" when unconditional


@dataclass
class JourneyView:
    id: str
    title: str
    current_step: str | None  # None: not started
    visited: list[str]
    steps: dict[str, str] = field(default_factory=dict)  # step id -> action or "tool …"
    left_at: str | None = None  # the step where the customer left the journey earlier
    transitions: list[TransitionView] = field(default_factory=list)

    def through(self, *step_ids: str, start: str | None = None) -> list[str]:
        """Local ids of the transitions that walk from `start` (default: where the journey is)
        through `step_ids` in order."""
        position = start or self.current_step or "START"
        taken = []
        for step_id in step_ids:
            transition = next(
                (t for t in self.transitions if t.source == position and t.target == step_id),
                None,
            )
            if transition is None:
                raise AssertionError(f"{self.title}: no transition {position} -> {step_id}")
            taken.append(transition.id)
            position = step_id
        return taken

    def move(
        self, *step_ids: str, backtrack_to: str = "", exit_journey: bool = False
    ) -> dict[str, Any]:
        """The journey entry of a decision: walk through `step_ids` (after `backtrack_to`)."""
        return {
            "id": self.id,
            "transitions": self.through(*step_ids, start=backtrack_to or None),
            "backtrack_to": backtrack_to,
            "exit": exit_journey,
        }


@dataclass(frozen=True)
class ParameterView:
    name: str
    type: str
    enum: tuple[str, ...]
    is_required: bool


@dataclass(frozen=True)
class ToolView:
    id: str
    description: str
    parameters: tuple[ParameterView, ...]
    used_by: tuple[str, ...]

    def parameter(self, name: str) -> ParameterView:
        return next(p for p in self.parameters if p.name == name)


@dataclass
class DecisionPrompt:
    """What a model reads from one `turn_decision` prompt."""

    text: str
    latest_message: str
    guidelines: list[GuidelineView]
    journeys: list[JourneyView]
    tools: list[ToolView]
    tool_results: list[ToolResultView]

    @classmethod
    def parse(cls, text: str) -> DecisionPrompt:
        found = sections(text)
        guidelines = [
            GuidelineView(
                id=match.group("id"),
                condition=match.group("condition"),
                action=match.group("action") or "",
                flags=frozenset(re.findall(r"\[([A-Z-]+)\]", match.group("flags"))),
            )
            for line in found.get("GUIDELINES", [])
            if (match := GUIDELINE_LINE.match(line))
        ]
        count = JUDGE_COUNT.search(text)
        if count is None or int(count.group("guidelines")) != len(guidelines):
            raise AssertionError("the decision prompt's guideline lines no longer parse")
        journeys: list[JourneyView] = []
        for line in found.get("JOURNEYS", []):
            if match := JOURNEY_LINE.match(line):
                current = match.group("current")
                visited = match.group("visited")
                journeys.append(
                    JourneyView(
                        id=match.group("id"),
                        title=match.group("title"),
                        current_step=(
                            None if current.startswith(("START", "LEFT at ")) else current
                        ),
                        visited=[] if visited == "-" else visited.split(", "),
                        left_at=current.removeprefix("LEFT at ")
                        if current.startswith("LEFT at ")
                        else None,
                    )
                )
            elif (match := STEP_LINE.match(line)) and journeys:
                journeys[-1].steps[match.group("id")] = match.group("what")
            elif (match := TRANSITION_LINE.match(line)) and journeys:
                journeys[-1].transitions.append(TransitionView(**match.groupdict()))
        tools = []
        for line in found.get("TOOLS", []):
            if match := TOOL_LINE.match(line):
                parameters = tuple(
                    ParameterView(
                        name=p.group("name"),
                        type=p.group("type"),
                        enum=tuple(ast.literal_eval(p.group("enum"))) if p.group("enum") else (),
                        is_required=not p.group("optional"),
                    )
                    for p in PARAMETER.finditer(match.group("parameters"))
                )
                tools.append(
                    ToolView(
                        id=match.group("id"),
                        description=match.group("description"),
                        parameters=parameters,
                        used_by=tuple(u.strip() for u in match.group("used_by").split(",")),
                    )
                )
        return cls(
            text=text,
            latest_message=_latest(found),
            guidelines=guidelines,
            journeys=journeys,
            tools=tools,
            tool_results=_tool_results(found),
        )

    @property
    def conditions(self) -> list[str]:
        return [g.condition for g in self.guidelines]

    def guideline(self, condition: str) -> GuidelineView:
        found = [g for g in self.guidelines if g.condition == condition]
        if len(found) != 1:
            raise AssertionError(f"{condition!r} is listed {len(found)} times")
        return found[0]

    def journey(self, title: str) -> JourneyView:
        return next(j for j in self.journeys if j.title == title)

    def tool(self, tool_id: str) -> ToolView:
        return next(t for t in self.tools if t.id == tool_id)

    def answer(
        self,
        applies: Mapping[str, str] | Iterable[str] = (),
        *,
        journeys: Sequence[Mapping[str, Any]] = (),
        tool_calls: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """A complete decision: every listed guideline judged, True for the conditions in
        `applies` (condition -> rationale), False with a rationale for the rest."""
        rationales = (
            dict(applies)
            if isinstance(applies, Mapping)
            else dict.fromkeys(applies, "the latest message says so")
        )
        for condition in rationales:
            if condition not in self.conditions:
                raise AssertionError(f"{condition!r} is not among the guidelines listed")
        return {
            "guidelines": [
                {
                    "id": g.id,
                    "rationale": rationales.get(g.condition, "not what the customer is on"),
                    "applies": g.condition in rationales,
                }
                for g in self.guidelines
            ],
            "journeys": [dict(item) for item in journeys],
            "tool_calls": [dict(call) for call in tool_calls],
        }


# -- the writing prompts ----------------------------------------------------------------------


@dataclass
class ComposePrompt:
    """What a model reads from a compose, canned-fluid, strict-canned or streaming prompt."""

    text: str
    schema_name: str
    latest_message: str
    instructions: list[tuple[str, str]]  # (condition, action), most important first
    missing: list[str]  # parameter names the reply must ask for
    templates: dict[str, str]  # approved response id -> rendered text
    style_references: list[str]
    tool_results: list[ToolResultView]

    @classmethod
    def parse(cls, text: str, schema_name: str) -> ComposePrompt:
        found = sections(text)
        instruction_lines = found.get("FOLLOW THESE INSTRUCTIONS", []) + found.get(
            "INSTRUCTIONS", []
        )
        missing_lines = found.get("ASK THE CUSTOMER FOR", []) + found.get(
            "THE CUSTOMER STILL HAS TO GIVE", []
        )
        return cls(
            text=text,
            schema_name=schema_name,
            latest_message=_latest(found),
            instructions=[
                (match.group("condition"), match.group("action"))
                for line in instruction_lines
                if (match := INSTRUCTION_LINE.match(line))
            ],
            missing=[
                line[2:].split(":")[0].strip() for line in missing_lines if line.startswith("- ")
            ],
            templates={
                match.group("id"): match.group("text")
                for line in found.get("APPROVED RESPONSES", [])
                if (match := TEMPLATE_LINE.match(line))
            },
            style_references=[
                line[2:] for line in found.get("STYLE REFERENCES", []) if line.startswith("- ")
            ],
            tool_results=_tool_results(found),
        )

    @property
    def actions(self) -> list[str]:
        return [action for _, action in self.instructions]


def write_from_instructions(prompt: ComposePrompt) -> str:
    """What a dutiful model writes: each instruction carried out, then the missing questions."""
    sentences = [f"(I {action})." for action in prompt.actions]
    if prompt.missing:
        sentences.append(f"Could you tell me the {' and '.join(prompt.missing)}?")
    return " ".join(sentences) or "How can I help you today?"


def first_template(prompt: ComposePrompt) -> str:
    """The engine lists its best-ranked approved response first."""
    return next(iter(prompt.templates), "")


class ScenarioModel:
    """A ScriptedOpenAI chat handler answering each engine schema like a sensible model would.

    `decide(DecisionPrompt) -> dict` judges; `write(ComposePrompt) -> str` writes a message (also
    streamed); `choose(ComposePrompt) -> str` picks an approved response id ("" for none). Every
    parsed prompt is kept, in order, for the test to read.
    """

    def __init__(
        self,
        decide: Callable[[DecisionPrompt], Mapping[str, Any]] | None = None,
        *,
        write: Callable[[ComposePrompt], str] = write_from_instructions,
        choose: Callable[[ComposePrompt], str] = first_template,
        follow: Callable[[ComposePrompt], list[int]] | None = None,
    ) -> None:
        self.decide = decide or (lambda prompt: prompt.answer())
        self.write = write
        self.choose = choose
        # The instruction numbers the composing model says its message follows (None: it says
        # nothing, as an older model might).
        self.follow = follow
        self.decisions: list[DecisionPrompt] = []
        self.compositions: list[ComposePrompt] = []
        self.schema_names: list[str] = []  # of every request answered, in order

    def __call__(self, body: Mapping[str, Any]) -> str | dict[str, Any]:
        # The first user message is the engine's prompt; a repair request comes after it.
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
        schema_format = (body.get("response_format") or {}).get("json_schema") or {}
        schema_name = schema_format.get("name", prompts.STREAM_SCHEMA_NAME)
        self.schema_names.append(schema_name)
        if schema_name == prompts.DECISION_SCHEMA_NAME:
            decision = DecisionPrompt.parse(prompt)
            self.decisions.append(decision)
            return dict(self.decide(decision))
        composition = ComposePrompt.parse(prompt, schema_name)
        self.compositions.append(composition)
        if body.get("stream"):
            return self.write(composition)
        if schema_name == prompts.STRICT_CANNED_SCHEMA_NAME:
            return {"canned_response_id": self.choose(composition)}
        followed = (
            {} if self.follow is None else {"followed_instructions": self.follow(composition)}
        )
        if schema_name == prompts.CANNED_FLUID_SCHEMA_NAME:
            chosen = self.choose(composition)
            text = composition.templates.get(chosen) or self.write(composition)
            return {"canned_response_id": chosen, "message": text, **followed}
        return {"message": self.write(composition), **followed}
