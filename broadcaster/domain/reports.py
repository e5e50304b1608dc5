"""Reports: what was planned where against what each cluster really played (with the start and end times the
receivers reported), air minutes per village, failures; the same rows as a searchable playback log and CSV."""

from __future__ import annotations

import csv
import heapq
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, case, cast, func
from sqlalchemy.orm import Session

from broadcaster.db import Area, Broadcast, Bulletin, Delivery, Device, OccurrencePlay, Recurrence, User
from broadcaster.domain.access import require, scope_of
from broadcaster.domain.areas import ancestry, below
from broadcaster.domain.errors import Refusal
from broadcaster.domain.when import parse_date

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
    moments: tuple[datetime | None, datetime | None, datetime | None] = field(default=(None, None, None),
                                                                             repr=False)
    """Planned, started and finished as UTC datetimes (for the CSVs; not in ``as_json``)."""

    def as_json(self) -> dict[str, Any]:
        """The row as the API shows it: local times as text."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "moments"}


YEARS = (2000, 2999)
"""The years a report may cover."""


def period(start: Any, end: Any, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local dates ``from``..``to`` (both included; dd/mm/yyyy or ISO) as a UTC half-open interval."""
    try:
        first = parse_date(start, "from") or datetime.now(zone).date() - timedelta(days=6)
        last = parse_date(end, "to") or first + timedelta(days=6)
    except Refusal as exc:
        raise Refusal("invalid_period", "'from' and 'to' must be dates dd/mm/yyyy (or YYYY-MM-DD)",
                      field=exc.field) from None
    if not (YEARS[0] <= first.year and last.year <= YEARS[1]):  # year 1 or 9999 would overflow as UTC times
        raise Refusal("invalid_period", f"'from' and 'to' must be dates in the years {YEARS[0]} to {YEARS[1]}",
                      field="from" if first.year < YEARS[0] else "to")
    if last < first or (last - first).days >= MAX_DAYS:
        raise Refusal("invalid_period", f"'to' must be on or after 'from', at most {MAX_DAYS} days", field="to")
    return (datetime.combine(first, time(0), zone), datetime.combine(last + timedelta(days=1), time(0), zone))


@dataclass
class Report:
    rows: list[Row]
    """The first ``limit`` rows in order."""
    villages: list[dict[str, Any]]
    """The summary per village (by id: villages of one name in two communes are two), over every matching row (not
    only those in ``rows``)."""
    total: int
    """How many rows matched."""
    days: dict[date, dict[str, int]] = field(default_factory=dict)
    """Planned and played per local day, over every matching row (a day with nothing planned is absent)."""


