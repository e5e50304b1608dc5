"""A report as pictures: planned against played per commune and per day, minutes on air per village. Drawn here as
SVG (no script, so it prints and shows on any phone): a viewBox 360 units wide shown at the page's width, rows of
horizontal bars whose labels and figures are text, planned as an outlined bar and played as a bar filled inside it
(told apart by shape, not only by colour), a title and a description in the page's language for screen readers,
and the figures as a table beside each picture. Many communes or villages: the ones that matter most are drawn and
the rest added up in one sentence; a long period is drawn per month."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext
from markupsafe import Markup, escape

from broadcaster.web.conventions import number

WIDTH = 360
"""The viewBox's width: about a phone's, so that its text is as large as the page's there."""
FONT = 14
GAP = 6
CHAR = 0.58 * FONT
"""About how wide one character is drawn (for the space a column of labels or figures takes)."""
SHOWN = 12
"""Communes and villages drawn; the rest are added up in a sentence (the table beside lists them all)."""
MAX_DAYS = 31
"""Up to a month is drawn a day a bar; a longer period a month a bar."""

INK = "#1d2733"
FILL = "#1f5f8b"
"""Played: 6.6:1 against white (WCAG asks 3:1 for parts of a graphic)."""


@dataclass
class Bar:
    label: str
    value: float
    """What is filled: played, or minutes."""
    outline: float | None = None
    """What is outlined: planned (None: a chart of one measure)."""
    text: str = ""
    """The figure written beside the bar."""
    spoken: str = ""
    """The bar in a sentence, for its tooltip and the chart's description."""


@dataclass
class Chart:
    id: str
    title: str
    svg: Markup | None = None
    empty: str | None = None
    """What to say instead of a picture when there is nothing to draw."""
    note: str | None = None
    """The rows left out of the picture, added up."""
    table: list[Bar] = field(default_factory=list)
    """Every row, for the table beside the picture."""
    columns: tuple[str, ...] = ()


def _width(text: str) -> float:
    return len(text) * CHAR


def _short(text: str, room: float) -> str:
    """``text`` cut with an ellipsis to about ``room`` units."""
    most = max(int(room / CHAR), 4)
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


