"""Small server-side SVG charts for the insights page: no script, no CDN, text escaped."""

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR_COLOR = "#417690"  # the admin's own header blue
ALT_COLOR = "#e0a800"


def _n(value: float) -> str:
    """A coordinate with one decimal (format_html escapes its arguments to text first)."""
    return f"{value:.1f}"


def column_chart(points: Sequence[tuple[str, int]], *, title: str, height: int = 160) -> SafeString:
    """Vertical bars, one per point (label, value), with the value as each bar's tooltip."""
    width = max(240, 14 * len(points) + 40)
    top = max((value for _, value in points), default=0) or 1
    plot = height - 30
    step = (width - 40) / max(len(points), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        (
            (
                _n(30 + index * step),
                _n(10 + plot - plot * value / top),
                _n(max(step - 2, 1)),
                _n(plot * value / top),
                BAR_COLOR,
                label,
                value,
            )
            for index, (label, value) in enumerate(points)
        ),
    )
    first = points[0][0] if points else ""
    last = points[-1][0] if points else ""
    return format_html(
        '<svg class="insights-chart" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg">'
        '<text x="2" y="14" font-size="11">{}</text>{}'
        '<line x1="30" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
        '<text x="30" y="{}" font-size="10">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text></svg>',
        title,
        width,
        height,
        width,
        height,
        top,
        bars,
        10 + plot,
        width - 10,
        10 + plot,
        height - 4,
        first,
        width - 10,
        height - 4,
        last,
    )


def bar_list(rows: Sequence[tuple[str, int]], *, title: str, width: int = 520) -> SafeString:
    """Horizontal bars with their labels: for ranked lists (most matched guidelines, …)."""
    top = max((value for _, value in rows), default=0) or 1
    row_height = 22
    height = row_height * len(rows) + 8
    bars = format_html_join(
        "",
        '<g transform="translate(0,{})"><rect x="0" y="2" width="{}" height="16" fill="{}"/>'
        '<text x="4" y="15" font-size="11" fill="#000">{} ({})</text></g>',
        (
            (4 + index * row_height, _n((width - 10) * value / top), "#b6d4e3", label[:90], value)
            for index, (label, value) in enumerate(rows)
        ),
    )
    return format_html(
        '<svg class="insights-chart" role="img" aria-label="{}" width="{}" height="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg>',
        title,
        width,
        height,
        bars,
    )


def split_bar(parts: Sequence[tuple[str, int, str]], *, title: str, width: int = 520) -> SafeString:
    """One bar split into coloured parts (label, value, colour), e.g. resolved vs handed off."""
    total = sum(value for _, value, _ in parts) or 1
    offsets, position = [], 0.0
    for label, value, color in parts:
        share = width * value / total
        offsets.append((_n(position), _n(share), color, label, value))
        position += share
    segments = format_html_join(
        "",
        '<rect x="{}" y="0" width="{}" height="24" fill="{}"><title>{}: {}</title></rect>',
        offsets,
    )
    legend = format_html_join(
        "",
        '<text x="{}" y="40" font-size="11">{}: {}</text>',
        ((_n(float(x) + 2), label, value) for x, _share, _color, label, value in offsets),
    )
    return format_html(
        '<svg class="insights-chart" role="img" aria-label="{}" width="{}" height="46" '
        'xmlns="http://www.w3.org/2000/svg">{}{}</svg>',
        title,
        width,
        segments,
        legend,
    )
