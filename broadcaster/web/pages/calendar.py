"""The calendar page: a week (Monday first) or a day of what will air and what aired, per area or cluster."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from broadcaster.db import User, parse_id, utcnow
from broadcaster.domain import calendar as calendar_rules
from broadcaster.domain import errors, fleet
from broadcaster.web.common import db
from broadcaster.web.pages.base import WEEKDAYS, areas_in_scope, bp, login_required, zone

CALENDAR_STATES = {"scheduled": _l("đã lên lịch"), "playing": _l("đang phát"), "played": _l("đã phát"),
                   "failed": _l("lỗi"), "missed": _l("lỡ giờ"), "cancelled": _l("đã hủy"),
                   "unreported": _l("chưa có báo cáo")}
STATE_CLASSES = {"scheduled": "queued", "playing": "playing", "played": "played", "failed": "failed",
                 "missed": "missed", "cancelled": "failed", "unreported": "pending"}
"""The existing colour of each state (base.html's classes)."""
KINDS = {"one-off": _l("một lần"), "weekly": _l("hằng tuần"), "relay": _l("tiếp sóng"),
         "emergency": _l("khẩn cấp"), "live": _l("trực tiếp")}
DAY_MINUTES = 24 * 60


@bp.get("/calendar")
@login_required
def calendar_page(user: User) -> str | tuple[str, int]:
    view = "day" if request.args.get("view") == "day" else "week"
    error = None
    try:
        chosen = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        if request.args.get("date"):
            error = _l("Ngày không hợp lệ; đang hiện tuần này.")
        chosen = utcnow().astimezone(zone()).date()
    first = chosen if view == "day" else chosen - timedelta(days=chosen.weekday())
    last = first if view == "day" else first + timedelta(days=6)
    area = parse_id(request.args.get("area", "")) if request.args.get("area") else None
    device = request.args.get("device") or None
    try:
        result = calendar_rules.calendar(db(), user, first, last, zone(), area_id=area, device_id=device)
    except errors.Refusal:
        abort(404)
    step = timedelta(days=1 if view == "day" else 7)
    page = render_template(
        "calendar.html", user=user, view=view, chosen=chosen, first=first, last=last, error=error,
        days=[_day(d) for d in result.days], area=area, device=device,
        areas=[a for a in areas_in_scope(user) if a.kind in ("commune", "village")],
        devices=fleet.visible_devices(db(), user), earlier=(first - step).isoformat(),
        later=(first + step).isoformat(), today=utcnow().astimezone(zone()).date(),
        STATES=CALENDAR_STATES, STATE_CLASSES=STATE_CLASSES, KINDS=KINDS)
    return page


def _day(day: calendar_rules.Day) -> dict[str, Any]:
    """A day as the page shows it: local times, and where each thing sits on the 24-hour band (percent)."""
    weekday = dict(WEEKDAYS)[day.day.isoweekday()]
    return {"date": day.day, "label": f"{weekday} {day.day:%d/%m/%Y}",
            "bands": [{"from": b.allowed_from, "to": b.allowed_to, "areas": b.areas,
                       "left": _percent(b.allowed_from), "width": _percent(b.allowed_to) - _percent(b.allowed_from)}
                      for b in day.bands],
            "items": [_item(i, day.day) for i in day.items]}


def _item(item: calendar_rules.Item, day: date) -> dict[str, Any]:
    start, end = item.start.astimezone(zone()), _minute_up(item.end.astimezone(zone()))
    ends = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%H:%M %d/%m}"
    seconds = round((item.end - item.start).total_seconds())
    length = gettext("%(n)s giây", n=seconds) if seconds < 60 else gettext("%(n)s phút", n=round(seconds / 60))
    return {"id": item.broadcast_id, "title": item.title, "kind": item.kind, "state": item.state,
            "start": f"{start:%H:%M}", "end": ends, "length": length, "left": _percent(f"{start:%H:%M}"),
            "clusters": sorted(item.clusters.values()),
            "overlaps": [{"id": o.broadcast_id, "title": o.title, "clusters": o.clusters,
                          "start": _clock(o.start), "end": _clock(_minute_up(o.end))} for o in item.overlaps]}


def _minute_up(value: datetime) -> datetime:
    """An end shown to the minute: the minute it is over by (a 9-second item at 06:45 ends by 06:46)."""
    whole = value.replace(second=0, microsecond=0)
    return whole if whole == value else whole + timedelta(minutes=1)


def _clock(value: datetime) -> str:
    return f"{value.astimezone(zone()):%H:%M}"


def _percent(clock: str) -> float:
    hours, minutes = clock.split(":")
    return round((int(hours) * 60 + int(minutes)) / DAY_MINUTES * 100, 2)
