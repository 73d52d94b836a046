"""Hook points where code outside the engine can inspect or change a turn, or stop it.

Each hook is an async callable `(context: HookContext, payload) -> HookAction | None`. Hooks of one
point run in order: CALL_NEXT (or None) continues with the next one, RESOLVE ends the chain
successfully, BAIL ends the chain and abandons what the point guards (see EngineHooks).
Payloads are mutable on purpose: a hook changes the turn by changing its payload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.types import AgentSnapshot, Customer


class HookAction(StrEnum):
    CALL_NEXT = "call_next"
    RESOLVE = "resolve"
    BAIL = "bail"


@dataclass(frozen=True)
class HookContext:
    snapshot: AgentSnapshot
    session_id: str
    customer: Customer
    trace_id: str


Hook = Callable[[HookContext, Any], Awaitable[HookAction | None]]


@dataclass
class MatchingPayload:
    """Before matching: `candidate_ids` may be narrowed. After: `matched_ids` may be edited."""

    candidate_ids: list[str] = field(default_factory=list)
    matched_ids: list[str] = field(default_factory=list)


@dataclass
class MessagePayload:
    """Before the message: `text` may be rewritten. After: read-only record of what was sent."""

    text: str
    canned_response_ids: list[str] = field(default_factory=list)
    offset: int | None = None


@dataclass
class EngineHooks:
    """The hook points, in the order a turn reaches them.

    BAIL at on_acknowledging drops the turn silently (no events). BAIL at before/after matching
    ends the turn after the `ready` status with no reply. BAIL at on_before_message suppresses the
    reply. on_error hooks see the exception as payload; BAIL there suppresses the error status.
    """

    on_acknowledging: list[Hook] = field(default_factory=list)
    on_before_matching: list[Hook] = field(default_factory=list)
    on_after_matching: list[Hook] = field(default_factory=list)
    on_before_message: list[Hook] = field(default_factory=list)
    on_after_message: list[Hook] = field(default_factory=list)
    on_error: list[Hook] = field(default_factory=list)


async def run_hooks(hooks: Sequence[Hook], context: HookContext, payload: Any) -> HookAction:
    """Run one hook point; return BAIL if any hook bailed, else CALL_NEXT."""
    for hook in hooks:
        action = await hook(context, payload)
        if action == HookAction.BAIL:
            return HookAction.BAIL
        if action == HookAction.RESOLVE:
            break
    return HookAction.CALL_NEXT
