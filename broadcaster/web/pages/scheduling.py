"""A broadcast's when and where, between the pages' forms, the rules' JSON and words an officer reads: the write
form's and schedule form's fields as a request, a writer's request back as form fields (to show and change it),
and a time or weekly rule and its targets in Vietnamese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from broadcaster.db import parse_id
from broadcaster.domain import when
from broadcaster.web.pages.base import PRIORITY_LABELS, WEEKDAYS, local_input, zone


def when_from_form(form: Any) -> dict[str, Any]:
    """A write or schedule form's priority, targets and time (once, or weekly) as the rules take them; a relay
    when the schedule form names a stream."""
    data: dict[str, Any] = {"targets": form.getlist("targets") or ["all"], "priority": form.get("priority", "normal")}
    if form.get("recurring"):
        days = [d for d in map(parse_id, form.getlist("weekdays")) if d is not None]
        # Times and dates as officers type them (6h30, 06:30; 24/12/2026): the rules take HH:MM and ISO dates.
        times = [when.time_text(t, "repeat.times") for t in form.get("times", "").replace(",", " ").split()]
        skip = [when.date_iso(d, "repeat.skip") for d in form.get("skip", "").replace(",", " ").split()]
        data["repeat"] = {"weekdays": days, "times": times, "skip": skip}
        for name in ("start", "until"):
            if form.get(name):
                data["repeat"][name] = when.date_iso(form[name], f"repeat.{name}")
    else:
        data["play_at"] = local_input(form.get("play_at", ""))
    if form.get("stream_url"):
        minutes = form.get("window_min", "")
        data["relay"] = {"url": form["stream_url"].strip(), "window_s": (parse_id(minutes) or 0) * 60}
    return data


def when_to_form(asked: dict[str, Any] | None) -> MultiDict[str, Any]:
    """What a writer asked for (``bulletins.request``) as the schedule form's fields, to show and change it."""
    fields: MultiDict[str, Any] = MultiDict()
    if not asked:
        return fields
    fields.add("priority", asked.get("priority") or "normal")
    for target in asked.get("targets") or []:
        fields.add("targets", target)
    if asked.get("play_at"):
        fields.add("play_at", datetime.fromisoformat(asked["play_at"]).astimezone(zone()).strftime("%d/%m/%Y %H:%M"))
    repeat = asked.get("repeat")
    if repeat:
        fields.add("recurring", "1")
        for day in repeat.get("weekdays", []):
            fields.add("weekdays", str(day))
        for name in ("start", "until"):
            fields.add(name, _day(repeat[name]) if repeat.get(name) else "")
        fields.add("times", ", ".join(repeat.get("times", [])))
        fields.add("skip", ", ".join(_day(d) for d in repeat.get("skip", [])))
    return fields


def _day(value: str) -> str:
    try:
        return f"{date.fromisoformat(value):%d/%m/%Y}"
    except ValueError:
        return value


def when_text(play_at: datetime | str | None, repeat: dict[str, Any] | None) -> str:
    """"ngay", "lúc 07:30 ngày 08/12/2026" or "hằng tuần T2, T4 lúc 06:30, 17:00 (từ 08/12/2026, trừ 24/12/2026)"."""
    if repeat:
        days = dict(WEEKDAYS)
        text = gettext("hằng tuần %(days)s lúc %(times)s",
                       days=", ".join(str(days.get(d, d)) for d in repeat.get("weekdays", [])),
                       times=", ".join(repeat.get("times", [])))
        extra = []
        if repeat.get("start"):
            extra.append(gettext("từ %(day)s", day=_day(repeat["start"])))
        if repeat.get("until"):
            extra.append(gettext("đến %(day)s", day=_day(repeat["until"])))
        if repeat.get("skip"):
            extra.append(gettext("trừ %(days)s", days=", ".join(_day(d) for d in repeat["skip"])))
        return text + (f" ({', '.join(extra)})" if extra else "")
    if play_at:
        moment = datetime.fromisoformat(play_at) if isinstance(play_at, str) else play_at
        return gettext("lúc %(time)s ngày %(day)s", time=f"{moment.astimezone(zone()):%H:%M}",
                       day=f"{moment.astimezone(zone()):%d/%m/%Y}")
    return gettext("ngay")


def request_text(asked: dict[str, Any], names: dict[str, str]) -> str:
    """What a writer asked for, in one line: priority, when, where (by name, never by id)."""
    targets = asked.get("targets") or ["all"]
    where = (gettext("mọi cụm loa") if targets == ["all"]
             else ", ".join(names.get(t, t) for t in targets))
    return gettext("%(priority)s · phát %(when)s · tới %(where)s",
                   priority=PRIORITY_LABELS.get(asked.get("priority") or "normal", ""),
                   when=when_text(asked.get("play_at"), asked.get("repeat")), where=where)
