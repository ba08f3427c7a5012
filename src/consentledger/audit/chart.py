"""Reads per day as an inline SVG bar chart: granted and denied stacked, no script, no fonts to
fetch, so the HTML report opens anywhere, offline."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 220
_MARGIN_LEFT = 44
_MARGIN_BOTTOM = 36
_MARGIN_TOP = 12
GRANTED_COLOUR = "#2f7d4f"
DENIED_COLOUR = "#c0392b"


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^k that is >= value (at least 1)."""
    ceiling = 1
    while True:
        for step in (1, 2, 5):
            if step * ceiling >= value:
                return step * ceiling
        ceiling *= 10


def reads_per_day_svg(days: Sequence[tuple[str, int, int]]) -> Markup:
    """An SVG of (day, granted, denied) bars; a short note when there are no reads."""
    if not days:
        return Markup('<p class="muted">No reads in the audited window.</p>')
    top = _nice_ceiling(max(g + d for _, g, d in days))
    plot_w = WIDTH - _MARGIN_LEFT - 8
    plot_h = HEIGHT - _MARGIN_TOP - _MARGIN_BOTTOM
    slot = plot_w / len(days)
    bar = min(48.0, max(1.0, slot * 0.8))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="Reads per day">',
        f'<line x1="{_MARGIN_LEFT}" y1="{_MARGIN_TOP + plot_h}" x2="{WIDTH - 8}" '
        f'y2="{_MARGIN_TOP + plot_h}" stroke="#888"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _MARGIN_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<text x="{_MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{round(top * fraction)}</text>'
        )
    label_every = max(1, len(days) // 8)
    for index, (day, granted, denied) in enumerate(days):
        x = _MARGIN_LEFT + index * slot + (slot - bar) / 2
        granted_h = plot_h * granted / top
        denied_h = plot_h * denied / top
        base = _MARGIN_TOP + plot_h
        title = escape(f"{day}: {granted} granted, {denied} denied")
        parts.append(f"<g><title>{title}</title>")
        parts.append(
            f'<rect x="{x:.1f}" y="{base - granted_h:.1f}" width="{bar:.1f}" '
            f'height="{granted_h:.1f}" fill="{GRANTED_COLOUR}"/>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{base - granted_h - denied_h:.1f}" width="{bar:.1f}" '
            f'height="{denied_h:.1f}" fill="{DENIED_COLOUR}"/>'
        )
        parts.append("</g>")
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                f'font-size="11">{escape(day[5:])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
