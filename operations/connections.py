"""Open WebSockets and long-polls: counted for the metrics, and drained on a graceful stop.

Draining is what a web process does between the order to stop and stopping: readiness turns
"not ready" so the load balancer sends no new clients, every waiting long-poll answers at once
with what a timeout answers (the events so far, or Parlant's 504 "Request timed out", which
every client already treats as "poll again"), and every WebSocket is closed with 4012 ("service
restart"), which the widget, the chat page and the dashboard treat as "reconnect". Their next
connection lands on another process and resumes from its last offset, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from operations.metrics import OPEN_LONG_POLLS, OPEN_WEBSOCKETS

logger = logging.getLogger(__name__)

# "Service restart, reconnect": RFC 6455's registry has 1012 for this, but Daphne's WebSocket
# library lets a server send only 1000 or 3000-4999, so it is 1012 moved into the private range.
# The widget, the chat page and the dashboard reconnect on any code but 4403 ("not allowed").
SERVICE_RESTART_CLOSE_CODE = 4012

Send = Callable[[dict[str, Any]], Awaitable[None]]

_is_draining = False
_open_sockets: set[Send] = set()
_open_long_polls = 0
_open_requests = 0  # HTTP requests in progress, long-polls included
_drain_signals: set[asyncio.Future] = set()
_all_closed: asyncio.Event | None = None  # set by drain(); fires when the last one leaves


def is_draining() -> bool:
    return _is_draining


def open_counts() -> tuple[int, int]:
    """(open WebSockets, open long-polls) in this process."""
    return len(_open_sockets), _open_long_polls


def _is_idle() -> bool:
    return not _open_sockets and not _open_requests


@contextmanager
def long_poll_open() -> Iterator[None]:
    global _open_long_polls
    _open_long_polls += 1
    OPEN_LONG_POLLS.inc()
    try:
        yield
    finally:
        _open_long_polls -= 1
        OPEN_LONG_POLLS.dec()


def _notice_if_all_closed() -> None:
    if _all_closed is not None and _is_idle():
        _all_closed.set()


async def wait_unless_draining[T](awaitable: Awaitable[T], *, seconds: float) -> T:
    """Await `awaitable` like `asyncio.wait_for`, but give up (TimeoutError) once draining."""
    if _is_draining:
        with suppress(Exception):
            awaitable.close()  # type: ignore[attr-defined]  # never awaited: no warning
        raise TimeoutError
    task = asyncio.ensure_future(awaitable)
    drain_signal = asyncio.get_running_loop().create_future()
    _drain_signals.add(drain_signal)
    try:
        done, _ = await asyncio.wait(
            {task, drain_signal}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            return task.result()
        raise TimeoutError
    finally:
        _drain_signals.discard(drain_signal)
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


class TrackedConnections:
    """ASGI middleware: counts HTTP requests in progress and accepted WebSockets, so a drain
    knows when every answer has been handed to the server, and can close the sockets."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Callable, send: Send) -> None:
        if scope["type"] == "http":
            await self._serve_http(scope, receive, send)
            return
        if scope["type"] != "websocket":
            await self.application(scope, receive, send)
            return
        accepted = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal accepted
            await send(message)
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                _open_sockets.add(send)
                OPEN_WEBSOCKETS.inc()
                if _is_draining:  # arrived after the stop began: off to another process
                    await send({"type": "websocket.close", "code": SERVICE_RESTART_CLOSE_CODE})

        try:
            await self.application(scope, receive, tracked_send)
        finally:
            if accepted:
                _open_sockets.discard(send)
                OPEN_WEBSOCKETS.dec()
                _notice_if_all_closed()

    async def _serve_http(self, scope: dict, receive: Callable, send: Send) -> None:
        global _open_requests
        _open_requests += 1
        try:
            await self.application(scope, receive, send)
        finally:
            _open_requests -= 1
            _notice_if_all_closed()


async def drain(*, grace_seconds: float) -> None:
    """Answer long-polls, close WebSockets with 4012, and wait (bounded) until all are gone."""
    global _is_draining, _all_closed
    _is_draining = True
    _all_closed = asyncio.Event()
    _notice_if_all_closed()
    sockets, polls = open_counts()
    logger.info("draining", extra={"open_websockets": sockets, "open_long_polls": polls})
    for signal in list(_drain_signals):
        if not signal.done():
            signal.set_result(None)
    for send in list(_open_sockets):
        try:
            await send({"type": "websocket.close", "code": SERVICE_RESTART_CLOSE_CODE})
        except Exception:
            logger.exception("closing a websocket failed")
    with suppress(TimeoutError):
        await asyncio.wait_for(_all_closed.wait(), grace_seconds)
    sockets, polls = open_counts()
    logger.info("drained", extra={"open_websockets": sockets, "open_long_polls": polls})


def install_daphne_graceful_stop(*, grace_seconds: float) -> None:
    """Make SIGTERM drain before Daphne stops, when this process is a Daphne server.

    Daphne's own SIGTERM stops the Twisted reactor, whose first shutdown step cancels every
    open connection's application: long-polls die mid-request and WebSockets drop with 1006.
    So SIGTERM first drains on the server's loop, then stops the reactor as before. SIGINT
    (Ctrl-C at a terminal) still stops at once. Under another ASGI server this does nothing.
    """
    import sys

    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor

    def begin_drain() -> None:
        async def drain_then_stop() -> None:
            try:
                await drain(grace_seconds=grace_seconds)
                # The last answers are in the sockets' buffers; stopping the reactor now would
                # drop them. Twisted lists every transport with bytes left to write.
                for _ in range(100):
                    if not reactor.getWriters():
                        break
                    await asyncio.sleep(0.02)
            finally:
                from operations.metrics import mark_this_process_dead

                mark_this_process_dead()
                if reactor.running:
                    reactor.stop()

        asyncio.get_event_loop().create_task(drain_then_stop())

    def graceful_sigterm(number: int, frame: Any = None) -> None:
        if _is_draining:  # a second SIGTERM: stop now
            reactor.callFromThread(reactor.stop)
            return
        reactor.callFromThread(begin_drain)

    reactor.sigTerm = graceful_sigterm
