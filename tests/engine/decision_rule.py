"""The reference scenario's decision rule (bench/README), as a scripted LLM for the engine.

A condition holds when it shares a content word with the latest customer message. The model
reads only the engine's rendered prompt, like a real provider would, so these tests also check
that the prompt states what turn_cost.py needs to parse.
"""

from __future__ import annotations

import re
from typing import Any

from engine.ports import GenerationRequest, GenerationResult, Usage
from engine.text import estimate_tokens

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "again",
        "agent",
        "agents",
        "all",
        "also",
        "an",
        "and",
        "another",
        "any",
        "anything",
        "are",
        "as",
        "ask",
        "asked",
        "asking",
        "asks",
        "at",
        "be",
        "been",
        "being",
        "below",
        "but",
        "by",
        "can",
        "could",
        "current",
        "currently",
        "customer",
        "customers",
        "d",
        "did",
        "do",
        "does",
        "done",
        "down",
        "each",
        "every",
        "for",
        "from",
        "get",
        "gets",
        "give",
        "gives",
        "had",
        "has",
        "have",
        "he",
        "hello",
        "her",
        "here",
        "hey",
        "hi",
        "his",
        "how",
        "i",
        "i'm",
        "if",
        "im",
        "in",
        "inquire",
        "inquires",
        "inquiry",
        "interest",
        "interested",
        "into",
        "is",
        "it",
        "its",
        "just",
        "know",
        "knows",
        "let",
        "lets",
        "like",
        "likes",
        "ll",
        "m",
        "make",
        "makes",
        "may",
        "me",
        "mention",
        "mentioned",
        "mentions",
        "might",
        "mine",
        "more",
        "most",
        "must",
        "my",
        "need",
        "needed",
        "needs",
        "new",
        "no",
        "not",
        "of",
        "on",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "our",
        "out",
        "over",
        "please",
        "provide",
        "provided",
        "provides",
        "re",
        "regarding",
        "related",
        "s",
        "said",
        "say",
        "says",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "something",
        "t",
        "take",
        "takes",
        "tell",
        "tells",
        "than",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "told",
        "too",
        "two",
        "under",
        "up",
        "us",
        "user",
        "users",
        "ve",
        "very",
        "want",
        "wanted",
        "wanting",
        "wants",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "without",
        "would",
        "yes",
        "you",
        "your",
        "yours",
    ]
)
SUFFIXES = (("ments", 4), ("ment", 4), ("ing", 3), ("ed", 3), ("es", 4), ("s", 3))


def rule_stem(word: str) -> str:
    for suffix, keep in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            if suffix == "s" and word.endswith("ss"):
                break
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    return {rule_stem(t) for t in tokens if len(t) > 1 and t not in STOPWORDS}


def holds(condition: str, latest: str) -> bool:
    return bool(content_words(condition) & content_words(latest))


class DecisionRuleModel:
    """Answers the engine's schemas by the rule; records requests for counting."""

    name = "decision-rule"

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        prompt = request.prompt
        latest = re.search(r"^LATEST CUSTOMER MESSAGE: (.*)$", prompt, re.M).group(1)
        if request.schema_name == "turn_decision":
            content = self._decide(prompt, latest)
        elif request.schema_name == "choose_canned_response":
            ids = re.findall(r"^\[(\w+)\] ", prompt.split("APPROVED RESPONSES:")[-1], re.M)
            content = {"canned_response_id": ids[0] if ids else ""}
        elif request.schema_name == "compose_reply_or_choose_template":
            content = {"canned_response_id": "", "message": "Sure."}
        else:
            content = {"message": "Sure, here is what I can tell you."}
        return GenerationResult(
            content=content,
            usage=Usage(prompt_tokens=estimate_tokens(prompt), completion_tokens=30),
            model=self.name,
            duration_ms=0.0,
        )

    def _decide(self, prompt: str, latest: str) -> dict[str, Any]:
        guidelines = [
            {"id": local_id, "applies": holds(condition, latest)}
            for local_id, condition in re.findall(
                r"^\[(g\d+)\](?: \[[A-Z-]+\])* condition: (.*?) \| ", prompt, re.M
            )
        ]
        applying = {g["id"] for g in guidelines if g["applies"]}
        journeys = []
        reached: set[str] = set()
        for local_id, conditions, current in re.findall(
            r"^\[(j\d+)\] .*?\| activates when: (.*?) \| current step: (\S+)", prompt, re.M
        ):
            transitions = re.findall(
                r"^  \[(t\d+)\] (\S+) -> (\S+) when: (.*)$",
                prompt.split(f"[{local_id}] ")[1].split("\n[")[0],
                re.M,
            )
            position = "START" if current == "START" else current
            if position == "START" and not any(holds(c, latest) for c in conditions.split(" OR ")):
                journeys.append({"id": local_id, "transitions": []})
                continue
            taken = []
            for _ in range(8):
                options = [t for t in transitions if t[1] == position]
                chosen = next(
                    (t for t in options if t[3] == "(always)" and position == "START"), None
                ) or next((t for t in options if t[3] != "(always)" and holds(t[3], latest)), None)
                if chosen is None:
                    break
                taken.append(chosen[0])
                position = chosen[2]
                if re.search(rf"^  step {re.escape(position)}: tool ", prompt, re.M):
                    reached.add(f"{local_id}:{position}")
                    break
            if not taken and current != "START":
                reached.add(f"{local_id}:{current}")
            journeys.append({"id": local_id, "transitions": taken})
        tool_calls = []
        for tool_id, parameters, used_by in re.findall(
            r"^\[(\w+)\] .*?\| parameters: (.*?) \| used by: (.*)$", prompt, re.M
        ):
            users = {u.strip() for u in used_by.split(",")}
            if not users & (applying | reached):
                continue
            words = sorted(content_words(latest))
            numbers = [w for w in words if w.isdigit()]
            arguments = {}
            for name in re.findall(r"(\w+): \w+", parameters):
                arguments[name] = (
                    numbers[0]
                    if numbers and "amount" in name
                    else (
                        next(
                            (w for w in words if w in ("checking", "savings")),
                            words[0] if words else "",
                        )
                    )
                )
            tool_calls.append({"tool_id": tool_id, "arguments": arguments, "missing": []})
        return {"guidelines": guidelines, "journeys": journeys, "tool_calls": tool_calls}

    def stream(self, request: GenerationRequest):  # noqa: ANN201
        raise NotImplementedError

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [[0.0] for _ in texts]

    async def moderate(self, text: str) -> Any:
        raise NotImplementedError


def prompt_tokens(request: GenerationRequest) -> int:
    return estimate_tokens(request.prompt)
