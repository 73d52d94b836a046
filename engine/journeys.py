"""Journeys as explicit state machines.

A journey's progress in a session is its *path*: the state ids visited, most recent last, ending
in JOURNEY_END once it completed or was exited. Moving is deterministic wherever the graph allows
it (a direct transition out of a performed chat step, out of a tool step once its tool ran, out
of a fork with a single way on); only transitions with a free-text condition need a judgement,
and those are judged in the turn's single decision call together with the guidelines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.matching import MATCH_THRESHOLDS, ConditionScore
from engine.text import (
    STOPWORDS,
    features,
    find_date,
    find_time,
    parse_iso_date,
    stem,
    words,
)
from engine.types import (
    JOURNEY_END,
    JOURNEY_INITIAL,
    Criticality,
    Journey,
    JourneyState,
    JourneyTransition,
)

# Local provider thresholds, set on the loan journey of tests/engine/test_journeys.py.
LOCAL_TRANSITION_THRESHOLD = 0.3
LOCAL_SKIP_NOVEL_SHARE = 0.5  # share of a condition's own features the message must contain
LOCAL_BACKTRACK_THRESHOLD = 0.45
MAX_STEPS_PER_TURN = 8  # a guard against cycles of direct transitions


def state_by_id(journey: Journey, state_id: str) -> JourneyState | None:
    return next((state for state in journey.states if state.id == state_id), None)


def outgoing(journey: Journey, state_id: str) -> list[JourneyTransition]:
    return [t for t in journey.transitions if t.source_id == state_id]


def is_active(path: Sequence[str]) -> bool:
    return bool(path) and path[-1] != JOURNEY_END


def current_state_id(path: Sequence[str]) -> str | None:
    return path[-1] if is_active(path) else None


def transition_key(journey: Journey, transition: JourneyTransition) -> str:
    """The ConditionIndex key of a transition's condition."""
    return f"transition:{journey.id}:{transition.id}"


def activation_key(journey: Journey, index: int) -> str:
    return f"journey:{journey.id}:{index}"


@dataclass
class JourneyMove:
    """What happened to one journey in one step of the turn, for the trace and the composer."""

    journey_id: str
    path_before: tuple[str, ...]
    path_after: tuple[str, ...]
    taken: list[str] = field(default_factory=list)  # transition ids, in order
    entered: list[str] = field(default_factory=list)  # state ids entered (not counting forks)
    events: list[str] = field(default_factory=list)  # "activated", "completed", "exited", …


def advance_directly(journey: Journey, path: tuple[str, ...], move: JourneyMove) -> tuple[str, ...]:
    """Leave the chat step performed last turn where that needs no judgement.

    A chat step is performed by saying it, so only the step the agent said last turn is left
    here: through its single unconditional transition (and any single-way forks after it), to
    the next step, which this turn performs. A chat step with no way on was the journey's last:
    saying it completed the journey. Tool steps move on only after their tool ran (after_tools).
    """
    current = current_state_id(path)
    state = state_by_id(journey, current) if current else None
    if state is None or state.is_tool_state or asks_the_customer(state.action):
        # A step asking the customer something is done only once they answered: that is
        # judged with the latest message, in the decision.
        return path
    transitions = outgoing(journey, state.id)
    if not transitions and not state.is_fork:
        move.events.append("completed")
        return (*path, JOURNEY_END)
    if len(transitions) != 1 or transitions[0].condition.strip():
        return path
    path = _enter(journey, path, transitions[0], move)
    for _ in range(MAX_STEPS_PER_TURN):
        before = path
        path = advance_directly_forks(journey, path, move)
        if path == before:
            break
    return path


_ASKING = re.compile(
    r"^(?:politely |kindly |then |first )?(?:ask|request|collect|find out|get|check|confirm|"
    r"verify|obtain|gather)\b",
    re.IGNORECASE,
)


def asks_the_customer(action: str) -> bool:
    """A step whose action needs the customer's answer ("ask which day suits them")."""
    return bool(_ASKING.match(action.strip()))


LEFT_AT_KEY = "journeys_left_at"  # AgentState.data: journey id -> the step it was left at


