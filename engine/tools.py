"""Tools: the @tool decorator, the registry, argument handling and parallel execution.

A tool is a plain function (sync or async) whose first parameter is `context: ToolContext`; the
rest are typed parameters the engine describes to the model:

    @tool
    async def get_balance(
        context: ToolContext, account_type: Literal["checking", "savings"]
    ) -> ToolResult:
        '''Get the balance of one of the customer's accounts.'''

Types: str, int, float, bool, date, datetime, an Enum, a Literal of strings, a list of any of
these, or Optional of those. A parameter with a default (or Optional) is optional. Arguments are
cast and validated with pydantic against the function's own annotations. Descriptions come from
the docstring's first paragraph, and per parameter from `Annotated[str, "description"]` or an
"Args:" / ":param x:" docstring entry.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import logging
import re
import time
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

import pydantic

from engine.errors import ToolDefinitionError
from engine.text import (
    MONTH_NAMES,
    STOPWORDS,
    WEEKDAY_NAMES,
    find_date,
    find_time,
    parse_iso_date,
    stem,
    words,
)
from engine.types import ToolParameter, ToolSpec

logger = logging.getLogger(__name__)

# A tool that has not answered in this long is treated as failed, so one slow backend cannot hold
# the customer's reply indefinitely. Parlant's plugin default is 120 s; a chat reply cannot wait
# that long.
DEFAULT_TOOL_TIMEOUT_SECONDS = 30.0
# Large results are cut before they reach a prompt; the full data still goes to the tool event.
MAX_RESULT_CHARS_IN_PROMPT = 4000


@dataclass(frozen=True)
class ToolResult:
    data: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)  # for the UI; the model never sees it
    control: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"mode": "manual"} for handoff
    canned_response_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolContext:
    agent_id: str
    session_id: str
    customer_id: str
    _emit_message: Callable[[str], Awaitable[None]] | None = field(default=None, repr=False)
    _emit_status: Callable[[str, Mapping[str, Any]], Awaitable[None]] | None = field(
        default=None, repr=False
    )

    async def emit_message(self, text: str) -> None:
        """Send a message to the customer now, while the tool is still running."""
        if self._emit_message is not None:
            await self._emit_message(text)

    async def emit_status(self, status: str, data: Mapping[str, Any] | None = None) -> None:
        if self._emit_status is not None:
            await self._emit_status(status, dict(data or {}))


@dataclass(frozen=True)
class RegisteredTool:
    name: str
    description: str
    parameters: tuple[ToolParameter, ...]
    function: Callable[..., Any]
    is_consequential: bool = False
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def service_name(self) -> str:
        """Tools are grouped into services by the package (top-level) that defines them."""
        return (getattr(self.function, "__module__", None) or "local").split(".")[0]

    def spec(self) -> ToolSpec:
        return ToolSpec(
            id=self.name,
            description=self.description,
            parameters=self.parameters,
            is_consequential=self.is_consequential,
            service_name=self.service_name,
        )


def qualified_tool_id(service_name: str, tool_id: str) -> str:
    """A tool's id in events: "<service>:<tool>" (Parlant's ToolId written out)."""
    return f"{service_name}:{tool_id}" if service_name else tool_id


def unqualified_tool_id(event_tool_id: str) -> str:
    """The tool's own name from an event's "<service>:<tool>"."""
    return event_tool_id.rsplit(":", 1)[-1]


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}

    def register(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        consequential: bool = False,
    ) -> RegisteredTool:
        registered = describe_function(function, name=name, consequential=consequential)
        self._tools[registered.name] = registered
        return registered

    def get(self, name: str) -> RegisteredTool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [self._tools[name].spec() for name in self.names]


default_registry = ToolRegistry()


def tool(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    consequential: bool = False,
    registry: ToolRegistry | None = None,
) -> Any:
    """Register `function` as a tool (in `registry`, default the module-level one); return it."""

    def decorate(inner: Callable[..., Any]) -> Callable[..., Any]:
        target = registry if registry is not None else default_registry
        target.register(inner, name=name, consequential=consequential)
        return inner

    return decorate(function) if function is not None else decorate


def _docstring_parts(function: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    doc = inspect.getdoc(function) or ""
    description = doc.split("\n\n")[0].replace("\n", " ").strip()
    per_parameter: dict[str, str] = {}
    for match in re.finditer(r":param\s+(\w+):\s*(.+)", doc):
        per_parameter[match.group(1)] = match.group(2).strip()
    args_section = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.+\n?)+)", doc, re.M)
    if args_section:
        for line in args_section.group(1).splitlines():
            entry = re.match(r"\s+(\w+)(?:\s*\([^)]*\))?:\s*(.+)", line)
            if entry:
                per_parameter.setdefault(entry.group(1), entry.group(2).strip())
    return description, per_parameter


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(arguments) == 1 and len(typing.get_args(annotation)) == 2:
            return arguments[0], True
    return annotation, False


_LIST_ORIGINS = (list, tuple, set, frozenset, Sequence)


def _parameter_type(annotation: Any, where: str) -> tuple[str, tuple[str, ...], str]:
    """(type, allowed values, item type for an array)."""
    if typing.get_origin(annotation) in _LIST_ORIGINS:
        arguments = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(arguments) == 1:
            item_type, values = _scalar_type(arguments[0], where)
            return "array", values, item_type
    item, values = _scalar_type(annotation, where)
    return item, values, ""


def _scalar_type(annotation: Any, where: str) -> tuple[str, tuple[str, ...]]:
    if annotation is datetime:
        return "datetime", ()
    if annotation is date:
        return "date", ()
    if annotation is str:
        return "string", ()
    if annotation is bool:
        return "boolean", ()
    if annotation is int:
        return "integer", ()
    if annotation is float:
        return "number", ()
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return "string", tuple(str(member.value) for member in annotation)
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        if all(isinstance(value, str) for value in values):
            return "string", tuple(values)
    raise ToolDefinitionError(
        f"{where}: unsupported type {annotation!r}; use str, int, float, bool, date, datetime, an "
        "Enum, a Literal of strings, a list of one of these, or Optional of one of these."
    )


def describe_function(
    function: Callable[..., Any], *, name: str | None = None, consequential: bool = False
) -> RegisteredTool:
    tool_name = name or function.__name__
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as error:  # noqa: BLE001 - any resolution failure is a definition error
        raise ToolDefinitionError(f"{tool_name}: cannot resolve annotations ({error})") from error
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name != "context":
        raise ToolDefinitionError(
            f"{tool_name}: the first parameter must be `context: ToolContext`"
        )
    description, documented = _docstring_parts(function)
    described: list[ToolParameter] = []
    annotations: dict[str, Any] = {}
    for parameter in parameters[1:]:
        where = f"{tool_name}.{parameter.name}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ToolDefinitionError(f"{where}: *args and **kwargs cannot be described to a model")
        if parameter.name not in hints:
            raise ToolDefinitionError(f"{where}: missing type annotation")
        annotation = hints[parameter.name]
        parameter_description = documented.get(parameter.name, "")
        if typing.get_origin(annotation) is Annotated:
            annotation, *extras = typing.get_args(annotation)
            for extra in extras:
                if isinstance(extra, str):
                    parameter_description = extra
        annotation, is_optional = _unwrap_optional(annotation)
        type_name, enum_values, item_type = _parameter_type(annotation, where)
        annotations[parameter.name] = annotation
        has_default = parameter.default is not inspect.Parameter.empty
        described.append(
            ToolParameter(
                name=parameter.name,
                type=type_name,
                description=parameter_description,
                enum=enum_values,
                is_required=not is_optional and not has_default,
                item_type=item_type,
                default=_jsonable(parameter.default) if has_default else None,
            )
        )
    return RegisteredTool(
        name=tool_name,
        description=description,
        parameters=tuple(described),
        function=function,
        is_consequential=consequential,
        annotations=annotations,
    )


class InvalidArgument(ValueError):  # noqa: N818
    pass


def cast_argument(value: Any, parameter: ToolParameter, annotation: Any = None) -> Any:
    """Convert a model-supplied value to the parameter's type, or raise InvalidArgument.

    Words a person writes are normalised first ("15,000 dollars", "yes", "Express" for
    "express"); pydantic then casts and validates against the tool's annotation (or, for a tool
    known only by its description, the type the description names).
    """
    if value is None:
        return None
    if parameter.type == "array":
        item = ToolParameter(
            name=parameter.name, type=parameter.item_type or "string", enum=parameter.enum
        )
        arguments = typing.get_args(annotation) if annotation is not None else ()
        item_annotation = arguments[0] if len(arguments) == 1 else None
        items = [cast_argument(v, item, item_annotation) for v in _as_items(value)]
        return _validated(items, annotation if annotation is not None else list[Any])
    normalised = _normalised_scalar(value, parameter, annotation)
    return _validated(normalised, annotation if annotation is not None else _python_type(parameter))


def _as_items(value: Any) -> list[Any]:
    """A list from what a model or a person gives for one: a list, JSON, or "a, b and c"."""
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = None
            if isinstance(loaded, list):
                return loaded
        return [part.strip() for part in re.split(r",|;|\band\b|&", text) if part.strip()]
    return [value]


def _python_type(parameter: ToolParameter) -> Any:
    if parameter.enum:
        return Literal[tuple(parameter.enum)]  # type: ignore[valid-type]
    return {
        "boolean": bool,
        "integer": int,
        "number": float,
        "date": date,
        "datetime": datetime,
    }.get(parameter.type, str)


@lru_cache(maxsize=512)
def _adapter(annotation: Any) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(annotation)


def _validated(value: Any, annotation: Any) -> Any:
    try:
        adapter = _adapter(annotation)
    except TypeError:  # an unhashable annotation: build it afresh
        adapter = pydantic.TypeAdapter(annotation)
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as error:
        problem = error.errors()[0].get("msg", "invalid value") if error.errors() else "invalid"
        raise InvalidArgument(f"{value!r}: {problem}") from error


def _normalised_scalar(value: Any, parameter: ToolParameter, annotation: Any) -> Any:
    if parameter.type == "boolean":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("true", "yes", "1", "y"):
            return True
        if lowered in ("false", "no", "0", "n"):
            return False
        raise InvalidArgument(f"{value!r} is not yes or no")
    if parameter.type in ("integer", "number"):
        if isinstance(value, bool):
            raise InvalidArgument(f"{value!r} is not a number")
        if isinstance(value, int | float):
            number = value
        else:
            number = parse_number(str(value))
            if number is None:
                raise InvalidArgument(f"{value!r} is not a number")
        if parameter.type == "integer":
            if float(number) != int(number):
                raise InvalidArgument(f"{value!r} is not a whole number")
            return int(number)
        return float(number)
    if parameter.type in ("date", "datetime"):
        return value.strip() if isinstance(value, str) else value
    text = value if isinstance(value, str) else json.dumps(value)
    if parameter.enum:
        chosen = _match_enum(text, parameter.enum)
        if chosen is None:
            raise InvalidArgument(f"{text!r} is not one of {', '.join(parameter.enum)}")
        if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
            return next(member for member in annotation if str(member.value) == chosen)
        return chosen
    return text


def _match_enum(text: str, values: Sequence[str]) -> str | None:
    lowered = text.strip().lower()
    for value in values:
        if lowered == value.lower() or lowered == value.lower().replace("_", " "):
            return value
    return None


NUMBER_PATTERN = re.compile(
    r"(?<![\w.])([$€£]\s*)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(k|thousand|million|m)?\b",
    re.IGNORECASE,
)


def parse_number(text: str) -> float | None:
    match = NUMBER_PATTERN.search(text)
    if not match:
        return None
    whole = match.group(2).replace(",", "")
    number = float(f"{whole}.{match.group(3)}") if match.group(3) else float(whole)
    multiplier = {"k": 1e3, "thousand": 1e3, "million": 1e6, "m": 1e6}.get(
        (match.group(4) or "").lower(), 1
    )
    number *= multiplier
    return int(number) if number == int(number) else number


# ---------------------------------------------------------------------------------------------
# Rule-based argument extraction, for the local provider: never guesses, only reads what the
# customer wrote. A parameter it cannot find is reported missing, so the agent asks for it.

AMOUNT_WORDS = frozenset({"amount", "price", "cost", "total", "sum", "salary", "income", "balance"})
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE_PATTERN = re.compile(r"\+?\d[\d\s().-]{7,}\d")
DATE_NAME_WORDS = frozenset({"date", "day", "when"})
TIME_NAME_WORDS = frozenset({"time", "slot", "hour"})
# A date parameter about something that already happened reads "Friday" as the last one.
PAST_DATE_WORDS = frozenset(
    {"birth", "born", "birthday", "transaction", "purchase", "purchased", "ordered", "happened",
     "occurred", "incident", "previous", "past", "since", "joined", "charged", "paid", "last"}
)  # fmt: skip
GENERIC_NAME_WORDS = frozenset({"type", "kind", "name", "value", "option", "choice"})
# Words after which a description's head noun has ended ("the model | to drive").
_HEAD_NOUN_ENDS = frozenset(
    {"to", "you", "your", "the", "that", "which", "who", "as", "for", "of", "in", "on", "at",
     "or", "and", "with", "from", "customer", "they", "their", "e", "eg", "i", "ie"}
)  # fmt: skip
_DETERMINERS = frozenset({"the", "a", "an", "your", "their", "his", "her", "its", "this", "which"})


def parameter_words(parameter: Mapping[str, Any]) -> list[str]:
    return [w for w in re.split(r"[_\W]+", parameter["name"].lower()) if w]


def head_noun(parameter: Mapping[str, Any]) -> str:
    """The noun a parameter is about: "model" for car_model described as "The model to drive"."""
    description = words(parameter.get("description", ""))
    while description and description[0] in _DETERMINERS:
        description = description[1:]
    chunk: list[str] = []
    for word in description:
        if word in _HEAD_NOUN_ENDS or word in STOPWORDS and chunk:
            break
        chunk.append(word)
    if chunk and not re.search(r"\bor\b", parameter.get("description", "").lower()):
        return chunk[-1]
    specific = [w for w in parameter_words(parameter) if w not in GENERIC_NAME_WORDS]
    return specific[-1] if specific else parameter_words(parameter)[-1]


def is_date_parameter(parameter: Mapping[str, Any]) -> bool:
    if parameter.get("type") in ("date", "datetime") or parameter.get("item_type") == "date":
        return True
    description = parameter.get("description", "").lower()
    return bool(DATE_NAME_WORDS & set(parameter_words(parameter))) or bool(
        re.search(r"\byyyy-mm-dd\b|\bdate\b", description)
    )


def is_time_parameter(parameter: Mapping[str, Any]) -> bool:
    description = parameter.get("description", "").lower()
    return bool(TIME_NAME_WORDS & set(parameter_words(parameter))) or "hh:mm" in description


def extract_argument(
    parameter: Mapping[str, Any], texts: Sequence[str], today: date | None = None
) -> Any:
    """The value of `parameter` as stated in `texts` (latest first), or None if it is not there.

    Dates come back as YYYY-MM-DD, resolved against `today` when written relatively.
    """
    for text in texts:
        value = _extract_from(parameter, text, today)
        if value is not None:
            return value
    return None


def _extract_from(parameter: Mapping[str, Any], text: str, today: date | None) -> Any:
    if parameter.get("type") == "array":
        item = {**parameter, "type": parameter.get("item_type") or "string"}
        if item.get("enum"):
            lowered = text.lower()
            found = [
                value
                for value in item["enum"]
                if re.search(
                    r"\b" + re.escape(value.lower()).replace("_", "[ _]") + r"s?\b", lowered
                )
            ]
            return found or None
        value = _extract_from(item, text, today)
        return None if value is None else [value]
    name_words = parameter_words(parameter)
    lowered = text.lower()
    if parameter.get("enum"):
        for value in parameter["enum"]:
            pattern = r"\b" + re.escape(value.lower()).replace("_", "[ _]") + r"\b"
            if re.search(pattern, lowered):
                return value
        stems = {stem(w) for w in words(text)}
        for value in parameter["enum"]:
            if stem(value.lower()) in stems:
                return value
        return None
    kind = parameter.get("type", "string")
    if kind == "boolean":
        return None  # a yes/no the customer did not state explicitly is not ours to assume
    if kind in ("integer", "number") or AMOUNT_WORDS & set(name_words):
        number = _best_number(text, name_words)
        if number is None:
            return None
        return number if kind in ("integer", "number") else str(number)
    if "email" in name_words:
        match = EMAIL_PATTERN.search(text)
        return match.group(0) if match else None
    if "phone" in name_words:
        match = PHONE_PATTERN.search(text)
        return match.group(0).strip() if match else None
    if is_date_parameter(parameter):
        about = set(name_words) | set(words(parameter.get("description", "")))
        found = find_date(text, today, prefer_past=bool(PAST_DATE_WORDS & about))
        return found.isoformat() if found else None
    if is_time_parameter(parameter):
        return find_time(text)
    if {"four", "last4", "digits", "pin", "zip", "code", "number", "id"} & set(name_words):
        match = re.search(r"\b[A-Z0-9-]*\d[A-Z0-9-]*\b", text, re.IGNORECASE)
        if match and ("four" not in name_words or len(re.sub(r"\D", "", match.group(0))) == 4):
            return match.group(0)
        match = re.search(r"\b\d{4}\b", text) if "four" in name_words else None
        return match.group(0) if match else None
    for example in parameter.get("examples", ()):
        if re.search(r"\b" + re.escape(example.lower()) + r"\b", lowered):
            return example
    return _word_beside_name(name_words, text)


NAME_TOKEN = re.compile(r"[A-Za-z0-9][\w'-]*")
_NOT_A_CHOICE = frozenset([*WEEKDAY_NAMES, *MONTH_NAMES, "i", "ok", "okay", "please", "thanks"])


def attempted_choice(
    parameter: Mapping[str, Any], text: str, *, was_asked: bool = False
) -> str | None:
    """A value the customer named for a choice parameter that is not one of its choices.

    "The Model S on Saturday" names "Model S" for a car model choosing among Aurora, Bolt and
    Cruiser: the agent should say that one is not offered rather than ask as if nothing was
    said. Found next to the parameter's noun ("Model S", "Tesla model"), or, when the agent has
    just asked for this parameter (`was_asked`), as the whole of a short answer ("Tesla").
    """
    if not parameter.get("enum"):
        return None
    anchor = stem(head_noun(parameter))
    tokens = NAME_TOKEN.findall(text)
    for position, token in enumerate(tokens):
        if stem(token.lower()) != anchor:
            continue
        following: list[str] = []
        for candidate in tokens[position + 1 : position + 3]:
            if not _looks_like_a_name(candidate):
                break
            following.append(candidate)
        if following:
            return " ".join(([token] if token[0].isupper() else []) + following)
        if position > 0 and _looks_like_a_name(tokens[position - 1]):
            return tokens[position - 1]
    if was_asked and "?" not in text:
        content = [t for t in tokens if t.lower() not in STOPWORDS | _NOT_A_CHOICE]
        if 1 <= len(content) <= 3 and len(tokens) <= 6:
            return " ".join(content)
    return None


def _looks_like_a_name(token: str) -> bool:
    if len(token) == 1:
        return token.isupper() and token not in ("I", "A")  # "Model S", not "I" or "A"
    lowered = token.lower()
    if lowered in STOPWORDS or lowered in _NOT_A_CHOICE or find_time(token):
        return False
    return token[0].isupper() or any(character.isdigit() for character in token)


def _best_number(text: str, name_words: Sequence[str]) -> int | float | None:
    best: tuple[int, int | float] | None = None
    name_stems = {stem(w) for w in name_words}
    for match in NUMBER_PATTERN.finditer(text):
        number = parse_number(match.group(0))
        if number is None:
            continue
        following = words(text[match.end() : match.end() + 20])
        preceding = words(text[max(0, match.start() - 25) : match.start()])
        score = 0
        if following and stem(following[0]) in name_stems:
            score += 3
        if {stem(w) for w in preceding[-3:]} & name_stems:
            score += 2
        if match.group(1) or (following and following[0] in ("dollars", "usd", "euros", "eur")):
            score += 2 if AMOUNT_WORDS & set(name_words) else 0
        if following and following[0] in ("months", "month", "years", "year", "days", "day"):
            score -= 0 if stem(following[0]) in name_stems else 2
        if best is None or score > best[0]:
            best = (score, number)
    return best[1] if best else None


def _word_beside_name(name_words: Sequence[str], text: str) -> str | None:
    """ "account_type" in "my checking account" → "checking": the content word before the name."""
    tokens = words(text)
    anchors = {stem(w) for w in name_words if w not in GENERIC_NAME_WORDS}
    for position, token in enumerate(tokens):
        if stem(token) in anchors and position > 0:
            before = tokens[position - 1]
            if before not in STOPWORDS and len(before) > 1 and stem(before) not in anchors:
                return before
    return None


def was_asked_for(parameter: Mapping[str, Any], agent_text: str) -> bool:
    """Whether the agent's message asked for this parameter (its noun or all its choices)."""
    if "?" not in agent_text:
        return False
    lowered = agent_text.lower()
    choices = parameter.get("enum") or ()
    if choices and all(choice.lower() in lowered for choice in choices):
        return True
    return stem(head_noun(parameter)) in {stem(w) for w in words(agent_text)}


