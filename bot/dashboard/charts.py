"""Server-rendered SVG charts (no JavaScript, no charting library): bar charts with labels and
``<title>`` tooltips. Every text goes through :func:`html.escape`; the SVG is wrapped in Markup."""
from __future__ import annotations

from html import escape
from typing import List, Sequence, Tuple

from markupsafe import Markup


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def column_chart(points: Sequence[Tuple[str, int]], *, label: str, tick_every: int = 1, height: int = 180,
                 tick_format=lambda k: k) -> Markup:
    """Vertical bars, one per point (e.g. one per day or hour), with a y axis max and x ticks."""
    n = max(len(points), 1)
    width = 640
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    peak = _nice_max(max((v for _, v in points), default=0))
    slot = plot_w / n
    bar = max(slot * 0.78, 1.0)
    parts: List[str] = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
        f'<line class="grid" x1="{left}" y1="{top}" x2="{width - 6}" y2="{top}"/>',
    ]
    for i, (key, value) in enumerate(points):
        h = plot_h * value / peak if peak else 0
        x = left + i * slot + (slot - bar) / 2
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                     f'<title>{escape(str(key))}: {value}</title></rect>')
        if tick_every and i % tick_every == 0:
            parts.append(f'<text class="tick" x="{left + i * slot + slot / 2:.1f}" y="{height - 6}" '
                         f'text-anchor="middle">{escape(tick_format(str(key)))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_list(items: Sequence[Tuple[str, int]], *, label: str, css: Sequence[str] = ()) -> Markup:
    """Horizontal bars with the label and the count on each row (outcomes, topics)."""
    peak = max((v for _, v in items), default=0) or 1
    row_h, width, label_w = 28, 640, 220
    height = row_h * max(len(items), 1) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (key, value) in enumerate(items):
        y = i * row_h + 4
        w = (width - label_w - 60) * value / peak
        cls = css[i] if i < len(css) else ""
        parts.append(f'<text class="label" x="0" y="{y + 17}">{escape(str(key))}</text>'
                     f'<rect class="bar {escape(cls)}" x="{label_w}" y="{y + 3}" width="{max(w, 1 if value else 0):.1f}" '
                     f'height="{row_h - 8}"><title>{escape(str(key))}: {value}</title></rect>'
                     f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 17}">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
