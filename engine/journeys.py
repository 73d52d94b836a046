"""Journey navigation (filled in below the walking skeleton)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def local_journey_decisions(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return []
