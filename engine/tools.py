"""Tools (filled in below the walking skeleton)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def local_tool_calls(
    payload: Mapping[str, Any], applying: set[str], journeys: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return []


class ToolRegistry:
    pass