def note_left(left_at: dict[str, str], move: JourneyMove) -> None:
    """Remember where the customer left a journey, so that coming back resumes there."""
    if "exited" in move.events and move.path_before and is_active(move.path_before):
        left_at[move.journey_id] = move.path_before[-1]
    elif is_active(move.path_after) or "completed" in move.events:
        left_at.pop(move.journey_id, None)


def _enter(
    journey: Journey, path: tuple[str, ...], transition: JourneyTransition, move: JourneyMove
) -> tuple[str, ...]:
    move.taken.append(transition.id)
    path = (*path, transition.target_id)
    if transition.target_id == JOURNEY_END:
        move.events.append("completed")
        return path
    state = state_by_id(journey, transition.target_id)
    if state is not None and not state.is_fork:
        move.entered.append(state.id)
    return path


def apply_decision(
    journey: Journey,
    path: tuple[str, ...],
    *,
    transitions: Sequence[str],
    backtrack_to: str = "",
    exit_journey: bool = False,
    activate: bool = False,
    resume_at: str | None = None,
) -> JourneyMove:
    """Apply the judged transitions, ignoring any that do not chain from where the journey is.

    A model can name a transition that does not leave the current step; that one and everything
    after it are dropped (recorded as "ignored:<id>") rather than teleporting the journey.
    """
    move = JourneyMove(journey_id=journey.id, path_before=path, path_after=path)
    if exit_journey and is_active(path):
        move.events.append("exited")
        move.path_after = (*path, JOURNEY_END)
        return move
    if backtrack_to and backtrack_to in path and state_by_id(journey, backtrack_to):
        path = (*path, backtrack_to)
        move.events.append(f"backtracked:{backtrack_to}")
        move.entered.append(backtrack_to)
    elif not is_active(path):
        if not activate:
            return move
        resumed = resume_at if resume_at and state_by_id(journey, resume_at) else None
        if resumed is not None and path:
            # Coming back to a journey left half-way resumes it where it stopped; a customer
            # starting over is a backtrack to its first step.
            path = (*path, resumed)
            move.events.append(f"resumed:{resumed}")
            move.entered.append(resumed)
            starts = {t.id for t in outgoing(journey, JOURNEY_INITIAL)}
            transitions = [t for t in transitions if t not in starts]
        else:
            path = (*path, JOURNEY_INITIAL) if not path or path[-1] == JOURNEY_END else path
            move.events.append("activated")
    by_id = {t.id: t for t in journey.transitions}
    position = path[-1]
    for transition_id in transitions:
        transition = by_id.get(transition_id)
        if transition is None or transition.source_id != position:
            move.events.append(f"ignored:{transition_id}")
            break
        path = _enter(journey, path, transition, move)
        position = transition.target_id
        if position == JOURNEY_END:
            break
        entered = state_by_id(journey, position)
        if entered is not None and entered.is_tool_state:
            # A tool step is performed by running its tool: the journey waits there this turn,
            # and moves on once the result is in (after_tools, or a second judgement).
            rest = list(transitions)[list(transitions).index(transition_id) + 1 :]
            if rest:
                move.events.append(f"waits_for_tool:{position}")
            break
    if path and path[-1] == JOURNEY_INITIAL:
        # Activated but no first step judged: take the start if it is unconditional.
        starts = outgoing(journey, JOURNEY_INITIAL)
        unconditional = [t for t in starts if not t.condition.strip()]
        if len(unconditional) == 1:
            path = _enter(journey, path, unconditional[0], move)
        elif starts:
            path = _enter(journey, path, starts[0], move)
    move.path_after = _compact(path)
    return move


def after_tools(
    journey: Journey, path: tuple[str, ...], ran_tool_ids: set[str], move: JourneyMove
) -> tuple[str, ...]:
    """Leave tool steps whose tools all ran, through their single unconditional transition."""
    for _ in range(MAX_STEPS_PER_TURN):
        current = current_state_id(path)
        state = state_by_id(journey, current) if current else None
        if state is None or not state.is_tool_state or not set(state.tool_ids) <= ran_tool_ids:
            return path
        transitions = outgoing(journey, state.id)
        if len(transitions) != 1 or transitions[0].condition.strip():
            return path  # a conditional exit is judged in the next iteration, with the result
        path = _enter(journey, path, transitions[0], move)
        path = advance_directly_forks(journey, path, move)
    return path


