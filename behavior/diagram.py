"""Journey diagrams: Mermaid text (Parlant's GET /journeys/{id}/mermaid) and a server-side SVG
for the admin, so the graph renders with no JavaScript library and no network."""

import html
import re
import textwrap
from dataclasses import dataclass

from behavior.models import Journey, JourneyState

_NORMAL_STYLE = "fill:#006e53,stroke:#ffffff,stroke-width:2px,color:#ffffff"
_TOOL_STYLE = "fill:#ffeeaa,stroke:#ffeeaa,stroke-width:2px,color:#dd6600"


def _mermaid_entity(match: re.Match[str]) -> str:
    number = match.group(1)
    return f"#{int(number[1:], 16)};" if number.startswith("x") else f"#{number};"


def _mermaid_text(text: str) -> str:
    """Escape for a Mermaid label: HTML entities written Mermaid's way (#39;), on one line."""
    escaped = html.escape(" ".join(text.split()), quote=True)
    return re.sub(r"&#(x[0-9a-fA-F]+|[0-9]+);", _mermaid_entity, escaped)


def _state_label(state: JourneyState) -> str:
    if state.kind == JourneyState.Kind.TOOL:
        tools = ", ".join(tool.id for tool in state.tools.all())
        return state.action or f"run {tools}"
    if state.kind == JourneyState.Kind.FORK:
        return state.description or "Fork"
    return state.action or state.description


def journey_mermaid(journey: Journey) -> str:
    """A `stateDiagram-v2`: [*] for the start and the end, one styled node per state."""
    states = list(journey.states.prefetch_related("tools"))
    transitions = list(journey.transitions.all())
    by_id = {state.id: state for state in states}
    aliases: dict[str, str] = {}

    def alias(state_id: str) -> str:
        state = by_id[state_id]
        if state.kind in (JourneyState.Kind.INITIAL, JourneyState.Kind.END):
            return "[*]"
        return aliases.setdefault(state_id, f"N{len(aliases)}")

    lines = ["stateDiagram-v2"]
    declarations: list[str] = []
    styles: list[str] = []
    arrows: list[str] = []
    for transition in transitions:
        source, target = alias(transition.source_id), alias(transition.target_id)
        label = f": {_mermaid_text(transition.condition)}" if transition.condition else ""
        arrows.append(f"    {source} --> {target}{label}")
    for state in states:
        if state.kind in (JourneyState.Kind.INITIAL, JourneyState.Kind.END):
            continue
        name = alias(state.id)
        declarations.append(f'    state "{_mermaid_text(_state_label(state))}" as {name}')
        style = _TOOL_STYLE if state.kind == JourneyState.Kind.TOOL else _NORMAL_STYLE
        styles.append(f"    style {name} {style}")
    return "\n".join([*lines, *declarations, *arrows, *styles])


# --- SVG ---------------------------------------------------------------------------------------

_BOX_WIDTH = 220
_LINE_HEIGHT = 16
_COLUMN_GAP = 40
_ROW_GAP = 70
_MARGIN = 30
_COLORS = {
    JourneyState.Kind.INITIAL: ("#333333", "#ffffff"),
    JourneyState.Kind.END: ("#333333", "#ffffff"),
    JourneyState.Kind.CHAT: ("#006e53", "#ffffff"),
    JourneyState.Kind.TOOL: ("#ffeeaa", "#8a4b00"),
    JourneyState.Kind.FORK: ("#d9e6f2", "#1f3b57"),
}


# Labels wrap rather than run off the picture: 28 characters of 12px italic fit _LABEL_ROOM.
_LABEL_CHARS = 28
_LABEL_ROOM = 200


def _wrapped(text: str, width: int, max_lines: int) -> list[str]:
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines


@dataclass
class _Box:
    state: JourneyState
    lines: list[str]
    x: int = 0
    y: int = 0

    @property
    def height(self) -> int:
        return max(30, 12 + _LINE_HEIGHT * len(self.lines))


