"""A real OpenAI-compatible HTTP server on 127.0.0.1, for tests and benchmarks.

It speaks enough of OpenAI's wire format for the official client: chat completions (plain JSON,
or server-sent events when stream=True), embeddings and moderations. Chat replies come from a
handler, faults can be queued for the next requests, and every request is recorded.

    with ScriptedOpenAI(lambda body: {"answer": "yes"}) as server:
        client = openai.AsyncOpenAI(api_key="test", base_url=server.base_url)
        ...
        assert len(server.chat_requests) == 1

In pytest, take the `scripted_openai` fixture, assign `chat_handler` and call `fail_next(...)`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

ChatHandler = Callable[[dict[str, Any]], str | dict[str, Any]]
"""Takes the request body, returns the reply content: a string, or a dict sent as its JSON."""
ModerationHandler = Callable[[str], Collection[str]]
"""Takes one input text, returns the OpenAI categories to flag (e.g. "self-harm/intent")."""

CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
MODERATIONS_PATH = "/v1/moderations"

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class HttpError:
    """Answer with this status and an OpenAI-shaped error body (any endpoint)."""

    status: int = 500
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class Delay:
    """Wait this long, then answer normally; a client with a shorter timeout gives up first."""

    seconds: float


@dataclass(frozen=True)
class MalformedJson:
    """Reply to a chat completion with content that is not JSON at all."""


@dataclass(frozen=True)
class SchemaMismatch:
    """Reply to a chat completion with a JSON object that breaks any closed or required schema."""


Fault = HttpError | Delay | MalformedJson | SchemaMismatch

MALFORMED_CONTENT = '{"scripted": "unterminated'
MISMATCHED_CONTENT = json.dumps({"scripted_schema_mismatch": True})


class ScriptedOpenAI:
    """An OpenAI-compatible server in a background thread; see the module docstring."""

    def __init__(
        self,
        chat_handler: ChatHandler | None = None,
        *,
        moderation_handler: ModerationHandler | None = None,
        embedding_dimensions: int = 64,
        embedder: Callable[[list[str]], list[list[float]]] | None = None,
        supports_json_schema: bool = True,
    ) -> None:
        self.chat_handler: ChatHandler = chat_handler or default_chat_reply
        self.moderation_handler: ModerationHandler = moderation_handler or (lambda text: ())
        self.embedding_dimensions = embedding_dimensions
        # Set: /v1/embeddings answers with these vectors (e.g. the local sentence model, so that
        # similarity means something) instead of deterministic hashed ones.
        self.embedder = embedder
        # False imitates servers that only know JSON mode: json_schema requests get a 400.
        self.supports_json_schema = supports_json_schema
        self.handler_errors: list[Exception] = []
        self._requests: list[RecordedRequest] = []
        self._faults: deque[tuple[str | None, Fault]] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ScriptedOpenAI:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.close()
        if exc_type is None:
            self.check_handler_errors()

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._server.scripted = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-openai",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._closing.set()  # wakes handlers parked in a Delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def check_handler_errors(self) -> None:
        """Raise if a handler raised: its 500 alone may have been retried away by the client."""
        if self.handler_errors:
            raise AssertionError("a scripted handler raised") from self.handler_errors[0]

    @property
    def base_url(self) -> str:
        """What to pass as the client's base_url (or OPENAI_BASE_URL)."""
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def fail_next(self, *faults: Fault, path: str | None = None) -> None:
        """Queue faults; each of the next requests (to `path`, default any endpoint) takes one,
        in order."""
        with self._lock:
            self._faults.extend((path, fault) for fault in faults)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        """Bodies of the requests made to `path` (e.g. EMBEDDINGS_PATH), oldest first."""
        return [request.body for request in self.requests if request.path == path]

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return self.requests_to(CHAT_PATH)

    @property
    def prompts(self) -> list[str]:
        """Each chat request's message contents joined by blank lines, for substring asserts."""
        return [
            "\n\n".join(_text_of(message.get("content")) for message in body.get("messages", []))
            for body in self.chat_requests
        ]

    def _respond(self, handler: _RequestHandler) -> None:
        raw_body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw_body or b"{}")
        except json.JSONDecodeError:
            _send_error(handler, 400, "The request body is not JSON.")
            return
        path = urlsplit(handler.path).path
        with self._lock:
            self._requests.append(RecordedRequest(path=path, body=body))
            fault = None
            for queued in self._faults:
                if queued[0] in (None, path):
                    self._faults.remove(queued)
                    fault = queued[1]
                    break

        if isinstance(fault, HttpError):
            headers = {"x-should-retry": "false"}  # leave retrying to the caller under test
            if fault.retry_after_seconds is not None:
                headers["retry-after"] = str(fault.retry_after_seconds)
            _send_error(handler, fault.status, f"Scripted HTTP {fault.status}.", headers)
            return
        if isinstance(fault, Delay):
            if self._closing.wait(fault.seconds):
                handler.close_connection = True
                return
            fault = None

        routes = {
            CHAT_PATH: self._chat_completion,
            EMBEDDINGS_PATH: self._embeddings,
            MODERATIONS_PATH: self._moderations,
        }
        if path not in routes:
            _send_error(handler, 404, f"No scripted route for {path}.")
        elif fault is not None and path != CHAT_PATH:
            _send_error(handler, 400, f"Scripted {type(fault).__name__} only fits chat requests.")
        else:
            try:
                routes[path](handler, body, fault)
            except (BrokenPipeError, ConnectionResetError):
                raise  # the client gave up first; do_POST drops these
            except Exception as error:
                # Surfaced again by __exit__, so a broken handler fails the test that used it.
                self.handler_errors.append(error)
                _send_error(handler, 500, f"Scripted handler raised {error!r}.")

    def _chat_completion(
        self, handler: _RequestHandler, body: dict[str, Any], fault: Fault | None
    ) -> None:
        response_format = body.get("response_format") or {}
        if not self.supports_json_schema and response_format.get("type") == "json_schema":
            _send_error(handler, 400, "response_format type 'json_schema' is not supported.")
            return
        if isinstance(fault, MalformedJson):
            content = MALFORMED_CONTENT
        elif isinstance(fault, SchemaMismatch):
            content = MISMATCHED_CONTENT
        else:
            reply = self.chat_handler(body)
            content = reply if isinstance(reply, str) else json.dumps(reply)

        completion_id = f"chatcmpl-scripted-{next(self._ids)}"
        model = body.get("model", "scripted")
        prompt_tokens = sum(
            count_tokens(_text_of(message.get("content"))) for message in body.get("messages", [])
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": count_tokens(content),
            "total_tokens": prompt_tokens + count_tokens(content),
        }
        if not body.get("stream"):
            _send_json(
                handler,
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": usage,
                },
            )
            return

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
                **extra,
            }

        pieces = re.findall(r"\s*\S+\s*", content) or [content]
        events = [
            chunk([{"index": 0, "delta": {"role": "assistant", "content": piece}}])
            for piece in pieces
        ]
        events.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(chunk([], usage=usage))
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")  # the body ends when the connection does
        handler.end_headers()
        handler.close_connection = True
        for event in events:
            handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")

    def _embeddings(self, handler: _RequestHandler, body: dict[str, Any], fault: None) -> None:
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [_text_of(item) for item in inputs]
        dimensions = int(body.get("dimensions") or self.embedding_dimensions)
        is_base64 = body.get("encoding_format") == "base64"
        vectors = self.embedder(texts) if self.embedder else None
        if vectors:
            dimensions = len(vectors[0])
        data = []
        for index, text in enumerate(texts):
            vector = vectors[index] if vectors else embedding_for(text, dimensions)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
                if is_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(count_tokens(text) for text in texts)
        _send_json(
            handler,
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "scripted-embedding"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _moderations(self, handler: _RequestHandler, body: dict[str, Any], fault: None) -> None:
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else [_text_of(item) for item in inputs]
        results = []
        for text in texts:
            flagged = set(self.moderation_handler(text))
            if unknown := flagged - set(MODERATION_CATEGORIES):
                raise ValueError(f"unknown moderation categories {sorted(unknown)}")
            results.append(
                {
                    "flagged": bool(flagged),
                    "categories": {name: name in flagged for name in MODERATION_CATEGORIES},
                    "category_scores": {
                        name: 0.99 if name in flagged else 0.001 for name in MODERATION_CATEGORIES
                    },
                    "category_applied_input_types": {
                        name: ["text"] if name in flagged else [] for name in MODERATION_CATEGORIES
                    },
                }
            )
        _send_json(
            handler,
            200,
            {
                "id": f"modr-scripted-{next(self._ids)}",
                "model": body.get("model", "omni-moderation-latest"),
                "results": results,
            },
        )


def default_chat_reply(body: dict[str, Any]) -> str | dict[str, Any]:
    """The smallest reply that satisfies the requested json_schema; "OK" for plain text."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return minimal_instance(response_format.get("json_schema", {}).get("schema", {}))
    if response_format.get("type") == "json_object":
        return {}
    return "OK"


def minimal_instance(schema: Mapping[str, Any]) -> Any:
    """A value satisfying `schema`: first enum values, empty strings and lists, required keys."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return minimal_instance(schema["anyOf"][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            key: minimal_instance(properties.get(key, {})) for key in schema.get("required", ())
        }
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)