def advance_directly_forks(
    journey: Journey, path: tuple[str, ...], move: JourneyMove
) -> tuple[str, ...]:
    current = current_state_id(path)
    state = state_by_id(journey, current) if current else None
    if state is not None and state.is_fork:
        transitions = outgoing(journey, state.id)
        if len(transitions) == 1 and not transitions[0].condition.strip():
            return _enter(journey, path, transitions[0], move)
    return path


def _compact(path: tuple[str, ...]) -> tuple[str, ...]:
    """Drop the JOURNEY_INITIAL markers, which are positions, not visited states."""
    return tuple(state_id for state_id in path if state_id != JOURNEY_INITIAL)


def pending_tool_state(journey: Journey, path: Sequence[str]) -> JourneyState | None:
    current = current_state_id(path)
    state = state_by_id(journey, current) if current else None
    return state if state is not None and state.is_tool_state else None


def journey_item(
    journey: Journey,
    local_id: str,
    path: Sequence[str],
    transition_ids: Mapping[str, str],
    scores: Mapping[str, ConditionScore],
    left_at: str | None = None,
) -> dict[str, Any]:
    """The decision payload entry of one journey (local ids for transitions: t1, t2, …)."""
    activation = max(
        (scores[activation_key(journey, i)] for i in range(len(journey.conditions))),
        key=lambda score: score.score,
        default=None,
    )
    return {
        "id": local_id,
        "title": journey.title,
        "description": journey.description,
        "conditions": list(journey.conditions),
        "current_step": current_state_id(path),
        "left_at": None if is_active(path) else left_at,
        "visited": [state_id for state_id in path if state_id != JOURNEY_END],
        "steps": [
            {"id": state.id, "action": state.action, "tools": list(state.tool_ids)}
            for state in journey.states
            if not state.is_fork
        ],
        "transitions": [
            {
                "id": transition_ids[t.id],
                "from": "START" if t.source_id == JOURNEY_INITIAL else t.source_id,
                "to": "END" if t.target_id == JOURNEY_END else t.target_id,
                "condition": t.condition,
                "local": {
                    "score": scores[transition_key(journey, t)].score if t.condition else 1.0,
                    "latest_score": (
                        scores[transition_key(journey, t)].latest_score if t.condition else 1.0
                    ),
                },
            }
            for t in journey.transitions
        ],
        "local": {
            "activation_score": activation.score if activation else 0.0,
            "activation_latest_score": activation.latest_score if activation else 0.0,
        },
    }


