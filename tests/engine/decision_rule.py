"""The reference scenario's decision rule (bench/README), as a scripted LLM for the engine.

A condition holds when it shares a content word with the latest customer message. The model
reads only the engine's rendered prompt, like a real provider would, so these tests also check
that the prompt states what turn_cost.py needs to parse.
"""

from __future__ import annotations

import re
from typing import Any

from bench.decision_rule import DecisionRule
from bench.scenario import Scenario
from engine.nlp.embedding import LOCAL_EMBEDDING_MODEL, local_embed
from engine.ports import GenerationRequest, GenerationResult, Usage
from engine.text import estimate_tokens

# One implementation of the rule, shared with the benchmark, over the scenario's own stopwords.
RULE = DecisionRule(Scenario.load().stopwords)


def content_words(text: str) -> set[str]:
    return set(RULE.stems(text))


def holds(condition: str, latest: str) -> bool:
    return RULE.holds(condition, latest)


class DecisionRuleModel:
    """Answers the engine's schemas by the rule; records requests for counting."""

    name = "decision-rule"
    embedding_model = LOCAL_EMBEDDING_MODEL

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
        return local_embed(texts)  # any embedding model serves; this one needs no server

    async def moderate(self, text: str) -> Any:
        raise NotImplementedError


def prompt_tokens(request: GenerationRequest) -> int:
    return estimate_tokens(request.prompt)
