"""Reports: what was planned where against what each cluster really played (with the start and end times the
receivers reported), air minutes per village, failures; the same rows as a searchable playback log and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.access import below, require, scope_of
from broadcaster.db import Area, Broadcast, Bulletin, Delivery, Device, OccurrencePlay, User
from broadcaster.service import Refusal

MAX_DAYS = 366
MAX_ROWS = 100_000


@dataclass
class Row:
    planned: str
    """Planned start, local time (YYYY-MM-DD HH:MM)."""
    device_id: str
    device: str
    village: str
    broadcast_id: int
    title: str
    priority: str
    state: str
    started_at: str
    finished_at: str
    minutes: float
    """Minutes actually played (from the receiver's own start and end)."""
    error: str


def period(start: Any, end: Any, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local dates ``from``..``to`` (both included) as a UTC half-open interval."""
    try:
        first = date.fromisoformat(start) if start else datetime.now(zone).date() - timedelta(days=6)
        last = date.fromisoformat(end) if end else first + timedelta(days=6)
    except (TypeError, ValueError):
        raise Refusal("invalid_period", "'from' and 'to' must be dates YYYY-MM-DD", field="from") from None
    if last < first or (last - first).days >= MAX_DAYS:
        raise Refusal("invalid_period", f"'to' must be on or after 'from', at most {MAX_DAYS} days", field="to")
    return (datetime.combine(first, time(0), zone), datetime.combine(last + timedelta(days=1), time(0), zone))


def playback_log(session: Session, user: User, start: datetime, end: datetime, zone: ZoneInfo,
                 area_id: int | None = None, device_id: str | None = None, state: str | None = None,
                 text: str | None = None, limit: int = MAX_ROWS) -> list[Row]:
    """Every planned play in [start, end) on clusters in the user's areas (narrowed by area, device, state,
    or words of the title or text), oldest first."""
    require(user, "view")
    scope = scope_of(session, user)
    areas = None if scope.everywhere else set(scope.areas)
    if area_id is not None:
        if not scope.has_area(area_id) or session.get(Area, area_id) is None:
            raise Refusal("not_found", f"area {area_id} does not exist", status=404)
        areas = set(below(session, [area_id])) & (areas if areas is not None else set(below(session, [area_id])))
    devices = {d.id: d for d in session.query(Device) if areas is None or d.village_id in areas}
    villages = {a.id: a.name for a in session.query(Area)}
    rows: list[Row] = []
    spoken: dict[int, str] = {}
    """What each broadcast says (title and text), for the search."""

    def add(device: Device, broadcast: Broadcast, title: str, planned: datetime, state_: str,
            started: datetime | None, finished: datetime | None, error: str | None) -> None:
        minutes = round((finished - started).total_seconds() / 60, 2) if started and finished else 0.0
        rows.append(Row(planned.astimezone(zone).strftime("%Y-%m-%d %H:%M"), device.id, device.name,
                        villages.get(device.village_id or 0, ""), broadcast.id, title, broadcast.priority,
                        state_, _local(started, zone), _local(finished, zone), minutes, error or ""))

    query = (session.query(Delivery, Broadcast, Bulletin.title, Bulletin.text)
             .join(Broadcast, Delivery.broadcast_id == Broadcast.id)
             .join(Bulletin, Broadcast.bulletin_id == Bulletin.id)
             .filter(Delivery.device_id.in_(devices)))
    for delivery, broadcast, title, words in query:
        spoken[broadcast.id] = f"{title} {words}".casefold()
        if broadcast.recurrence is not None:
            continue  # its occurrences are below
        planned = broadcast.play_at or broadcast.created_at
        if start <= planned < end:
            add(devices[delivery.device_id], broadcast, title, planned, delivery.state, delivery.started_at,
                delivery.finished_at, delivery.error)
    plays = (session.query(OccurrencePlay, Broadcast, Bulletin.title)
             .join(Broadcast, OccurrencePlay.broadcast_id == Broadcast.id)
             .join(Bulletin, Broadcast.bulletin_id == Bulletin.id)
             .filter(OccurrencePlay.device_id.in_(devices), OccurrencePlay.occurrence >= start,
                     OccurrencePlay.occurrence < end))
    for play, broadcast, title in plays:
        add(devices[play.device_id], broadcast, title, play.occurrence, play.state, play.started_at,
            play.finished_at, play.error)
    if device_id:
        rows = [r for r in rows if r.device_id == device_id]
    if state:
        rows = [r for r in rows if r.state == state]
    if text:
        wanted = text.casefold().split()
        rows = [r for r in rows if all(w in spoken.get(r.broadcast_id, r.title.casefold()) for w in wanted)]
    rows.sort(key=lambda r: (r.planned, r.device_id))
    return rows[:limit]


def summary(rows: list[Row]) -> list[dict[str, Any]]:
    """Per village: plays planned, played, failed or missed, and minutes on air."""
    by_village: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_village.setdefault(row.village, {"village": row.village, "planned": 0, "played": 0,
                                                     "not_played": 0, "minutes": 0.0})
        entry["planned"] += 1
        if row.state in ("played", "interrupted"):
            entry["played"] += 1
        elif row.state in ("failed", "missed"):
            entry["not_played"] += 1
        entry["minutes"] = round(entry["minutes"] + row.minutes, 2)
    return sorted(by_village.values(), key=lambda e: e["village"])


CSV_HEADER = ["planned", "device_id", "device", "village", "broadcast_id", "title", "priority", "state",
              "started_at", "finished_at", "minutes", "error"]


def to_csv(rows: list[Row]) -> str:
    """CSV with a BOM, so spreadsheet programs on Windows open the Vietnamese text correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, CSV_HEADER)
    writer.writeheader()
    for row in rows:
        values = asdict(row)
        # A cell starting with = + - @ would be run as a formula by a spreadsheet: quote it as text.
        writer.writerow({k: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for k, v in values.items()})
    return out.getvalue()


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def from_query(session: Session, user: User, args: Any, zone: ZoneInfo) -> tuple[list[Row], tuple[datetime, datetime]]:
    """The rows a page or API query asks for: ``from``, ``to``, ``area_id``, ``device``, ``state``, ``q``."""
    span = period(args.get("from") or None, args.get("to") or None, zone)
    area = args.get("area_id", type=int)
    rows = playback_log(session, user, span[0], span[1], zone, area_id=area, device_id=args.get("device") or None,
                        state=args.get("state") or None, text=args.get("q") or None)
    return rows, span