def local_tool_calls(
    payload: Mapping[str, Any], applying: set[str], journeys: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The local provider's tool calls: tools of applying guidelines and of journey tool steps.

    A value in the latest message overrides an earlier one; a choice the customer named that is
    not among the parameter's choices is passed on as given, so the engine reports it invalid and
    the reply can say so.
    """
    from engine.journeys import tool_steps_reached

    reached = tool_steps_reached(payload, journeys)
    history = payload.get("history", [])
    customer_texts = [m["text"] for m in reversed(history) if m["role"] == "customer"]
    latest_only = customer_texts[:1]
    earlier = customer_texts[:4]
    last_agent_text = _last_agent_text(history)
    today = parse_iso_date(payload.get("today", ""))
    already = {
        (result["tool_id"], json.dumps(result.get("arguments", {}), sort_keys=True))
        for result in payload.get("tool_results", ())
    }
    calls = []
    for spec in payload.get("tools", ()):
        if not any(user in applying or user in reached for user in spec.get("used_by", ())):
            continue
        arguments: dict[str, Any] = {}
        missing: list[str] = []
        for parameter in spec.get("parameters", ()):
            value = extract_argument(parameter, latest_only, today)
            if value is None and latest_only:
                value = attempted_choice(
                    parameter,
                    latest_only[0],
                    was_asked=was_asked_for(parameter, last_agent_text),
                )
            if value is None:
                value = extract_argument(parameter, earlier, today)
            if value is not None:
                arguments[parameter["name"]] = value
            elif parameter.get("required", True):
                missing.append(parameter["name"])
        if (spec["id"], json.dumps(arguments, sort_keys=True)) in already and not missing:
            continue
        calls.append({"tool_id": spec["id"], "arguments": arguments, "missing": missing})
    return calls


def _last_agent_text(history: Sequence[Mapping[str, Any]]) -> str:
    """The agent's message just before the latest customer message, if any."""
    for message in reversed(history[:-1] if history else []):
        if message["role"] == "agent":
            return message["text"]
        break
    return ""


# ---------------------------------------------------------------------------------------------
# Execution


# What a tool event stores as the data of a failed call (Parlant's shape); the reason goes in
# the result's metadata. Inside a turn a failure is the typed `error` field instead.
FAILED_CALL_DATA = "Tool call error"


@dataclass
class ToolCallRecord:
    tool_id: str
    arguments: dict[str, Any]
    result: ToolResult | None = None
    error: str = ""  # non-empty: the call failed (exception or timeout) and `result` is None
    duration_ms: float = 0.0

    def event_entry(self, service_name: str = "") -> dict[str, Any]:
        result = self.result or ToolResult(data=FAILED_CALL_DATA, metadata={"error": self.error})
        return {
            "tool_id": qualified_tool_id(service_name, self.tool_id),
            "arguments": _jsonable(self.arguments),
            "result": {
                "data": _jsonable(result.data),
                "metadata": _jsonable(result.metadata),
                "control": _jsonable(result.control),
                "canned_response_fields": _jsonable(result.canned_response_fields),
            },
        }


def stored_tool_failure(result: Mapping[str, Any]) -> str:
    """The reason a call stored in a tool event failed, or "" if it did not."""
    if result.get("data") != FAILED_CALL_DATA:
        return ""
    metadata = result.get("metadata")
    reason = metadata.get("error") if isinstance(metadata, Mapping) else None
    return str(reason or "the tool failed")


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


async def run_tool(
    registered: RegisteredTool,
    arguments: Mapping[str, Any],
    context: ToolContext,
    *,
    timeout_seconds: float = DEFAULT_TOOL_TIMEOUT_SECONDS,
) -> ToolCallRecord:
    """Run one tool; failures become an error record, never an exception (the turn goes on)."""
    started = time.perf_counter()
    record = ToolCallRecord(tool_id=registered.name, arguments=dict(arguments))
    try:
        if inspect.iscoroutinefunction(registered.function):
            call = registered.function(context, **arguments)
        else:
            call = asyncio.to_thread(registered.function, context, **arguments)
        value = await asyncio.wait_for(call, timeout=timeout_seconds)
        record.result = value if isinstance(value, ToolResult) else ToolResult(data=value)
    except TimeoutError:
        record.error = f"timed out after {timeout_seconds:g} s"
    except Exception as error:  # noqa: BLE001 - a tool's failure is data for the reply, not a crash
        logger.exception("tool failed", extra={"tool": registered.name})
        record.error = f"{type(error).__name__}: {error}"
    record.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return record


def prompt_view_of(data: Any) -> Any:
    """Tool data as a prompt may show it: cut to a bounded size."""
    text = json.dumps(_jsonable(data), ensure_ascii=False)
    if len(text) <= MAX_RESULT_CHARS_IN_PROMPT:
        return _jsonable(data)
    return text[:MAX_RESULT_CHARS_IN_PROMPT] + "…(truncated)"
