"""Refuses input that no field could store, before any view sees it.

PostgreSQL stores neither NUL characters (text and jsonb alike) nor lone UTF-16 surrogates, which
also cannot be encoded into the UTF-8 of an error answer that quotes them; JSON nested thousands
deep exhausts Python's recursion; integers past 64 bits fit no database column. Each of these
is the client's mistake and answers 400 with a message, here, once, for every route.
"""

import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Parlant's payloads (metadata, tool arguments, custom event data) nest a handful of levels;
# 32 leaves room for any real document and stays far below Python's recursion limit.
MAX_JSON_DEPTH = 32
# The widest integer any column or counter holds (signed 64-bit).
LARGEST_INTEGER = 2**63 - 1
# Django's IntegerField is a 32-bit column on PostgreSQL: serializer fields stored in one (offsets,
# priorities) take this as their bound, so a larger value is a 422 and not a database error.
INTEGER_COLUMN_MAX = 2**31 - 1


class UnstorableInput(ValueError):
    pass


def problem_with_text(text: str) -> str | None:
    if "\x00" in text:
        return "NUL characters (\\u0000) are not allowed."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Lone UTF-16 surrogates (such as \\ud800) are not allowed."
    return None


def _parse_integer(literal: str) -> int:
    value = int(literal)
    if abs(value) > LARGEST_INTEGER:
        raise UnstorableInput("Integers must fit in 64 bits.")
    return value


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise UnstorableInput("Numbers must be finite.")
    return value


def _refuse_constant(name: str) -> Any:
    raise UnstorableInput(f"{name} is not a JSON number.")


def check_document(document: Any) -> None:
    """Raise UnstorableInput for the first unstorable string or too-deep nesting, iteratively."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            problem = problem_with_text(value)
            if problem:
                raise UnstorableInput(problem)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise UnstorableInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
            children: Iterable[Any] = (
                [*value.keys(), *value.values()] if isinstance(value, dict) else value
            )
            pending.extend((child, depth + 1) for child in children)


def loads_checked(raw: str | bytes) -> Any:
    """json.loads that refuses what could not be stored; UnstorableInput or ValueError."""
    try:
        document = json.loads(
            raw,
            parse_int=_parse_integer,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise UnstorableInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
    check_document(document)
    return document


class CheckedJSONParser(JSONParser):
    """DRF's JSON parser plus the checks above."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError:
            raise ParseError("The body is not valid UTF-8.") from None
        try:
            return loads_checked(raw)
        except UnstorableInput as problem:
            raise ParseError(str(problem)) from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None


def _request_problem(request: HttpRequest) -> str | None:
    texts = [request.path]
    for key, values in request.GET.lists():
        texts.append(key)
        texts.extend(values)
    for text in texts:
        if problem := problem_with_text(text):
            return problem
    return None


class RejectUnstorableRequests:
    """Middleware: a path or query string with NUL or a lone surrogate answers 400 JSON."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if problem := _request_problem(request):
            return JsonResponse({"detail": problem}, status=400)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if problem := _request_problem(request):
            return JsonResponse({"detail": problem}, status=400)
        return await self.get_response(request)
