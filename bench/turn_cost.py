"""Per-turn LLM cost of the engine on the reference scenario, against a scripted model.

Usage: python bench/turn_cost.py [--scenario PATH] [--conversation semantic|lexical]
                                 [--guidelines 20|50|200|260] [--mode fluid|strict_canned]
                                 [--model-latency-ms 0] [--warmup-runs 1] [--json PATH] [--all]

It builds the reference scenario (bench/reference_scenario.json) as engine inputs, starts a
scripted OpenAI-compatible server on 127.0.0.1 and plays a conversation through
Engine.process_turn with the real OpenAI provider over HTTP, carrying events and agent state
across turns as the Django adapter does. The server's /v1/embeddings answers with the local
sentence model (engine/nlp/embedding.py), so narrowing by meaning works as with a real one.

- `--conversation semantic` (the default): the scenario's labelled `semantic_conversation`, in
  which the customer says what they mean in their own words; the scripted model decides by the
  labels (bench/scripted_model.py LabelledModel) and recall is measured against them.
- `--conversation lexical`: the original conversation and its word-overlap decision rule, a
  cost-only run (its recall says nothing about paraphrases: the rule shares the engine's words).

Per turn it counts:

- calls: chat completions (embedding calls are counted apart; the condition embeddings made when
  the behaviour is "saved" happen before the conversation and are reported as setup);
- rounds: sequential model rounds up to the reply (requests overlapping in time count as one);
- tokens: prompt tokens of every chat request, o200k_base (bpe-openai), and completion tokens;
- engine_ms: turn wall time minus the time the server spent answering (overlaps counted once);
  this includes the openai client's own work, which is in our process;
- recall: of the conditions that apply to the turn (semantic: the labelled guideline, journey
  and transition conditions; lexical: the guidelines the rule picks), the share that appeared
  in a decision prompt, i.e. survived the pre-LLM narrowing.

The last line printed is the average: `calls=… rounds=… tokens=… engine_ms=… recall=…` (recall
pooled over the turns). Above 20 guidelines the same mode also runs at 20 for comparison.
By default one unmeasured run of the conversation warms the process first, as a running worker
would be (connection pool, the engine's per-version caches); `--warmup-runs 0` shows a cold run.
`--all` runs every size in both modes and ends with the 20-guideline fluid average.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.decision_rule import DecisionRule  # noqa: E402
from bench.scenario import (  # noqa: E402
    GUIDELINE_COUNTS,
    SCENARIO_PATH,
    Scenario,
    build_snapshot,
    tool_registry,
)
from bench.scripted_model import (  # noqa: E402
    DECISION_SCHEMA_NAMES,
    LabelledModel,
    ScenarioModel,
    TimedRequest,
    TimedScriptedOpenAI,
    merge_overlapping,
    parse_decision_prompt,
)
from engine.engine import Engine  # noqa: E402
from engine.nlp.embedding import local_embed  # noqa: E402
from engine.nlp.openai import OpenAINLPService  # noqa: E402
from engine.types import (  # noqa: E402
    AgentSnapshot,
    AgentState,
    CompositionMode,
    EventKind,
    EventSource,
    NewEvent,
    SessionEvent,
    TurnInput,
    TurnOutcome,
)
from tests.engine.fakes import Cancellation, RecordingSink  # noqa: E402
from tests.support.scripted_openai import CHAT_PATH, EMBEDDINGS_PATH  # noqa: E402

MODES = {"fluid": CompositionMode.FLUID, "strict_canned": CompositionMode.STRICT_CANNED}
# text-embedding-3-small's size, so saved condition vectors look like the product's.
EMBEDDING_DIMENSIONS = 1536

TARGET_CALLS = 3.0
TARGET_ROUNDS = 2.0
TARGET_TOKENS_AT_20 = 6_000
TARGET_TOKENS_ABOVE_20 = 12_000
TARGET_ENGINE_MS = 20.0
TARGET_RECALL = 0.99

# From ../shared/bench/README.md: Parlant 3.3.2, mean per turn, null perceived-performance policy,
# engine time measured beyond a 1 s model. "turns" says which turns the figure averages.
PARLANT_REFERENCE: Mapping[tuple[int, str], Mapping[str, Any]] = {
    (20, "fluid"): {
        "turns": 6, "calls": "17.2", "rounds": "3.3", "tokens": "60,456", "engine_ms": "19",
    },
    (20, "strict_canned"): {
        "turns": 6, "calls": "18.2", "rounds": "3.3", "tokens": "63,230", "engine_ms": "19",
    },
    (50, "fluid"): {"turns": 3, "calls": "16.7", "rounds": "-", "tokens": "56k", "engine_ms": "-"},
    (200, "fluid"): {
        "turns": 3, "calls": "46.7", "rounds": "3.0-4.0", "tokens": "157,086",
        "engine_ms": "91-106",
    },
}  # fmt: skip


@functools.cache
def _encoding() -> Any:
    import bpe_openai  # the o200k_base tables ship with the package; tiktoken would download them

    return bpe_openai.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode_ordinary(text)) if text else 0


SECTION_HEADER = re.compile(r"^([A-Z][A-Z ]+[A-Z])(?: \([^)]*\))?:")


def section_tokens(prompt: str) -> dict[str, int]:
    """Tokens per prompt section (a section starts at an upper-case `HEADER:` line)."""
    sections: dict[str, list[str]] = {}
    name = "INSTRUCTIONS HEAD"
    for line in prompt.splitlines():
        if header := SECTION_HEADER.match(line):
            name = header.group(1)
        sections.setdefault(name, []).append(line)
    return {name: count_tokens("\n".join(lines)) for name, lines in sections.items()}


class TimedSink(RecordingSink):
    """RecordingSink that also notes when each event was emitted."""

    def __init__(self, start_offset: int = 0) -> None:
        super().__init__(start_offset)
        self.emitted_at: list[float] = []

    async def emit(self, event: NewEvent) -> int:
        offset = await super().emit(event)
        self.emitted_at.append(time.perf_counter())
        return offset

    def first_reply_at(self) -> float | None:
        for event, emitted_at in zip(self.events, self.emitted_at, strict=True):
            if event.kind == EventKind.MESSAGE and event.source == EventSource.AI_AGENT:
                return emitted_at
        return None


@dataclass
class CallMeasure:
    kind: str  # the response_format schema name, or "stream"
    started_ms: float  # from the start of the turn
    duration_ms: float
    prompt_tokens: int  # the messages' text
    completion_tokens: int
    is_before_reply: bool
    sections: dict[str, int]
    # The response_format schema: OpenAI bills it as input too; kept out of prompt_tokens so the
    # figure compares with Parlant's, whose schemas are not counted separately either.
    schema_tokens: int = 0


@dataclass
class TurnMeasure:
    number: int
    message: str
    calls: int
    embedding_calls: int
    rounds_before_reply: int
    rounds: int
    prompt_tokens: int
    completion_tokens: int
    wall_ms: float
    model_ms: float
    engine_ms: float
    applicable: list[str]
    reached: list[str]
    narrowed_away: list[str]
    recall: float | None  # None: no guideline applies to this message
    considered_in_prompt: int  # guidelines listed in the decision prompt(s)
    matched: list[str]
    journey_path: list[str]
    tool_calls: list[dict[str, Any]]
    reply: str
    call_details: list[CallMeasure]
    engine_own_ms: float  # what the engine's trace counts as its own (client time excluded)
    engine_trace_timing: dict[str, Any]
    # Engine time between model calls: before the first, between each two rounds, after the last.
    gaps_ms: list[float] = field(default_factory=list)
    engine_ms_samples: list[float] = field(default_factory=list)
    is_deterministic: bool = True  # counts equal in every repeat


@dataclass
class RunResult:
    guidelines: int
    mode: str
    model_latency_ms: float
    warmup_runs: int
    repeats: int
    setup: dict[str, Any]
    turns: list[TurnMeasure] = field(default_factory=list)

    def mean(self, attribute: str, turns: Sequence[TurnMeasure] | None = None) -> float:
        chosen = self.turns if turns is None else turns
        return sum(getattr(turn, attribute) for turn in chosen) / max(1, len(chosen))

    @property
    def recall(self) -> float:
        applicable = sum(len(turn.applicable) for turn in self.turns)
        reached = sum(len(turn.reached) for turn in self.turns)
        return reached / applicable if applicable else 1.0

    def averages(self, turns: Sequence[TurnMeasure] | None = None) -> dict[str, float]:
        return {
            "calls": self.mean("calls", turns),
            "embedding_calls": self.mean("embedding_calls", turns),
            "rounds": self.mean("rounds_before_reply", turns),
            "tokens": self.mean("prompt_tokens", turns),
            "completion_tokens": self.mean("completion_tokens", turns),
            "engine_ms": self.mean("engine_ms", turns),
            "recall": self.recall,
        }

    def average_line(self) -> str:
        a = self.averages()
        return (
            f"calls={a['calls']:.2f} rounds={a['rounds']:.2f} tokens={a['tokens']:.0f} "
            f"engine_ms={a['engine_ms']:.1f} recall={a['recall']:.3f}"
        )


class _Session:
    """Plays turns as the Django adapter does: events and AgentState carried from turn to turn."""

    def __init__(self, engine: Engine, snapshot: AgentSnapshot, scenario: Scenario, name: str):
        self.engine = engine
        self.snapshot = snapshot
        self.customer = scenario.customer()
        self.session_id = name
        self.events: list[SessionEvent] = []
        self.state = AgentState()

    def _append(self, kind: EventKind, source: EventSource, data: Mapping[str, Any]) -> None:
        self.events.append(
            SessionEvent(offset=len(self.events), kind=kind, source=source, data=dict(data))
        )

    async def say(self, text: str) -> tuple[TimedSink, TurnOutcome, float, float]:
        self._append(EventKind.MESSAGE, EventSource.CUSTOMER, {"message": text})
        sink = TimedSink(start_offset=len(self.events))
        turn = TurnInput(
            snapshot=self.snapshot,
            session_id=self.session_id,
            customer=self.customer,
            events=tuple(self.events),
            state=self.state,
            trace_id=f"{self.session_id}-{len(self.events)}",
        )
        started = time.perf_counter()
        outcome = await self.engine.process_turn(turn, sink, Cancellation())
        finished = time.perf_counter()
        for event in sink.events:
            self._append(event.kind, event.source, event.data)
        self.state = outcome.state
        return sink, outcome, started, finished


async def run_conversation(
    *,
    guidelines: int,
    mode: str,
    model_latency_ms: float = 0.0,
    warmup_runs: int = 1,
    repeats: int = 3,
    scenario: Scenario | None = None,
    conversation: str = "semantic",
) -> RunResult:
    scenario = scenario or Scenario.load()
    rule = DecisionRule(scenario.stopwords)
    if conversation == "semantic":
        turns = scenario.data["semantic_conversation"]["turns"]
        model: ScenarioModel = LabelledModel(turns)
        messages = [turn["message"] for turn in turns]
        labelled = [
            [*t["applies"], *t.get("journey_conditions", ()), *t.get("transitions", ())]
            for t in turns
        ]
    else:
        model = ScenarioModel(rule)
        messages = scenario.conversation
        labelled = [
            [g["condition"] for _, g in scenario.guideline_rows(guidelines)
             if rule.holds(g["condition"], message)]
            for message in messages
        ]  # fmt: skip
    with TimedScriptedOpenAI(
        model,
        model_latency_ms=model_latency_ms,
        embedding_dimensions=EMBEDDING_DIMENSIONS,
        embedder=local_embed,
    ) as server:
        # Generous: the scripted server embeds with the local model, slow on a busy machine.
        nlp = OpenAINLPService(api_key="bench", base_url=server.base_url, timeout_seconds=600.0)
        try:
            snapshot = await build_snapshot(
                scenario, guideline_count=guidelines, mode=MODES[mode], nlp=nlp
            )
            await asyncio.to_thread(server.wait_until_idle)
            setup_requests = server.timed_requests
            result = RunResult(
                guidelines=guidelines,
                mode=mode,
                model_latency_ms=model_latency_ms,
                warmup_runs=warmup_runs,
                repeats=repeats,
                setup={
                    "embedding_calls": sum(r.path == EMBEDDINGS_PATH for r in setup_requests),
                    "chat_calls": sum(r.path == CHAT_PATH for r in setup_requests),
                    "embedded_texts": sum(len(r.body.get("input", [])) for r in setup_requests),
                },
            )
            engine = Engine(nlp=nlp, tools=tool_registry(scenario))
            for run in range(warmup_runs):
                warmup = _Session(engine, snapshot, scenario, f"warmup_{run}")
                for message in messages:
                    await warmup.say(message)
            await asyncio.to_thread(server.wait_until_idle)
            samples: list[list[TurnMeasure]] = []
            for repeat in range(repeats):
                session = _Session(engine, snapshot, scenario, f"measured_{repeat}")
                measured = []
                for number, message in enumerate(messages, start=1):
                    first_request = len(server.timed_requests)
                    sink, outcome, started, finished = await session.say(message)
                    await asyncio.to_thread(server.wait_until_idle)
                    measured.append(
                        _measure_turn(
                            number=number,
                            message=message,
                            requests=server.timed_requests[first_request:],
                            sink=sink,
                            trace=outcome.trace,
                            state=outcome.state,
                            started=started,
                            finished=finished,
                            applicable=labelled[number - 1],
                        )
                    )
                samples.append(measured)
            result.turns = [_combine(list(repeated)) for repeated in zip(*samples, strict=True)]
        finally:
            await nlp.aclose()
    return result


def _combine(repeated: list[TurnMeasure]) -> TurnMeasure:
    """One turn measured in several runs: the counts of the first, the median of the times.

    The counts are deterministic (the scripted model decides by rule); times vary with whatever
    else the machine is doing, and the median keeps one disturbed run from moving the result.
    """
    first = repeated[0]
    signature = [(t.calls, t.rounds_before_reply, t.prompt_tokens, t.reached) for t in repeated]
    first.is_deterministic = all(item == signature[0] for item in signature)
    for name in ("wall_ms", "model_ms", "engine_ms", "engine_own_ms"):
        values = [getattr(turn, name) for turn in repeated]
        setattr(first, name, round(statistics.median(values), 2))
    if all(len(turn.gaps_ms) == len(first.gaps_ms) for turn in repeated):
        first.gaps_ms = [
            round(statistics.median(gap), 2)
            for gap in zip(*(turn.gaps_ms for turn in repeated), strict=True)
        ]
    first.engine_ms_samples = [turn.engine_ms for turn in repeated]
    return first


def _measure_turn(
    *,
    number: int,
    message: str,
    requests: Sequence[TimedRequest],
    sink: TimedSink,
    trace: Mapping[str, Any],
    state: AgentState,
    started: float,
    finished: float,
    applicable: list[str],
) -> TurnMeasure:
    reply_at = sink.first_reply_at() or finished
    chats = [r for r in requests if r.path == CHAT_PATH]
    calls: list[CallMeasure] = []
    in_prompt: set[str] = set()
    for request in chats:
        prompt = "\n\n".join(
            m["content"] if isinstance(m.get("content"), str) else json.dumps(m.get("content"))
            for m in request.body.get("messages", [])
        )
        response_format = request.body.get("response_format") or {}
        kind = response_format.get("json_schema", {}).get("name") or (
            "stream" if request.body.get("stream") else response_format.get("type", "text")
        )
        if kind in DECISION_SCHEMA_NAMES:
            parsed = parse_decision_prompt(prompt)
            in_prompt.update(condition for _, condition in parsed.guidelines)
            for journey in parsed.journeys:
                in_prompt.update(journey.conditions)
                in_prompt.update(t.condition for t in journey.transitions if t.condition)
        calls.append(
            CallMeasure(
                kind=kind,
                started_ms=round((request.started - started) * 1000, 2),
                duration_ms=round((request.finished - request.started) * 1000, 2),
                prompt_tokens=count_tokens(prompt),
                completion_tokens=count_tokens(request.reply),
                is_before_reply=request.started < reply_at,
                sections=section_tokens(prompt),
                schema_tokens=count_tokens(json.dumps(response_format.get("json_schema", ""))),
            )
        )
    rounds = merge_overlapping([(r.started, r.finished) for r in chats])
    busy = merge_overlapping([(r.started, r.finished) for r in requests])
    model_ms = sum(end - begin for begin, end in busy) * 1000
    edges = [started, *(t for interval in busy for t in interval), finished]
    gaps_ms = [round((edges[i + 1] - edges[i]) * 1000, 2) for i in range(0, len(edges), 2)]
    wall_ms = (finished - started) * 1000
    reached = [condition for condition in applicable if condition in in_prompt]
    tool_calls = [
        {"tool_id": t.get("tool_id"), "arguments": t.get("arguments"), **_tool_status(t)}
        for t in trace.get("tools", [])
    ]
    return TurnMeasure(
        number=number,
        message=message,
        calls=len(chats),
        embedding_calls=sum(r.path == EMBEDDINGS_PATH for r in requests),
        rounds_before_reply=sum(begin < reply_at for begin, _ in rounds),
        rounds=len(rounds),
        prompt_tokens=sum(call.prompt_tokens for call in calls),
        completion_tokens=sum(call.completion_tokens for call in calls),
        wall_ms=round(wall_ms, 2),
        model_ms=round(model_ms, 2),
        engine_ms=round(wall_ms - model_ms, 2),
        applicable=applicable,
        reached=reached,
        narrowed_away=[condition for condition in applicable if condition not in in_prompt],
        recall=len(reached) / len(applicable) if applicable else None,
        considered_in_prompt=sum(
            len(parse_decision_prompt(c).guidelines) for c in _decision_prompts(chats)
        ),
        matched=[m["id"] for m in trace.get("matched", [])],
        journey_path=list(next(iter(state.journey_paths.values()), ())),
        tool_calls=tool_calls,
        reply=next(iter(sink.messages), ""),
        call_details=calls,
        engine_own_ms=float(trace.get("timing", {}).get("engine_ms", 0.0)),
        engine_trace_timing=dict(trace.get("timing", {})),
        gaps_ms=gaps_ms,
    )


def _decision_prompts(chats: Sequence[TimedRequest]) -> list[str]:
    prompts = []
    for request in chats:
        response_format = request.body.get("response_format") or {}
        if response_format.get("json_schema", {}).get("name") in DECISION_SCHEMA_NAMES:
            prompts.append(_first_user_text(request.body))
    return prompts


def _first_user_text(body: Mapping[str, Any]) -> str:
    for message in body.get("messages", []):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def _tool_status(entry: Mapping[str, Any]) -> dict[str, Any]:
    if entry.get("skipped"):
        return {"skipped": entry["skipped"], "missing": entry.get("missing", [])}
    return {"ran": True}


# -- reporting ----------------------------------------------------------------------------------


def _out(line: str = "") -> None:
    print(line)  # noqa: T201 - a command-line report


def print_run(result: RunResult) -> None:
    _out(
        f"== reference scenario: {result.guidelines} guidelines, {result.mode}, model latency "
        f"{result.model_latency_ms:g} ms, {result.warmup_runs} warm-up run(s), times: median "
        f"of {result.repeats} run(s) =="
    )
    _out(
        f"setup (not a turn): {result.setup['embedding_calls']} embedding call(s) for "
        f"{result.setup['embedded_texts']} condition(s), {result.setup['chat_calls']} chat calls"
    )
    header = (
        f"{'turn':>4} {'calls':>5} {'emb':>3} {'rounds':>6} {'prompt_tok':>10} {'compl_tok':>9} "
        f"{'wall_ms':>8} {'model_ms':>8} {'engine_ms':>9} {'own_ms':>6} {'recall':>6}  "
        f"{'in_prompt':>9}  "
        f"calls (kind:tokens)  | missed | gaps_ms | journey"
    )
    _out(header)
    for turn in result.turns:
        recall = "-" if turn.recall is None else f"{turn.recall:.2f}"
        kinds = " ".join(f"{c.kind}:{c.prompt_tokens}" for c in turn.call_details)
        journey = ">".join(turn.journey_path) or "-"
        _out(
            f"{turn.number:>4} {turn.calls:>5} {turn.embedding_calls:>3} "
            f"{turn.rounds_before_reply:>6} {turn.prompt_tokens:>10} {turn.completion_tokens:>9} "
            f"{turn.wall_ms:>8.1f} {turn.model_ms:>8.1f} {turn.engine_ms:>9.1f} "
            f"{turn.engine_own_ms:>6.1f} {recall:>6}  {turn.considered_in_prompt:>9}  {kinds} | "
            f"{','.join(turn.narrowed_away) or '-'} | {'/'.join(f'{g:.1f}' for g in turn.gaps_ms)} "
            f"| {journey}"
        )
    averages = result.averages()
    _out(
        f"mean {averages['calls']:>5.2f} {averages['embedding_calls']:>3.1f} "
        f"{averages['rounds']:>6.2f} {averages['tokens']:>10.0f} "
        f"{averages['completion_tokens']:>9.0f} {result.mean('wall_ms'):>8.1f} "
        f"{result.mean('model_ms'):>8.1f} {averages['engine_ms']:>9.1f} "
        f"{result.mean('engine_own_ms'):>6.1f} {averages['recall']:>6.3f}"
    )
    if not all(turn.is_deterministic for turn in result.turns):
        _out("warning: counts differed between repeats; the first run's counts are shown")
    print_parlant(result)


def print_parlant(result: RunResult) -> None:
    reference = PARLANT_REFERENCE.get((result.guidelines, result.mode))
    if reference is None:
        _out(f"Parlant 3.3.2: no published figure for {result.guidelines} / {result.mode}")
        return
    ours = result.averages(result.turns[: reference["turns"]])
    which = "all 6 turns" if reference["turns"] == 6 else f"turns 1-{reference['turns']}"
    _out(
        f"Parlant 3.3.2 ({which}): calls={reference['calls']} rounds={reference['rounds']} "
        f"tokens={reference['tokens']} engine_ms={reference['engine_ms']} (beyond a 1 s model)"
    )
    _out(
        f"ours         ({which}): calls={ours['calls']:.2f} rounds={ours['rounds']:.2f} "
        f"tokens={ours['tokens']:,.0f} engine_ms={ours['engine_ms']:.1f} "
        f"(beyond a {result.model_latency_ms:g} ms model)"
    )


def target_checks(result: RunResult, baseline: RunResult | None) -> list[tuple[str, bool, str]]:
    """(target, met, measured) for one run; `baseline` is the same mode at 20 guidelines."""
    a = result.averages()
    checks = [
        (f"calls <= {TARGET_CALLS:g}", a["calls"] <= TARGET_CALLS, f"{a['calls']:.2f}"),
        (f"rounds <= {TARGET_ROUNDS:g}", a["rounds"] <= TARGET_ROUNDS, f"{a['rounds']:.2f}"),
        (
            f"engine_ms <= {TARGET_ENGINE_MS:g}",
            a["engine_ms"] <= TARGET_ENGINE_MS,
            f"{a['engine_ms']:.1f}",
        ),
        (f"recall >= {TARGET_RECALL:g}", a["recall"] >= TARGET_RECALL, f"{a['recall']:.3f}"),
    ]
    if result.guidelines == 20:
        checks.append(
            (
                f"tokens <= {TARGET_TOKENS_AT_20:,} at 20",
                a["tokens"] <= TARGET_TOKENS_AT_20,
                f"{a['tokens']:.0f}",
            )
        )
    else:
        checks.append(
            (
                f"tokens <= {TARGET_TOKENS_ABOVE_20:,} at {result.guidelines}",
                a["tokens"] <= TARGET_TOKENS_ABOVE_20,
                f"{a['tokens']:.0f}",
            )
        )
    return checks


def print_targets(result: RunResult, baseline: RunResult | None) -> None:
    parts = [
        f"{name}: {'met' if met else 'MISSED'} ({measured})"
        for name, met, measured in target_checks(result, baseline)
    ]
    _out("targets: " + " | ".join(parts))


def to_json(results: Sequence[RunResult], baselines: Mapping[str, RunResult]) -> dict[str, Any]:
    runs = []
    for result in results:
        baseline = baselines.get(result.mode)
        runs.append(
            {
                **asdict(result),
                "averages": result.averages(),
                "average_line": result.average_line(),
                "targets": [
                    {"target": name, "met": met, "measured": measured}
                    for name, met, measured in target_checks(result, baseline)
                ],
                "parlant_reference": PARLANT_REFERENCE.get((result.guidelines, result.mode)),
            }
        )
    return {"tokenizer": "o200k_base (bpe-openai)", "runs": runs}


async def run_configurations(
    arguments: argparse.Namespace,
) -> tuple[list[RunResult], dict[str, RunResult]]:
    """(the runs to show, the 20-guideline run of each mode run, for token growth)."""
    scenario = Scenario.load(Path(arguments.scenario))
    options = {
        "model_latency_ms": arguments.model_latency_ms,
        "warmup_runs": arguments.warmup_runs,
        "repeats": arguments.repeats,
        "scenario": scenario,
        "conversation": arguments.conversation,
    }
    configurations = (
        [(size, mode) for mode in MODES for size in GUIDELINE_COUNTS]
        if arguments.all
        else [(arguments.guidelines, arguments.mode)]
    )
    if not arguments.all and arguments.guidelines != 20:
        configurations.insert(0, (20, arguments.mode))  # the baseline for token growth
    results: list[RunResult] = []
    baselines: dict[str, RunResult] = {}
    for size, mode in configurations:
        result = await run_conversation(guidelines=size, mode=mode, **options)
        if size == 20:
            baselines[mode] = result
        results.append(result)
    return (results if arguments.all else results[-1:]), baselines


def report(
    arguments: argparse.Namespace, shown: list[RunResult], baselines: dict[str, RunResult]
) -> None:
    if arguments.json:
        document = json.dumps(to_json(shown, baselines), indent=2, default=str)
        if arguments.json == "-":
            _out(document)
            return
        Path(arguments.json).write_text(document + "\n", encoding="utf-8")
    for result in shown:
        print_run(result)
        print_targets(result, baselines.get(result.mode))
        _out()
    if arguments.all:
        _out("summary:")
        for result in shown:
            _out(f"  {result.guidelines:>3} {result.mode:<13} {result.average_line()}")
        headline = next(r for r in shown if r.guidelines == 20 and r.mode == "fluid")
        _out(headline.average_line())
    else:
        _out(shown[-1].average_line())


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guidelines", type=int, choices=GUIDELINE_COUNTS, default=20)
    parser.add_argument("--mode", choices=sorted(MODES), default="fluid")
    parser.add_argument(
        "--model-latency-ms",
        type=float,
        default=0.0,
        help="hold every chat completion this long on the server (default 0)",
    )
    parser.add_argument(
        "--warmup-runs",
        type=int,
        default=1,
        help="unmeasured runs of the conversation first, as a warm worker (default 1)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="measured runs; times are the per-turn median, counts must agree (default 3)",
    )
    parser.add_argument("--json", metavar="PATH", help="write everything as JSON ('-': stdout)")
    parser.add_argument(
        "--all", action="store_true", help="every size in both modes; ends with 20/fluid"
    )
    parser.add_argument("--scenario", default=str(SCENARIO_PATH), help="the scenario JSON")
    parser.add_argument(
        "--conversation",
        choices=("semantic", "lexical"),
        default="semantic",
        help="the labelled semantic_conversation (default) or the lexical one (cost only)",
    )
    arguments = parser.parse_args(argv)
    if arguments.model_latency_ms < 0:
        parser.error("--model-latency-ms must not be negative")
    if arguments.warmup_runs < 0:
        parser.error("--warmup-runs must not be negative")
    if arguments.repeats < 1:
        parser.error("--repeats must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    shown, baselines = asyncio.run(run_configurations(arguments))
    report(arguments, shown, baselines)


if __name__ == "__main__":
    main()
