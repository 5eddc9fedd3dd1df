"""Charts drawn on the server as inline SVG (no JavaScript, no library): each has
a title and a description for assistive technology, and the page shows the same
figures in a table next to it."""

from __future__ import annotations

from markupsafe import Markup, escape

BAR_H, GAP, LABEL_W, VALUE_W, WIDTH = 22, 6, 230, 70, 640


def bar_chart(rows: list[tuple[str, float | int | None]], *, title: str, unit: str = "", max_value: float | None = None,
              chart_id: str = "graphique") -> Markup:
    """Horizontal bars, one per (label, value); None draws no bar ("—")."""
    values = [v for _, v in rows if v is not None]
    top = max_value if max_value is not None else max(values, default=0) or 1
    bar_w = WIDTH - LABEL_W - VALUE_W
    height = len(rows) * (BAR_H + GAP) + GAP
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape("; ".join(f"{label} : {_fmt(v, unit)}" for label, v in rows))}</desc>',
    ]
    for i, (label, value) in enumerate(rows):
        y = GAP + i * (BAR_H + GAP)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.7:.1f}" text-anchor="end" font-size="13">{escape(short)}</text>'
        )
        if value is not None and value > 0:
            w = max(1.0, bar_w * min(float(value), top) / top)
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" class="bar" fill="#1d5f8a"/>')
        else:
            w = 0.0
        parts.append(
            f'<text x="{LABEL_W + w + 6:.1f}" y="{y + BAR_H * 0.7:.1f}" font-size="13">{escape(_fmt(value, unit))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):,}"
    text = text.replace(",", "\u202f").replace(".", ",")
    return f"{text}{unit}"
