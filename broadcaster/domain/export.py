"""What another system reads about the fleet (the province's information-source system, a statistics office):
the clusters with the areas they stand in and their state, and air-time statistics per area and period, rolled
up to the level asked for. With the calendar (the schedule) and the playback log (what aired where and when),
this is the read-only export API of docs/integration.md; an ``integration`` user's token may read it and nothing
else."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.db import Area, User
from broadcaster.domain.access import require
from broadcaster.domain.areas import ancestry
from broadcaster.domain.dashboard import fleet_states
from broadcaster.domain.errors import Refusal
from broadcaster.domain.fleet import visible_devices
from broadcaster.domain.reports import playback_log
from edge_agent.protocol.fields import format_time

LEVELS = ("province", "district", "commune", "village")


def clusters(session: Session, user: User) -> list[dict[str, Any]]:
    """Every cluster in the user's areas: its state (online, offline, playing, failed, off), when it was last
    heard, where it stands, and each area above it by level (``areas.commune.name``...)."""
    require(user, "view")
    states = fleet_states(session)
    areas = {a.id: a for a in session.query(Area)}
    parent_of = {a.id: a.parent_id for a in areas.values()}
    rows = []
    for device in visible_devices(session, user):
        path = {areas[a].kind: {"id": a, "name": areas[a].name}
                for a in ancestry(device.village_id, parent_of) if a in areas}
        rows.append({"id": device.id, "name": device.name, "state": states.get(device.id, "offline"),
                     "last_seen": format_time(device.last_seen), "lat": device.lat, "lon": device.lon,
                     "areas": path})
    return rows


def statistics(session: Session, user: User, start: datetime, end: datetime, zone: ZoneInfo,
               level: str = "commune") -> list[dict[str, Any]]:
    """Planned, played and not played broadcasts and minutes on air in [start, end), per area of ``level``
    in the user's areas, each with its clusters' count (areas with nothing planned are listed with zeros)."""
    if level not in LEVELS:
        raise Refusal("invalid_level", f"'level' must be one of {', '.join(LEVELS)}", field="level")
    report = playback_log(session, user, start, end, zone, limit=0)
    areas = {a.id: a for a in session.query(Area)}
    parent_of = {a.id: a.parent_id for a in areas.values()}

    def at_level(area_id: int | None) -> int | None:
        return next((a for a in ancestry(area_id, parent_of) if a in areas and areas[a].kind == level), None)

    totals: dict[int, dict[str, Any]] = {}

    def entry(area_id: int) -> dict[str, Any]:
        return totals.setdefault(area_id, {"area_id": area_id, "name": areas[area_id].name, "level": level,
                                           "clusters": 0, "planned": 0, "played": 0, "not_played": 0,
                                           "minutes": 0.0})

    for device in visible_devices(session, user):
        if (area_id := at_level(device.village_id)) is not None:
            entry(area_id)["clusters"] += 1
    for village in report.villages:
        if (area_id := at_level(village.get("village_id"))) is not None:
            row = entry(area_id)
            for name in ("planned", "played", "not_played"):
                row[name] += village[name]
            row["minutes"] = round(row["minutes"] + village["minutes"], 2)
    return sorted(totals.values(), key=lambda r: (r["name"], r["area_id"]))