def local_journey_decisions(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The local provider's journey moves: activation by score, then transitions by score.

    A transition needs the latest message to support what its condition adds beyond the
    journey's own subject: "a loan amount of 20000" says nothing about "a loan term". Two kinds
    of evidence stand in for a model's judgement besides shared words: out of the current step,
    the latest message *answering* it (a slot that was offered, a date for "which day", a yes
    for "confirmed"); and out of a tool step, the new result of its tool ("there are free slots"
    against free_slots: ["10:00"]). A step that only asks for what the message already gave is
    passed through.
    """
    decisions = []
    threshold = MATCH_THRESHOLDS[Criticality.MEDIUM]
    latest_text = payload.get("latest_customer_message", "")
    latest = features(latest_text)
    evidence = AnswerEvidence.build(payload)
    for journey in payload.get("journeys", ()):
        current = journey.get("current_step")
        transitions = journey["transitions"]
        decision: dict[str, Any] = {"id": journey["id"], "transitions": []}
        subject: set[str] = set()
        for condition in journey.get("conditions", ()):
            subject |= features(condition)
        if current is None:
            if journey["local"]["activation_latest_score"] < threshold:
                decisions.append(decision)
                continue
            position = "START"
        else:
            position = current
        steps = {step["id"]: step for step in journey.get("steps", ())}
        explained = set(subject)
        used_by_tool = False
        for hop in range(MAX_STEPS_PER_TURN):
            options = [t for t in transitions if t["from"] == position]
            if not options:
                break
            unconditional = [t for t in options if not t["condition"]]
            step = steps.get(position, {})
            if position == "START" and unconditional:
                best = unconditional[0]
            elif step.get("tools"):
                best = _exit_on_tool_result(options, step["tools"], evidence)
                if best is None:
                    break
                used_by_tool = True  # the message went into the tool; it answers nothing more
            elif (
                len(options) == 1
                and unconditional
                and not used_by_tool
                and evidence.answers(
                    step.get("action", ""), was_asked=hop == 0 and current is not None
                )
            ):
                best = unconditional[0]
            else:
                supported = [
                    t
                    for t in options
                    if t["condition"]
                    and t["local"]["latest_score"] >= LOCAL_TRANSITION_THRESHOLD
                    and _novel_support(t["condition"], latest, explained)
                    and not evidence.contradicts(t["condition"])
                ]
                if not supported and hop == 0 and current is not None:
                    supported = [
                        dict(t, local={**t["local"], "latest_score": 1.0})
                        for t in options
                        if t["condition"] and evidence.satisfies(t["condition"])
                    ]
                if not supported:
                    break
                best = max(supported, key=lambda t: t["local"]["latest_score"])
            explained |= features(best["condition"])
            decision["transitions"].append(best["id"])
            position = best["to"]
            if position == "END" or steps.get(position, {}).get("tools"):
                break  # a tool step moves on only after its tool ran
        if current is not None and not decision["transitions"]:
            backtrack = _local_backtrack(journey, latest, subject)
            if backtrack:
                decision.update(backtrack)
            else:
                redo = _tool_step_with_new_values(journey, steps, payload, evidence)
                if redo:
                    decision["backtrack_to"] = redo
        decisions.append(decision)
    _leave_abandoned_journeys(payload, decisions, latest_text)
    return decisions


# The customer calling the journey off: "never mind", "forget it", "cancel that", "stop".
_LEAVING = re.compile(
    r"\b(?:never ?mind|forget (?:it|about it|that)|cancel (?:it|that|this)|"
    r"changed? my mind|(?:don't|do not) want (?:to|it|that)\b.*\b(?:anymore|any more)|"
    r"not interested|let'?s stop|stop (?:it|this|that)|no longer want)\b",
    re.IGNORECASE,
)


def _leave_abandoned_journeys(
    payload: Mapping[str, Any], decisions: list[dict[str, Any]], latest_text: str
) -> None:
    """An active journey that does not move is left when the customer calls it off, or when
    another journey starts this turn (the customer switched; it resumes if they come back)."""
    journeys = {journey["id"]: journey for journey in payload.get("journeys", ())}
    started_another = any(
        journeys[d["id"]].get("current_step") is None and d["transitions"] for d in decisions
    )
    calls_off = bool(_LEAVING.search(latest_text))
    for decision in decisions:
        journey = journeys[decision["id"]]
        if journey.get("current_step") is None or decision["transitions"]:
            continue
        if decision.get("backtrack_to"):
            continue
        if calls_off or started_another:
            decision["exit"] = True


def _tool_step_with_new_values(
    journey: Mapping[str, Any],
    steps: Mapping[str, Mapping[str, Any]],
    payload: Mapping[str, Any],
    evidence: AnswerEvidence,
) -> str:
    """A visited tool step to run again because the latest message changes one of its tool's
    arguments ("Sunday then" after the slots of Friday were offered)."""
    from engine.tools import extract_argument

    if evidence.is_question and not re.match(r"^\W*(?:what|how) about\b", evidence.text):
        return ""
    specs = {tool["id"]: tool for tool in payload.get("tools", ())}
    today = parse_iso_date(payload.get("today", ""))
    visited = journey.get("visited", [])
    for state_id in reversed(visited[:-1]):
        for tool_id in steps.get(state_id, {}).get("tools", ()):
            last = next(
                (r for r in reversed(evidence.results) if r.get("tool_id") == tool_id), None
            )
            if tool_id not in specs or last is None:
                continue
            used = last.get("arguments") or {}
            for parameter in specs[tool_id].get("parameters", ()):
                if not _names_parameter(parameter, evidence):
                    continue
                value = extract_argument(parameter, [evidence.original], today)
                if (
                    value is not None
                    and str(value).lower() != str(used.get(parameter["name"], "")).lower()
                ):
                    return state_id
    return ""


def _names_parameter(parameter: Mapping[str, Any], evidence: AnswerEvidence) -> bool:
    """Whether the message is clearly about this parameter: a choice, a date or a time is
    recognisable on its own; a bare number is not ("my salary is 85000" is no loan amount)."""
    from engine.tools import head_noun, is_date_parameter, is_time_parameter, parameter_words

    if parameter.get("enum") or is_date_parameter(parameter) or is_time_parameter(parameter):
        return True
    named = {stem(w) for w in parameter_words(parameter)} | {stem(head_noun(parameter))}
    return bool(named & {stem(w) for w in words(evidence.text)})


# Conditions that say the customer answered, and what kind of answer each needs.
_CONFIRMED = re.compile(
    r"\b(?:confirm|confirms|confirmed|agree|agrees|agreed|accept|accepts|"
    r"accepted|approve|approves|approved|says yes)\b"
)
_DECLINED = re.compile(
    r"\b(?:decline|declines|declined|refuse|refuses|refused|reject|rejects|"
    r"rejected|says no|does not want|doesn't want)\b"
)
# "picked a slot" is a choice among what was offered; "provided the loan amount" any value of
# the right kind.
_CHOSE = re.compile(
    r"\b(?:picked|picks|pick|chose|chooses|choose|chosen|selected|selects|select|prefers|"
    r"prefer|took|takes|decided on|decides on|went with|goes with)\b\s+(.*)$"
)
_GAVE = re.compile(
    r"\b(?:provided|provides|provide|gave|gives|give|shared|shares|stated|states|told|"
    r"answered|answers|mentioned|mentions|specified|specifies|named|names|entered|wants|"
    r"asks for)\b\s+(.*)$"
)
_NEGATIVE_WORDS = frozenset(
    {"no", "not", "none", "nothing", "zero", "without", "unavailable", "empty", "fail", "fails",
     "failed", "error", "isn't", "aren't", "cannot", "can't", "never", "neither", "nor",
     "declined", "rejected", "denied", "invalid", "unsuccessful", "full"}
)  # fmt: skip
_AMOUNT_WORDS = frozenset(
    {"amount", "number", "digits", "quantity", "term", "months", "years", "salary", "income",
     "price", "budget", "age", "count", "how many", "much"}
)  # fmt: skip
_TIME_WORDS = frozenset({"time", "slot", "hour", "appointment"})
_DATE_WORDS = frozenset({"day", "date", "when", "weekday"})
_WH_START = re.compile(r"^\W*(?:what|which|how|when|where|why|who)\b", re.IGNORECASE)


@dataclass
class AnswerEvidence:
    """What the latest customer message gives, to tell whether it answers a step or condition."""

    text: str
    original: str
    is_question: bool
    date_found: bool
    time_found: str | None
    has_number: bool
    has_email: bool
    agrees: bool
    declines: bool
    results: list[Mapping[str, Any]]  # tool results, newest last
    # A statement of a few words right after the agent asked something.
    replies_to_a_question: bool = False

    @classmethod
    def build(cls, payload: Mapping[str, Any]) -> AnswerEvidence:
        text = payload.get("latest_customer_message", "")
        concepts = features(text)
        today = parse_iso_date(payload.get("today", ""))
        history = payload.get("history", [])
        asked = len(history) >= 2 and history[-2]["role"] == "agent" and "?" in history[-2]["text"]
        content = [w for w in words(text) if w not in STOPWORDS]
        return cls(
            text=text.lower(),
            original=text,
            is_question=bool(_WH_START.search(text)),
            date_found=find_date(text, today) is not None,
            time_found=find_time(text),
            has_number=bool(re.search(r"\d", text)),
            has_email="@" in text,
            agrees="~agree" in concepts and "~decline" not in concepts,
            declines="~decline" in concepts,
            results=list(payload.get("tool_results", ())),
            replies_to_a_question=asked
            and "?" not in text
            and len(content) >= 2
            and "~decline" not in concepts,
        )

    def answers(self, action: str, *, was_asked: bool = False) -> bool:
        """The message already gives what a step's action asks for ("ask which day…")."""
        return not self.is_question and self.gives(action, was_asked=was_asked)

    def gives(self, action: str, *, was_asked: bool = False) -> bool:
        """The message carries what the action asks for, even inside a question of its own
        ("Where is my order? It's 48213." gives the order number)."""
        lowered = action.lower()
        match = re.match(
            r"^(?:politely |kindly |then )?(?:ask|request|collect|find out|get|check)\b(.*)$",
            lowered,
        )
        if not match:
            return False
        choices = _listed_choices(action)
        if self._gives(match.group(1), choices=choices):
            return True
        # A plain reply naming something else than the listed choices still answers the step;
        # the tool's validation then tells the customer what the valid choices are.
        return was_asked and bool(choices) and self.replies_to_a_question

    def satisfies(self, condition: str) -> bool:
        """The message meets a condition about the customer answering ("picked a slot")."""
        if self.is_question:
            return False
        lowered = condition.lower()
        if _DECLINED.search(lowered):
            return self.declines
        if _CONFIRMED.search(lowered):
            return self.agrees
        chose = _CHOSE.search(lowered)
        if chose:
            offered = self._offered_values(set(words(chose.group(1))))
            return any(self._mentions(value) for value in offered)
        match = _GAVE.search(lowered)
        if not match:
            return False
        if self._gives(match.group(1), choices=()):
            return True
        # "provided their employment status" has no form to check: a plain reply to the
        # agent's question is the answer, as a person would take it.
        return self.replies_to_a_question and _kind_of(set(words(match.group(1)))) is None

    def contradicts(self, condition: str) -> bool:
        """The message picks something that was not offered ("13:00" when 10:00 and 16:00 are
        the free slots), so "the customer picked a slot" does not hold yet."""
        match = _CHOSE.search(condition.lower()) or _GAVE.search(condition.lower())
        offered = self._offered_values(set(words(match.group(1)))) if match else []
        if not offered or any(self._mentions(value) for value in offered):
            return False
        if self.time_found and any(find_time(str(value)) for value in offered):
            return True
        numbers = [value for value in offered if isinstance(value, int | float)]
        return len(numbers) == len(offered) and self.has_number

    def _gives(self, wanted: str, *, choices: Sequence[str]) -> bool:
        if choices:
            return any(re.search(r"\b" + re.escape(c.lower()) + r"\b", self.text) for c in choices)
        wanted_words = set(words(wanted))
        offered = self._offered_values(wanted_words)
        if offered:
            return any(self._mentions(value) for value in offered)
        return {
            "time": self.time_found is not None,
            "date": self.date_found,
            "amount": self.has_number,
            "email": self.has_email,
        }.get(_kind_of(wanted_words) or "", False)

    def _offered_values(self, wanted_words: set[str]) -> list[Any]:
        """Values a tool result offered of what is wanted: the items of free_slots for "a slot",
        the term_months of each offer for "a loan term"."""
        wanted_stems = {stem(w) for w in wanted_words}
        for result in reversed(self.results):
            data = result.get("data")
            if not isinstance(data, Mapping):
                continue
            for key, value in data.items():
                if not isinstance(value, list) or not value:
                    continue
                if _key_stems(key) & wanted_stems:
                    return [item for item in value if not isinstance(item, Mapping)]
                nested = [
                    item[inner]
                    for item in value
                    if isinstance(item, Mapping)
                    for inner in item
                    if _key_stems(inner) & wanted_stems
                ]
                if nested:
                    return nested
        return []

    def _mentions(self, value: Any) -> bool:
        text = str(value).lower()
        if self.time_found and find_time(text) == self.time_found:
            return True
        return bool(text) and re.search(r"(?<![\w.])" + re.escape(text) + r"(?![\w])", self.text)


def _kind_of(wanted_words: set[str]) -> str | None:
    """What form an asked-for value takes, when its words say so."""
    if wanted_words & _TIME_WORDS:
        return "time"
    if wanted_words & _DATE_WORDS:
        return "date"
    if wanted_words & _AMOUNT_WORDS:
        return "amount"
    return "email" if "email" in wanted_words else None


def _key_stems(key: Any) -> set[str]:
    return {stem(w) for w in re.split(r"[_\W]+", str(key).lower()) if w}


def _listed_choices(action: str) -> list[str]:
    """ "ask which model: Aurora, Bolt or Cruiser" → the three choices after the colon."""
    if ":" not in action:
        return []
    tail = action.rsplit(":", 1)[1]
    parts = re.split(r",\s*|\s+or\s+|\s+and\s+", tail.strip().rstrip(".?!"))
    return [part.strip() for part in parts if part.strip() and len(part.split()) <= 3]


def _exit_on_tool_result(
    options: Sequence[Mapping[str, Any]], tool_ids: Sequence[str], evidence: AnswerEvidence
) -> Mapping[str, Any] | None:
    """Out of a tool step whose tool returned this turn: the exit its condition says of the data.

    "there are free slots that day" holds when the result's free_slots is a non-empty list and
    "no slot is free that day" when it is empty: the condition's own words pick the key, and a
    negation flips what the value must be.
    """
    new_results = [r for r in evidence.results if r.get("is_new") and r["tool_id"] in tool_ids]
    if not new_results:
        return None
    data, error = new_results[-1].get("data"), new_results[-1].get("error", "")
    scored: list[tuple[float, Mapping[str, Any]]] = []
    for option in options:
        if not option["condition"]:
            scored.append((0.5, option))
            continue
        scored.append((_data_supports(option["condition"], data, failed=bool(error)), option))
    score, best = max(scored, key=lambda pair: pair[0])
    return best if score >= 0.5 else None


def _data_supports(condition: str, data: Any, *, failed: bool = False) -> float:
    condition_words = set(words(condition))
    is_negative = bool(condition_words & _NEGATIVE_WORDS)
    condition_stems = {stem(w) for w in condition_words if w not in _NEGATIVE_WORDS}
    if isinstance(data, Mapping) and "error" in data:
        failed = True
    if failed:
        return 1.0 if condition_words & {"error", "fails", "failed", "fail"} else 0.0
    best_overlap, truth = 0, None
    for key, value in data.items() if isinstance(data, Mapping) else ():
        key_stems = {stem(w) for w in re.split(r"[_\W]+", str(key).lower()) if w}
        overlap = len(key_stems & condition_stems)
        if overlap > best_overlap:
            best_overlap, truth = overlap, _is_truthy(value)
    if truth is None:
        shared = features(condition) & features(str(data))
        return 0.5 if shared and not is_negative else 0.0
    return 1.0 if truth != is_negative else 0.0


def _is_truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "none", "no", "false", "0", "n/a")
    return bool(value)


