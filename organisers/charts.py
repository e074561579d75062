"""Bar charts as SVG built on the server: no script, no third party, no
inline style (colours come from classes in the stylesheet), so they pass the
strict CSP and work with JavaScript off. Every chart has a data table beside
it for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.templatetags.sitthi import to_local_digits


def _number(value: int) -> str:
    return to_local_digits(f"{value:,}")


def daily_bars(days: Sequence[tuple[date, int]], *, label: str) -> SafeString:
    """Vertical bars, one per day, scaled to the busiest day."""
    if not days:
        return mark_safe("")  # noqa: S308  # nosec B308 B703 # empty
    width, height, top, bottom, left = 720, 220, 16, 28, 48
    plot_width, plot_height = width - left - 8, height - top - bottom
    peak = max(count for _day, count in days) or 1
    step = plot_width / len(days)
    bar = max(step * 0.8, 1)
    parts = [
        f'<svg class="chart chart-days" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line stroke="#666" x1="{left}" y1="{top + plot_height}" '
        f'x2="{width - 8}" y2="{top + plot_height}"/>',
        f'<text font-size="12" fill="#333" x="{left - 6}" y="{top + 10}" text-anchor="end">'
        f"{_number(peak)}</text>",
        f'<text font-size="12" fill="#333" x="{left - 6}" y="{top + plot_height}" text-anchor="end">'
        f"{_number(0)}</text>",
    ]
    for index, (day, count) in enumerate(days):
        bar_height = plot_height * count / peak
        x = left + index * step + (step - bar) / 2
        y = top + plot_height - bar_height
        day_text = to_local_digits(date_format(day, "j M Y"))
        parts.append(
            f'<rect fill="#2a6f97" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
            f'height="{bar_height:.1f}"><title>{escape(day_text)}: {_number(count)}</title></rect>'
        )
    first = to_local_digits(date_format(days[0][0], "j M Y"))
    last = to_local_digits(date_format(days[-1][0], "j M Y"))
    parts.append(
        f'<text font-size="12" fill="#333" x="{left}" y="{height - 8}">{escape(first)}</text>'
        f'<text font-size="12" fill="#333" x="{width - 8}" y="{height - 8}" text-anchor="end">'
        f"{escape(last)}</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 # texts escaped above


def horizontal_bars(rows: Sequence[tuple[str, int]], *, label: str, shown: int = 15) -> SafeString:
    """One labelled horizontal bar per row (the largest `shown` rows)."""
    rows = list(rows)[:shown]
    if not rows:
        return mark_safe("")  # noqa: S308  # nosec B308 B703 # empty
    row_height, label_width, width = 24, 200, 720
    bar_space = width - label_width - 90
    height = row_height * len(rows) + 8
    peak = max(count for _name, count in rows) or 1
    parts = [
        f'<svg class="chart chart-bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    for index, (name, count) in enumerate(rows):
        y = 4 + index * row_height
        bar_width = max(bar_space * count / peak, 1 if count else 0)
        parts.append(
            f'<text font-size="12" fill="#333" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(name[:32])}</text>"
            f'<rect fill="#2a6f97" x="{label_width}" y="{y + 3}" width="{bar_width:.1f}" '
            f'height="{row_height - 8}"/>'
            f'<text font-size="12" fill="#333" x="{label_width + bar_width + 6:.1f}" y="{y + 16}">'
            f"{_number(count)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 # texts escaped above