def playback_log(session: Session, user: User, start: datetime, end: datetime, zone: ZoneInfo,
                 area_id: int | None = None, device_id: str | None = None, state: str | None = None,
                 text: str | None = None, limit: int = MAX_ROWS, newest_first: bool = False,
                 summarize: bool = True, per_day: bool = False) -> Report:
    """Every planned play in [start, end) on clusters in the user's areas (narrowed by area, device, state,
    or words of the title or text), oldest first (or newest first); with ``per_day`` also counted per local day.

    The database filters, sorts, stops after ``limit`` rows and counts the summary, so neither time nor
    memory grows with the period beyond what is shown."""
    require(user, "view")
    scope = scope_of(session, user)
    areas = None if scope.everywhere else set(scope.areas)
    if area_id is not None:
        if not scope.has_area(area_id) or session.get(Area, area_id) is None:
            raise Refusal("not_found", f"area {area_id} does not exist", status=404)
        areas = set(below(session, [area_id])) & (areas if areas is not None else set(below(session, [area_id])))
    matching = None
    if text:
        wanted = text.casefold().split()
        # Matched per broadcast, not per row: a bulletin's text is read once however many clusters played it.
        saying = (session.query(Broadcast.id, Bulletin.title, Bulletin.text)
                  .join(Bulletin, Broadcast.bulletin_id == Bulletin.id))
        matching = [b for b, title, words in saying if all(w in f"{title} {words}".casefold() for w in wanted)]
    planned = func.coalesce(Broadcast.play_at, Broadcast.created_at)
    single = _plays(session, Delivery, planned, areas, device_id, state, matching, newest_first)
    single = (single.outerjoin(Recurrence, Recurrence.broadcast_id == Broadcast.id)
              .filter(Recurrence.broadcast_id.is_(None), planned >= start, planned < end))
    repeated = _plays(session, OccurrencePlay, OccurrencePlay.occurrence, areas, device_id, state, matching,
                      newest_first)
    repeated = repeated.filter(OccurrencePlay.occurrence >= start, OccurrencePlay.occurrence < end)

    villages = dict(session.query(Area.id, Area.name).all())
    # The rows: the first ``limit`` of each query, merged; the database sorts and stops.
    broadcasts = (session.query(Broadcast.id).outerjoin(Recurrence, Recurrence.broadcast_id == Broadcast.id)
                  .filter(Recurrence.broadcast_id.is_(None), planned >= start, planned < end))
    if matching is not None:
        broadcasts = broadcasts.filter(Broadcast.id.in_(matching))
    broadcasts = broadcasts.order_by(*((planned.desc(), Broadcast.id.desc()) if newest_first
                                       else (planned, Broadcast.id)))
    merged = heapq.merge(_a_few_broadcasts_at_a_time(single, broadcasts, limit), repeated.limit(limit),
                         key=lambda r: (r[0], r[4], r[1]), reverse=newest_first)
    rows = []
    for when, device, name, village_id, broadcast_id, title, priority, state_, started, finished, error in \
            itertools.islice(merged, limit):
        minutes = round((finished - started).total_seconds() / 60, 2) if started and finished else 0.0
        rows.append(Row(when.astimezone(zone).strftime("%Y-%m-%d %H:%M"), device, name,
                        villages.get(village_id or 0, ""), broadcast_id, title, priority, state_,
                        _local(started, zone), _local(finished, zone), minutes, error or "",
                        (_utc(when), _utc(started), _utc(finished))))
    # The summary: counted by the database over every matching row.
    by_village: dict[int | None, dict[str, Any]] = {}
    days: dict[date, dict[str, int]] = {}
    total = 0
    for query, table, when_ in ((single, Delivery, planned), (repeated, OccurrencePlay, OccurrencePlay.occurrence)) \
            if summarize else ():
        for quarter, planned_n, played_n in _per_quarter(session, query, table, when_) if per_day else ():
            day = datetime.fromtimestamp(int(quarter) * QUARTER_S, zone).date()
            counts = days.setdefault(day, {"planned": 0, "played": 0})
            counts["planned"] += int(planned_n)
            counts["played"] += int(played_n or 0)
        for village_id, planned_n, played_n, not_played_n, minutes in _per_village(session, query, table):
            total += planned_n
            village = villages.get(village_id or 0, "")
            entry = by_village.setdefault(village_id, {"village": village, "village_id": village_id, "planned": 0,
                                                    "played": 0, "not_played": 0, "minutes": 0.0})
            entry["planned"] += planned_n
            entry["played"] += int(played_n or 0)
            entry["not_played"] += int(not_played_n or 0)
            entry["minutes"] = round(entry["minutes"] + float(minutes or 0), 2)
    # Per village by id: every commune has its "Thôn 1", and they must not be added up as one.
    return Report(rows, sorted(by_village.values(), key=lambda e: (e["village"], e["village_id"] or 0)), total,
                  dict(sorted(days.items())))


PLAYED = ("played", "interrupted")
"""The states that count as played in a summary."""

QUARTER_S = 900
"""The plays are counted per quarter of an hour (UTC) by the database, then per local day here: every time zone's
offset is a whole number of quarters, so each quarter lies in one local day, and the database needs no zone."""