def _novel_support(condition: str, latest: frozenset[str], explained: set[str]) -> bool:
    """Skipping a step needs the latest message to say something the earlier moves did not use:
    "apply for a personal loan" starts the journey but does not also give "the loan amount"."""
    novel = features(condition) - explained
    return bool(novel) and len(novel & latest) / len(novel) >= LOCAL_SKIP_NOVEL_SHARE


def _local_backtrack(
    journey: Mapping[str, Any], latest: frozenset[str], subject: set[str]
) -> dict[str, Any] | None:
    """A customer restating an earlier answer: re-take that step's transition from there."""
    visited = journey.get("visited", [])
    for transition in journey["transitions"]:
        source = transition["from"]
        if (
            source in visited[:-1]
            and transition["condition"]
            and transition["local"]["latest_score"] >= LOCAL_BACKTRACK_THRESHOLD
            and _novel_support(transition["condition"], latest, subject)
        ):
            return {"backtrack_to": source, "transitions": [transition["id"]]}
    return None


def tool_steps_reached(
    payload: Mapping[str, Any], decisions: Sequence[Mapping[str, Any]]
) -> set[str]:
    """ "<journey local id>:<state id>" of tool steps that the decisions enter or stay on."""
    reached: set[str] = set()
    by_id = {journey["id"]: journey for journey in payload.get("journeys", ())}
    for decision in decisions:
        journey = by_id.get(decision.get("id"))
        if journey is None:
            continue
        steps = {step["id"]: step for step in journey.get("steps", ())}
        targets = {t["id"]: t["to"] for t in journey["transitions"]}
        positions = [targets[t] for t in decision.get("transitions", ()) if t in targets]
        if decision.get("backtrack_to") and not positions:
            positions = [decision["backtrack_to"]]
        elif journey.get("current_step") and not positions:
            positions = [journey["current_step"]]
        for position in positions:
            if steps.get(position, {}).get("tools"):
                reached.add(f"{journey['id']}:{position}")
    return reached
