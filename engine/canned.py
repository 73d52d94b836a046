"""Canned responses: which templates are usable now, and rendering their {{fields}}.

Fields: {{std.customer.name}}, {{std.agent.name}}, {{std.variables.NAME}},
{{std.missing_params}}, and any name a tool returned in ToolResult.canned_response_fields (this
turn first, then earlier tool events, newest first). A template whose fields are not all
available is not offered at all: that is what stops a template from stating a fact nobody looked
up. Templates tagged NO_MATCH_TAG are the strict mode's answer when nothing fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.text import cosine, features, hashed_embedding
from engine.types import CannedResponse

FIELD_PATTERN = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
NO_MATCH_TAG = "no_match"
DEFAULT_NO_MATCH_TEXT = "Sorry, I'm not sure I understood. Could you say that another way?"
# At most this many templates go into a prompt; attached ones come on top.
MAX_TEMPLATES_IN_PROMPT = 10


@dataclass(frozen=True)
class RenderedTemplate:
    id: str
    text: str
    signals: tuple[str, ...]
    is_attached: bool


def fields_of(template: str) -> list[str]:
    return FIELD_PATTERN.findall(template)


def _lookup(path: str, fields: Mapping[str, Any]) -> Any:
    if path in fields:
        return fields[path]
    value: Any = fields
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


def _display(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_display(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(template: str, fields: Mapping[str, Any]) -> str | None:
    """The template with its fields filled, or None if any field has no value."""
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(match.group(1), fields)
        if value is None or value == "" or value == []:
            missing = True
            return ""
        return _display(value)

    text = FIELD_PATTERN.sub(substitute, template)
    return None if missing else text


def field_values(
    *,
    customer_name: str,
    agent_name: str,
    variables: Mapping[str, Any],
    missing_params: Sequence[str],
    tool_fields: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """All field values available to templates this turn. `tool_fields` newest first."""
    values: dict[str, Any] = {}
    for provided in reversed(list(tool_fields)):
        values.update(provided)  # newer results overwrite older ones
    values["std"] = {
        "customer": {"name": customer_name},
        "agent": {"name": agent_name},
        "variables": dict(variables),
        "missing_params": list(missing_params),
    }
    return values


def usable_templates(
    templates: Sequence[CannedResponse],
    *,
    fields: Mapping[str, Any],
    attached_tags: set[str],
    active_journey_ids: set[str],
    all_journey_ids: set[str],
) -> list[RenderedTemplate]:
    """Templates in scope now, rendered. Scope: a template tagged with a journey id is usable
    only while that journey is active; one tagged with a matched guideline's or current step's
    id (`attached_tags`) is marked attached, which wins ties when choosing."""
    usable = []
    for template in templates:
        tags = set(template.tags)
        if NO_MATCH_TAG in tags:
            continue
        journey_tags = tags & all_journey_ids
        if journey_tags and not journey_tags & active_journey_ids:
            continue
        text = render(template.value, fields)
        if text is None:
            continue
        if any(_lookup(name, fields) in (None, "") for name in template.field_dependencies):
            continue
        usable.append(
            RenderedTemplate(
                id=template.id,
                text=text,
                signals=template.signals,
                is_attached=bool(tags & attached_tags),
            )
        )
    return usable


def rank_templates(
    templates: Sequence[RenderedTemplate], query: str, *, limit: int = MAX_TEMPLATES_IN_PROMPT
) -> list[RenderedTemplate]:
    """Attached templates, then the most similar to `query`, up to `limit` in all."""
    query_features = features(query)
    query_vector = hashed_embedding(query)

    def similarity(template: RenderedTemplate) -> float:
        best = 0.0
        for text in (template.text, *template.signals):
            found = features(text)
            overlap = len(found & query_features) / max(1, len(found))
            best = max(
                best, 0.6 * overlap + 0.4 * max(0.0, cosine(hashed_embedding(text), query_vector))
            )
        return best

    ranked = sorted(templates, key=lambda t: (not t.is_attached, -similarity(t), t.id))
    return ranked[:limit]


def no_match_text(
    templates: Sequence[CannedResponse], fields: Mapping[str, Any]
) -> tuple[str, str]:
    """(template id or "", text) of the strict-mode answer when no template fits."""
    for template in templates:
        if NO_MATCH_TAG in template.tags:
            text = render(template.value, fields)
            if text is not None:
                return template.id, text
    return "", DEFAULT_NO_MATCH_TEXT