def embedding_for(text: str, dimensions: int = 64) -> list[float]:
    """A hashed bag of words, L2-normalised: equal texts get equal vectors, shared words similar."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vector[int.from_bytes(digest, "big") % dimensions] += 1.0
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0:
        vector[0] = 1.0  # a text without words still gets a unit vector
        return vector
    return [value / norm for value in vector]


def count_tokens(text: str) -> int:
    """Whitespace-separated words: deterministic stand-in for a tokenizer."""
    return len(text.split())


def _text_of(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content)


def _send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def _send_error(
    handler: BaseHTTPRequestHandler,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    error_type = "invalid_request_error" if status < 500 else "server_error"
    payload = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    _send_json(handler, status, payload, headers)


class _Server(ThreadingHTTPServer):
    scripted: ScriptedOpenAI
    # Keep-alive connections from a live client must not make close() wait for their threads.
    block_on_close = False


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, so benchmarks do not pay a connect per call
    # Headers and body go out in separate writes; without TCP_NODELAY each reply waits ~40 ms
    # for the client's delayed ACK.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        # A client that gave up first (e.g. on a timeout) has closed the socket: nothing to tell it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.server.scripted._respond(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read `requests`, not stderr."""


@pytest.fixture
def scripted_openai() -> Iterator[ScriptedOpenAI]:
    """A running ScriptedOpenAI: set `chat_handler`, queue `fail_next(...)`, read `requests`."""
    with ScriptedOpenAI() as server:
        yield server
