"""Dates and times as officers type them: day/month/year and the 24-hour clock (02/12/2026 21:43,
2/12/2026 6:30, 21:43 alone for today), read in the officer's time zone. ISO 8601 (2026-12-02T21:43, with or
without an offset) is accepted too, for scripts and for old bookmarks. One reader for every page and report."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from broadcaster.domain.errors import Refusal

_DATE = r"(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4})"
DATE_RE = re.compile(rf"^{_DATE}$")
TIME_RE = re.compile(r"^(?P<hour>\d{1,2})(?:[:hHg](?P<minute>\d{2})?)$")
DATETIME_RE = re.compile(rf"^{_DATE}(?:\s*,?\s*|\s+lúc\s+)(?P<hour>\d{{1,2}})[:hHg](?P<minute>\d{{2}})?$")


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def parse_time(text: str | None, field: str = "time") -> time | None:
    """A time of day: "6:30", "06:30", "6h30", "6h"; None when empty."""
    value = _clean(text)
    if not value:
        return None
    found = TIME_RE.match(value)
    try:
        if found:
            return time(int(found["hour"]), int(found["minute"] or 0))
        return time.fromisoformat(value).replace(second=0, microsecond=0)
    except ValueError:
        raise Refusal("invalid_time", f"{field}: not a time of day, expected HH:MM (24 hours)", field=field) from None


def parse_date(text: str | None, field: str = "date") -> date | None:
    """A calendar date: "02/12/2026", "2/12/2026", or ISO "2026-12-02"; None when empty."""
    value = _clean(text)
    if not value:
        return None
    found = DATE_RE.match(value)
    try:
        if found:
            return date(int(found["year"]), int(found["month"]), int(found["day"]))
        if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise Refusal("invalid_date", f"{field}: not a date, expected dd/mm/yyyy", field=field)


def parse_datetime(text: str | None, zone: ZoneInfo, field: str = "play_at",
                   today: date | None = None) -> datetime | None:
    """A moment the officer typed, in ``zone``: "02/12/2026 21:43", "2/12/2026 6:30", "21:43" (today, or
    ``today``), or ISO 8601 (with an offset: that offset; without one: ``zone``). None when empty."""
    value = _clean(text)
    if not value:
        return None
    refusal = Refusal("invalid_time", f"{field}: not a date and time, expected dd/mm/yyyy HH:MM (24 hours)",
                      field=field)
    found = DATETIME_RE.match(value)
    try:
        if found:
            return datetime(int(found["year"]), int(found["month"]), int(found["day"]), int(found["hour"]),
                            int(found["minute"] or 0), tzinfo=zone)
        if DATE_RE.match(value):
            raise refusal  # a date without its time: ask rather than guess midnight
        if TIME_RE.match(value):
            clock = parse_time(value, field)
            assert clock is not None
            return datetime.combine(today or datetime.now(zone).date(), clock, zone)
        if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", value):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    except (ValueError, Refusal):
        raise refusal from None
    raise refusal


def local_iso(text: str | None, zone: ZoneInfo, field: str = "play_at") -> str | None:
    """What the officer typed as ISO 8601 with its offset (how the rules take times); None when empty."""
    moment = parse_datetime(text, zone, field)
    return moment.isoformat() if moment else None


def date_iso(text: str | None, field: str = "date") -> str | None:
    found = parse_date(text, field)
    return found.isoformat() if found else None


def time_text(text: str | None, field: str = "time") -> str | None:
    found = parse_time(text, field)
    return f"{found:%H:%M}" if found else None