def _per_quarter(session: Session, query: Any, table: type[Delivery] | type[OccurrencePlay], planned: Any) -> Any:
    """Per quarter of an hour since 1970 (UTC) of the rows ``query`` selects: how many, played."""
    if session.get_bind().dialect.name == "postgresql":
        seconds = cast(func.floor(func.extract("epoch", planned)), BigInteger)
    else:
        # Whole seconds of the stored text (strftime would round 16:59:59.9999 up into the next quarter).
        seconds = cast(func.strftime("%s", func.substr(planned, 1, 19)), BigInteger)
    quarter = (seconds // QUARTER_S).label("quarter")
    return (query.order_by(None)
            .with_entities(quarter, func.count(), func.sum(case((table.state.in_(PLAYED), 1), else_=0)))
            .group_by(quarter).all())


def above(session: Session, village_ids: list[int | None], level: str = "commune") -> dict[int, tuple[int, str]]:
    """For each village, the area of ``level`` above it: its id and name (a village with none above is left out)."""
    areas = {a.id: (a.name, a.kind, a.parent_id) for a in session.query(Area.id, Area.name, Area.kind, Area.parent_id)}
    parent_of = {area_id: area[2] for area_id, area in areas.items()}
    found = {}
    for village_id in village_ids:
        chain = ancestry(village_id, parent_of)
        area_id = next((a for a in chain if a in areas and areas[a][1] == level), None)
        if village_id is not None and area_id is not None:
            found[village_id] = (area_id, areas[area_id][0])
    return found


def per_area(villages: list[dict[str, Any]], places: dict[int, tuple[int, str]]) -> list[dict[str, Any]]:
    """A report's summary per village (``Report.villages``) added up per area above each village (``places``, from
    ``above``); villages with no such area above them are added up under ``area_id`` None."""
    totals: dict[int | None, dict[str, Any]] = {}
    for village in villages:
        area_id, name = places.get(village.get("village_id") or 0, (None, ""))
        entry = totals.setdefault(area_id, {"area_id": area_id, "name": name,
                                            "planned": 0, "played": 0, "not_played": 0, "minutes": 0.0})
        for count in ("planned", "played", "not_played"):
            entry[count] += village[count]
        entry["minutes"] = round(entry["minutes"] + village["minutes"], 2)
    return sorted(totals.values(), key=lambda e: (e["name"], e["area_id"] or 0))


def _per_village(session: Session, query: Any, table: type[Delivery] | type[OccurrencePlay]) -> Any:
    """Per village of the rows ``query`` selects: how many, played, not played, minutes played."""
    if session.get_bind().dialect.name == "postgresql":
        minutes = func.extract("epoch", table.finished_at - table.started_at) / 60
    else:
        minutes = (func.julianday(table.finished_at) - func.julianday(table.started_at)) * 1440
    return (query.order_by(None)
            .with_entities(Device.village_id, func.count(),
                           func.sum(case((table.state.in_(PLAYED), 1), else_=0)),
                           func.sum(case((table.state.in_(("failed", "missed")), 1), else_=0)),
                           func.sum(minutes))
            .group_by(Device.village_id).all())


def _plays(session: Session, table: type[Delivery] | type[OccurrencePlay], planned: Any, areas: set[int] | None,
           device_id: str | None, state: str | None, matching: list[int] | None, newest_first: bool) -> Any:
    """The columns of a report row from deliveries or from occurrence plays, filtered and sorted."""
    query = (session.query(planned, table.device_id, Device.name, Device.village_id, Broadcast.id, Bulletin.title,
                           Broadcast.priority, table.state, table.started_at, table.finished_at, table.error)
             .select_from(table)
             .join(Broadcast, table.broadcast_id == Broadcast.id)
             .join(Bulletin, Broadcast.bulletin_id == Bulletin.id)
             .join(Device, Device.id == table.device_id))
    if areas is not None:
        query = query.filter(Device.village_id.in_(areas))
    if device_id:
        query = query.filter(table.device_id == device_id)
    if state:
        query = query.filter(table.state == state)
    if matching is not None:
        query = query.filter(Broadcast.id.in_(matching))
    order = ((planned.desc(), Broadcast.id.desc(), table.device_id.desc()) if newest_first
             else (planned, Broadcast.id, table.device_id))
    return query.order_by(*order)


def _a_few_broadcasts_at_a_time(rows: Any, broadcasts: Any, limit: int) -> Iterator[Any]:
    """The first ``limit`` of ``rows`` (sorted by planned time, broadcast, cluster), read for one broadcast, then
    two, four... in the order ``broadcasts`` gives them, until there are enough: a log of a million plays reads
    the plays of the broadcasts it shows, found by the deliveries' key, instead of sorting them all."""
    ids = [b for (b,) in broadcasts]
    taken, start, batch = 0, 0, 1
    while start < len(ids) and taken < limit:
        for row in rows.filter(Broadcast.id.in_(ids[start:start + batch])).limit(limit - taken):
            taken += 1
            yield row
        start += batch
        batch = min(batch * 2, 256)


CSV_HEADER = ["planned", "device_id", "device", "village", "broadcast_id", "title", "priority", "state",
              "started_at", "finished_at", "minutes", "error"]


def iso_cells(row: Row) -> dict[str, Any]:
    """A row for machines: the field names, times in ISO 8601 UTC."""
    values = row.as_json()
    for name, moment in zip(("planned", "started_at", "finished_at"), row.moments, strict=True):
        values[name] = moment.isoformat() if moment else ""
    return values


def to_csv(rows: list[Row], header: list[str] | None = None, cells: Any = iso_cells) -> str:
    """CSV with a BOM, so spreadsheet programs on Windows open the Vietnamese text correctly. By default for
    machines (``CSV_HEADER``, ISO UTC times); ``header`` and ``cells`` (a row to the values in
    ``CSV_HEADER``'s order, by its names) give people's version."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header or CSV_HEADER)
    for row in rows:
        values = cells(row)
        # A cell starting with = + - @ would be run as a formula by a spreadsheet: quote it as text.
        writer.writerow([f"'{v}" if isinstance(v, str) and v and v[0] in "=+-@" else v
                         for v in (values[name] for name in CSV_HEADER)])
    return out.getvalue()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def from_query(session: Session, user: User, args: Any, zone: ZoneInfo, limit: int = MAX_ROWS,
               newest_first: bool = False, summarize: bool = True,
               per_day: bool = False) -> tuple[Report, tuple[datetime, datetime]]:
    """The report a page or API query asks for: ``from``, ``to``, ``area_id``, ``device``, ``state``, ``q``."""
    span = period(args.get("from") or None, args.get("to") or None, zone)
    area = args.get("area_id", type=int)
    report = playback_log(session, user, span[0], span[1], zone, area_id=area,
                          device_id=args.get("device") or None, state=args.get("state") or None,
                          text=args.get("q") or None, limit=limit, newest_first=newest_first,
                          summarize=summarize, per_day=per_day)
    return report, span
