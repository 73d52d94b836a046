"""Which matched actions a reply actually carried out (Parlant's response analysis).

A guideline counts as applied only once the agent's message did what its action says, so an
action that was matched but left out of the reply stays pending and is judged afresh next turn
(it is not marked DONE). On the language-model path this costs no extra call: the composing call
lists the numbers of the instructions its message follows. Where no model wrote the words (the
local provider, a canned response, a streamed reply, a model that left the list out), the reply
is read against each action: its content words, the verbs of asking and telling aside, must be
there for the action to count as done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.text import STOPWORDS, stem, words

FOLLOWED_FIELD = "followed_instructions"

FOLLOWED_SCHEMA: Mapping[str, Any] = {"type": "array", "items": {"type": "integer"}}

FOLLOWED_INSTRUCTION = (
    f"In `{FOLLOWED_FIELD}`, list the numbers of the instructions your message carries out; "
    "leave out any your message does not do (it will be asked of you again later)."
)

# Words of how an action is phrased, not of what it gets done ("politely ask them for …").
_PHRASING_WORDS = frozenset(
    {"tell", "ask", "say", "let", "inform", "explain", "mention", "offer", "provide", "give",
     "respond", "reply", "answer", "them", "they", "their", "customer", "customers", "user",
     "politely", "kindly", "briefly", "always", "make", "sure", "should", "please", "also",
     "then", "that", "know", "about", "with"}
)  # fmt: skip
# Share of an action's content words a reply must contain to count as carrying it out; half lets
# a reply rephrase ("state the ATM limits" -> "Your ATM limit is 500") yet not merely touch on it.
APPLIED_WORD_SHARE = 0.5


def followed_ids(
    content: Mapping[str, Any], instructions: Sequence[Mapping[str, Any]]
) -> set[str] | None:
    """The ids of the instructions the composing model says it followed, or None if it did not
    say (an absent or malformed list)."""
    numbers = content.get(FOLLOWED_FIELD)
    if not isinstance(numbers, list):
        return None
    found = set()
    for number in numbers:
        is_number = isinstance(number, int) and not isinstance(number, bool)
        if is_number and 1 <= number <= len(instructions):
            found.add(str(instructions[number - 1]["id"]))
    return found


def carried_out(message: str, action: str) -> bool:
    """Whether the message does what the action says, judged from the words they share."""
    wanted = {stem(w) for w in words(action) if w not in STOPWORDS and w not in _PHRASING_WORDS}
    if not wanted:
        return True  # nothing checkable ("be polite"): the reply cannot be shown not to
    said = {stem(w) for w in words(message)}
    return len(wanted & said) / len(wanted) >= APPLIED_WORD_SHARE


def applied_ids(
    message: str,
    instructions: Sequence[Mapping[str, Any]],
    followed: set[str] | None = None,
) -> set[str]:
    """The instruction ids the reply carried out: the model's own list where it gave one,
    otherwise the reading of the reply."""
    if followed is not None:
        return {str(i["id"]) for i in instructions if str(i["id"]) in followed}
    return {str(i["id"]) for i in instructions if carried_out(message, i.get("action", ""))}


def customer_did_their_part(payload: Mapping[str, Any], action: str) -> bool:
    """A customer-dependent action done earlier ("ask for the order number") stays active
    until the customer answers; the latest message answering it ends it."""
    from engine.journeys import AnswerEvidence

    return AnswerEvidence.build(payload).gives(action, was_asked=True)
