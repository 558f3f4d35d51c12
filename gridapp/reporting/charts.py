"""Trend charts as server-rendered SVG: no JavaScript, crisp on screen and paper, valid XML.

``bar_chart`` draws one or two series of monthly values as grouped bars on a shared scale, with
grid lines and month labels; the page puts the same numbers in a table next to it (for screen
readers and for printing), so the chart itself is one labelled image.
"""
import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 28, 30
COLOURS = ("#a4161a", "#5f6b7a")  # the app's red, and a slate that prints as a distinct grey


@dataclass
class Series:
    name: str
    values: list[int]


def nice_ceiling(value: int) -> int:
    """The smallest 1/2/5 × 10^n at or above ``value`` (at least 1): round grid lines."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def bar_chart(chart_id: str, title: str, labels: list[str], series: list[Series]) -> Markup:
    """An <svg> of ``series`` (one bar per series per label). Negative values are drawn as zero."""
    top = nice_ceiling(max([v for s in series for v in s.values] + [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.7 / len(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
        f'aria-labelledby="{chart_id}-title" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    for i in range(5):  # grid lines and their values
        value = top * i // 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c8c8c8" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#4a4a4a">'
                     f'{value:,}</text>')
    for j, label in enumerate(labels):
        x0 = LEFT + slot * j + slot * 0.15
        for k, s in enumerate(series):
            value = max(s.values[j], 0)
            h = plot_h * value / top
            parts.append(f'<rect x="{x0 + bar_w * k:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS[k % len(COLOURS)]}"/>')
        parts.append(f'<text x="{LEFT + slot * (j + 0.5):.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
                     f'font-size="12" fill="#111">{escape(label)}</text>')
    if len(series) > 1:  # the legend, top left
        x = LEFT
        for k, s in enumerate(series):
            parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{COLOURS[k % len(COLOURS)]}"/>')
            parts.append(f'<text x="{x + 16}" y="18" font-size="12" fill="#111">{escape(s.name)}</text>')
            x += 24 + 13 * len(s.name)
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass
class Chart:
    """A chart and the table with the same numbers."""

    id: str
    title: str
    svg: Markup
    headers: list[str]
    rows: list[list]


def trend_charts(trend) -> list[Chart]:
    """The dashboard's three 12-month charts from ``service.month_figures`` (oldest first)."""
    from flask_babel import gettext as _

    labels = [f.month.display(short=True) for f in trend]
    month_names = [f.month.display() for f in trend]
    specs = [
        ("chart-participations", _("参与人次（近12个月）"), [(_("参与人次"), "participations")]),
        ("chart-points", _("发放积分与消耗积分（近12个月）"),
         [(_("发放积分"), "points_issued"), (_("消耗积分"), "points_spent")]),
        ("chart-goods", _("捐赠入库与兑出物品（近12个月，件）"),
         [(_("捐赠入库"), "donated_items"), (_("兑出物品"), "items_out")]),
    ]
    charts = []
    for chart_id, title, columns in specs:
        series = [Series(name, [getattr(f, attr) for f in trend]) for name, attr in columns]
        rows = [[month_names[j]] + [s.values[j] for s in series] for j in range(len(trend))]
        charts.append(Chart(chart_id, title, bar_chart(chart_id, title, labels, series),
                            [_("月份")] + [s.name for s in series], rows))
    return charts
