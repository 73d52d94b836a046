"""Context variables: values for this customer, refreshed through their tool when stale."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.tools import ToolCallRecord, ToolContext, ToolRegistry, run_tool
from engine.types import ContextVariable


@dataclass
class ResolvedVariables:
    values: dict[str, Any]  # name -> value, for prompts and {{std.variables.NAME}}
    refreshed: dict[str, Any]  # variable id -> new value, for the adapter to store
    tool_calls: list[ToolCallRecord]


async def resolve_variables(
    variables: Sequence[ContextVariable], registry: ToolRegistry | None, context: ToolContext
) -> ResolvedVariables:
    """Refresh every stale tool-backed variable at once (Parlant does them one by one)."""
    stale = [
        variable
        for variable in variables
        if variable.tool_id
        and variable.is_stale
        and registry is not None
        and variable.tool_id in registry
    ]
    records = await asyncio.gather(
        *(run_tool(registry.get(v.tool_id), {}, context) for v in stale if registry is not None)  # type: ignore[arg-type]
    )
    refreshed: dict[str, Any] = {}
    for variable, record in zip(stale, records, strict=True):
        if record.result is not None:
            refreshed[variable.id] = record.result.data
    values = {
        variable.name: refreshed.get(variable.id, variable.value)
        for variable in variables
        if refreshed.get(variable.id, variable.value) is not None
    }
    return ResolvedVariables(values=values, refreshed=refreshed, tool_calls=list(records))
