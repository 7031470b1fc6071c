"""Charts as inline SVG strings, drawn here so the report needs nothing from a CDN and no JavaScript.

Every label that can come from data is escaped; numbers are formatted, never interpolated raw.
"""

from __future__ import annotations

from html import escape

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#000000")
SPIKE_COLOUR = "#D55E00"
BAR_COLOUR = "#8AA9C9"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (an axis maximum that reads well)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _grid(left: int, top: int, width: int, height: int, ymax: float, lines: int = 4) -> list[str]:
    parts = []
    for i in range(lines + 1):
        y = top + height - height * i / lines
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{_number(ymax * i / lines)}</text>'
        )
    return parts


def labelled(count: int, every: int) -> list[int]:
    """Indexes of the axis labels to draw: every ``every``-th, and the last one when it does not crowd the one
    before it."""
    shown = list(range(0, count, every))
    if count and shown[-1] != count - 1:
        if count - 1 - shown[-1] <= every / 2:
            shown.pop()
        shown.append(count - 1)
    return shown


def _x_labels(labels: list[str], left: int, top: int, width: int, height: int, every: int) -> list[str]:
    step = width / max(len(labels) - 1, 1)
    return [
        f'<text x="{left + i * step:.1f}" y="{top + height + 18}" text-anchor="middle" class="axis">'
        f"{escape(labels[i])}</text>"
        for i in labelled(len(labels), every)
    ]


def line_chart(
    labels: list[str], series: list[tuple[str, list[float]]], title: str, width: int = 920, height: int = 300
) -> str:
    """Daily values of several series, one coloured line each, with a legend on the right."""
    left, top, right, bottom = 48, 16, 190, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = nice_ceiling(max((v for _, values in series for v in values), default=0))
    step = plot_w / max(len(labels) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>',
        *_grid(left, top, plot_w, plot_h, ymax),
        *_x_labels(labels, left, top, plot_w, plot_h, every=max(1, len(labels) // 10)),
    ]
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * v / ymax:.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_y = top + 8 + index * 20
        parts.append(
            f'<rect x="{width - right + 16}" y="{legend_y - 9}" width="12" height="12" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{width - right + 34}" y="{legend_y + 1}" class="legend">{escape(name)} '
            f"({_number(sum(values))})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: list[str],
    values: list[float],
    highlight: set[int],
    title: str,
    width: int = 460,
    height: int = 150,
) -> str:
    """Daily bars; the bars whose index is in ``highlight`` (spike days) stand out."""
    left, top, bottom = 40, 10, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    ymax = nice_ceiling(max(values, default=0))
    slot = plot_w / max(len(values), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>',
        *_grid(left, top, plot_w, plot_h, ymax, lines=2),
    ]
    for i, value in enumerate(values):
        bar_h = plot_h * value / ymax
        colour = SPIKE_COLOUR if i in highlight else BAR_COLOUR
        parts.append(
            f'<rect x="{left + i * slot + 2:.1f}" y="{top + plot_h - bar_h:.1f}" width="{max(slot - 4, 1):.1f}" '
            f'height="{bar_h:.1f}" fill="{colour}"><title>{escape(labels[i])}: {_number(value)}</title></rect>'
        )
    parts += [
        f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle" class="axis">'
        f"{escape(labels[i])}</text>"
        for i in labelled(len(labels), max(1, len(labels) // 6))
    ]
    parts.append("</svg>")
    return "".join(parts)