def _levels(states: list[JourneyState], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Breadth-first depth from the start; unreachable states go one row below the rest."""
    outgoing: dict[str, list[str]] = {}
    for source, target in edges:
        outgoing.setdefault(source, []).append(target)
    start = next((s.id for s in states if s.kind == JourneyState.Kind.INITIAL), None)
    depth: dict[str, int] = {}
    if start:
        depth[start] = 0
        frontier = [start]
        while frontier:
            following = []
            for state_id in frontier:
                for target in outgoing.get(state_id, []):
                    if target not in depth:
                        depth[target] = depth[state_id] + 1
                        following.append(target)
            frontier = following
    bottom = max(depth.values(), default=-1) + 1
    end = next((s.id for s in states if s.kind == JourneyState.Kind.END), None)
    if end in depth:
        depth[end] = max(depth.values())  # the end sits on the last row
    for state in states:
        depth.setdefault(state.id, bottom)
    return depth


def journey_svg(journey: Journey) -> str:
    """The journey as a standalone SVG document; every label is HTML-escaped."""
    states = list(journey.states.prefetch_related("tools"))
    transitions = list(journey.transitions.all())
    boxes = {}
    for state in states:
        if state.kind == JourneyState.Kind.INITIAL:
            text = "Start"
        elif state.kind == JourneyState.Kind.END:
            text = "End"
        else:
            prefix = {"tool": "⚙ ", "fork": "⑂ "}.get(state.kind, "")
            text = prefix + (_state_label(state) or state.get_kind_display())
        boxes[state.id] = _Box(state, _wrapped(text, 30, 6))
    depth = _levels(states, [(t.source_id, t.target_id) for t in transitions])
    rows: dict[int, list[_Box]] = {}
    for state in states:
        rows.setdefault(depth[state.id], []).append(boxes[state.id])
    widest = max((len(row) for row in rows.values()), default=1)
    boxes_width = _MARGIN * 2 + widest * _BOX_WIDTH + (widest - 1) * _COLUMN_GAP
    # Transition labels start beside the arrow's middle: room on the right keeps them whole.
    label_room = _LABEL_ROOM if any(t.condition for t in transitions) else 0
    width = boxes_width + label_room
    y = _MARGIN
    for level in sorted(rows):
        row = rows[level]
        row_width = len(row) * _BOX_WIDTH + (len(row) - 1) * _COLUMN_GAP
        x = (boxes_width - row_width) // 2
        for box in row:
            box.x, box.y = x, y
            x += _BOX_WIDTH + _COLUMN_GAP
        y += max(box.height for box in row) + _ROW_GAP
    height = y - _ROW_GAP + _MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
        f'role="img" aria-label="{html.escape(journey.title)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for transition in transitions:
        source, target = boxes.get(transition.source_id), boxes.get(transition.target_id)
        if source is None or target is None:
            continue
        x1, y1 = source.x + _BOX_WIDTH // 2, source.y + source.height
        x2, y2 = target.x + _BOX_WIDTH // 2, target.y
        if target.y <= source.y:  # a way back up: route around the right side
            x1, y1 = source.x + _BOX_WIDTH, source.y + source.height // 2
            x2, y2 = target.x + _BOX_WIDTH, target.y + target.height // 2
            bend = max(x1, x2) + 30
            path = f"M {x1} {y1} C {bend} {y1}, {bend} {y2}, {x2} {y2}"
        else:
            middle = (y1 + y2) // 2
            path = f"M {x1} {y1} C {x1} {middle}, {x2} {middle}, {x2} {y2}"
        parts.append(
            f'<path d="{path}" fill="none" stroke="#555" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>'
        )
        if transition.condition:
            lines = _wrapped(transition.condition, _LABEL_CHARS, 3)
            x, top = (x1 + x2) // 2 + 6, (y1 + y2) // 2 - (len(lines) - 1) * 7
            spans = "".join(
                f'<tspan x="{x}" y="{top + index * 14}">{html.escape(line)}</tspan>'
                for index, line in enumerate(lines)
            )
            parts.append(f'<text fill="#1f3b57" font-style="italic">{spans}</text>')
    for box in boxes.values():
        fill, ink = _COLORS[box.state.kind]
        rounded = 15 if box.state.kind in (JourneyState.Kind.INITIAL, JourneyState.Kind.END) else 6
        parts.append(
            f'<g data-state-id="{html.escape(box.state.id)}"><title>'
            f"{html.escape(box.state.get_kind_display())}</title>"
            f'<rect x="{box.x}" y="{box.y}" width="{_BOX_WIDTH}" height="{box.height}" '
            f'rx="{rounded}" fill="{fill}" stroke="#333"/>'
        )
        for index, line in enumerate(box.lines):
            parts.append(
                f'<text x="{box.x + _BOX_WIDTH // 2}" y="{box.y + 20 + index * _LINE_HEIGHT}" '
                f'text-anchor="middle" fill="{ink}">{html.escape(line)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