def svg(chart_id: str, title: str, bars: list[Bar], legend: tuple[str, str] | None = None) -> Markup:
    """Horizontal bars, one row each, their lengths in proportion (the longest fills the room left by the labels
    and figures); short labels beside the bars, long ones on a line above them."""
    figures = max((_width(b.text) for b in bars), default=0) + GAP
    beside = max((len(b.label) for b in bars), default=0) <= 10
    x0 = max((_width(b.label) for b in bars), default=0) + GAP if beside else 0
    room = max(WIDTH - x0 - figures, 40)
    row = FONT + 11 if beside else 2 * FONT + 14
    top = FONT + 12 if legend else 2
    scale = max((max(b.value, b.outline or 0) for b in bars), default=0) or 1
    parts = []
    if legend:
        second = 28 + _width(legend[0]) + 18
        parts.append(f'<g class="legend"><rect x="0.75" y="1.75" width="22" height="{FONT - 1.5}" fill="none" '
                     f'stroke="{INK}" stroke-width="1.5"/><text x="28" y="{FONT}">{escape(legend[0])}</text>'
                     f'<rect x="{second:.1f}" y="4" width="22" height="{FONT - 5}" fill="{FILL}"/>'
                     f'<text x="{second + 28:.1f}" y="{FONT}">{escape(legend[1])}</text></g>')
    for n, bar in enumerate(bars):
        y = top + n * row
        bar_y, height = (y + 2, row - 4) if beside else (y + FONT + 4, FONT + 4)
        middle = bar_y + height / 2 + FONT * 0.35
        label = (f'<text class="label" x="0" y="{middle:.1f}">{escape(bar.label)}</text>' if beside else
                 f'<text class="label" x="0" y="{y + FONT:.1f}">{escape(_short(bar.label, WIDTH))}</text>')
        parts.append(f'<g class="bar" data-label="{escape(bar.label)}"><title>{escape(bar.spoken)}</title>{label}')
        inset = 0.0
        if bar.outline is not None:
            inset = 3.0
            parts.append(f'<rect class="planned" x="{x0:.2f}" y="{bar_y:.2f}" width="{bar.outline / scale * room:.2f}" '
                         f'height="{height:.2f}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
        parts.append(f'<rect class="{"value" if bar.outline is None else "played"}" x="{x0:.2f}" '
                     f'y="{bar_y + inset:.2f}" width="{bar.value / scale * room:.2f}" '
                     f'height="{height - 2 * inset:.2f}" fill="{FILL}"/>')
        parts.append(f'<text class="figure" x="{WIDTH}" y="{middle:.1f}" text-anchor="end">{escape(bar.text)}</text>'
                     "</g>")
    description = "; ".join(b.spoken for b in bars) + "."
    return Markup(
        f'<svg class="chart" id="{chart_id}" role="img" aria-labelledby="{chart_id}-title" '
        f'aria-describedby="{chart_id}-desc" viewBox="0 0 {WIDTH} {top + len(bars) * row + 2}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}" fill="{INK}" font-family="system-ui, sans-serif" '
        f'data-room="{room:.2f}" data-scale="{scale:g}">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(parts) + "</svg>")


def _planned_played(label: str, planned: int, played: int) -> Bar:
    return Bar(label, played, planned, f"{number(played)} / {number(planned)}",
               gettext("%(name)s: dự kiến %(planned)s, đã phát %(played)s", name=label, planned=number(planned),
                       played=number(played)))


def _legend() -> tuple[str, str]:
    return (gettext("dự kiến"), gettext("đã phát"))


def by_commune(communes: list[dict[str, Any]]) -> Chart:
    """Planned against played per commune (``reports.per_area``): those that missed most first."""
    ordered = sorted(communes, key=lambda c: (-(c["planned"] - c["played"]), -c["planned"], c["name"]))
    table = [_planned_played(c["name"] or gettext("Không thuộc xã nào"), c["planned"], c["played"]) for c in ordered]
    chart = Chart("chart-communes", gettext("Dự kiến và đã phát theo xã"), table=table,
                  columns=(gettext("Xã"), gettext("Đã phát / dự kiến")))
    if len(table) > SHOWN:
        chart.title = gettext("Dự kiến và đã phát: %(count)s xã thiếu nhiều nhất", count=SHOWN)
        rest = ordered[SHOWN:]
        chart.note = gettext("Và %(count)s xã khác: dự kiến %(planned)s, đã phát %(played)s.", count=len(rest),
                             planned=number(sum(c["planned"] for c in rest)),
                             played=number(sum(c["played"] for c in rest)))
    chart.svg = svg(chart.id, chart.title, table[:SHOWN], _legend())
    return chart


def _days(start: date, end: date) -> Iterable[date]:
    while start < end:
        yield start
        start += timedelta(days=1)


def by_day(days: dict[date, dict[str, int]], span: tuple[datetime, datetime]) -> Chart:
    """Planned against played for each local day of ``span`` (local midnights), days with nothing planned too;
    a period longer than ``MAX_DAYS`` a month a bar."""
    every = list(_days(span[0].date(), span[1].date()))
    if len(every) <= MAX_DAYS:
        title = gettext("Dự kiến và đã phát theo ngày")
        groups = [(f"{d:%d/%m}", [d]) for d in every]
    else:
        title = gettext("Dự kiến và đã phát theo tháng")
        months: dict[str, list[date]] = {}
        for d in every:
            months.setdefault(f"{d:%m/%Y}", []).append(d)
        groups = list(months.items())
    table = [_planned_played(label, sum(days.get(d, {}).get("planned", 0) for d in group),
                             sum(days.get(d, {}).get("played", 0) for d in group)) for label, group in groups]
    chart = Chart("chart-days", title, table=table, columns=(gettext("Ngày"), gettext("Đã phát / dự kiến")))
    chart.svg = svg(chart.id, title, table, _legend())
    return chart


def village_names(villages: list[dict[str, Any]], places: dict[int, tuple[int, str]]) -> dict[int | None, str]:
    """Each village's name as the page writes it: with its commune where another village has the same name
    (every commune has its "Thôn 1")."""
    seen: dict[str, int] = {}
    for village in villages:
        seen[village["village"]] = seen.get(village["village"], 0) + 1
    names: dict[int | None, str] = {}
    for village in villages:
        name, village_id = village["village"] or gettext("Không thuộc thôn nào"), village.get("village_id")
        commune = places.get(village_id or 0)
        names[village_id] = f"{name} ({commune[1]})" if seen[village["village"]] > 1 and commune else name
    return names


def by_village(villages: list[dict[str, Any]], names: dict[int | None, str]) -> Chart:
    """Minutes on air per village (``Report.villages``, named by ``village_names``), most first."""
    ordered = sorted(villages, key=lambda v: (-v["minutes"], names[v.get("village_id")]))
    table = [Bar(names[v.get("village_id")], v["minutes"], None,
                 gettext("%(minutes)s phút", minutes=number(v["minutes"], 1)),
                 gettext("%(name)s: %(minutes)s phút", name=names[v.get("village_id")],
                         minutes=number(v["minutes"], 1)))
             for v in ordered]
    chart = Chart("chart-villages", gettext("Số phút phát theo thôn"), table=table)
    if not any(v["minutes"] for v in villages):
        chart.empty = gettext("Chưa cụm loa nào báo đã phát trong thời gian này.")
        return chart
    if len(table) > SHOWN:
        chart.title = gettext("Số phút phát: %(count)s thôn nhiều nhất", count=SHOWN)
        rest = ordered[SHOWN:]
        chart.note = gettext("Và %(count)s thôn khác: %(minutes)s phút.", count=len(rest),
                             minutes=number(sum(v["minutes"] for v in rest), 1))
    chart.svg = svg(chart.id, chart.title, table[:SHOWN])
    return chart


def of_report(communes: list[dict[str, Any]], days: dict[date, dict[str, int]], villages: list[dict[str, Any]],
              names: dict[int | None, str], span: tuple[datetime, datetime]) -> list[Chart]:
    """The report page's pictures, in the order it shows them."""
    return [by_commune(communes), by_day(days, span), by_village(villages, names)]
