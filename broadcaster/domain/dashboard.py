"""The live dashboard's data: every cluster's state in one row, the open alarms, and a stream of changes
(Server-Sent Events) that any web process can serve, since each reads the database rather than memory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.database import DB_DOWN
from broadcaster.db import Alarm, Broadcast, Bulletin, Delivery, Device, DeviceHealth, DeviceSetting, User, utcnow
from broadcaster.domain import rollup
from broadcaster.domain.access import audit, require, scope_of
from broadcaster.domain.broadcasts import visible_broadcast
from broadcaster.domain.errors import Refusal
from broadcaster.domain.fleet import visible_devices
from edge_agent.protocol.fields import format_time

TICK_S = 0.5
"""How often the stream looks for changes: a report on screen within a second of reaching the server
(bench/progress.py measures it)."""
STREAM_S = 300.0
"""How long one stream lasts; the browser reconnects at once (EventSource), so no thread is held forever."""


DEVICE_STATES_ALL = ("online", "offline", "playing", "failed", "off")
"""A cluster's state on the dashboard and in the metrics."""


@dataclass
class _Facts:
    """What a cluster's state is worked out from, for many clusters in a few queries."""

    reported: dict[str, dict[str, Any]]
    wanted: dict[str, DeviceSetting]
    alarms: dict[str, int]
    failing: set[str]

    @classmethod
    def load(cls, session: Session, ids: list[str] | None) -> _Facts:
        """For the clusters ``ids`` (None: every cluster)."""
        def only(query: Any, column: Any) -> Any:
            return query if ids is None else query.filter(column.in_(ids))

        reported = {h.device_id: json.loads(h.reported)
                    for h in only(session.query(DeviceHealth), DeviceHealth.device_id)}
        wanted = {s.device_id: s for s in only(session.query(DeviceSetting), DeviceSetting.device_id)}
        alarms: dict[str, int] = {}
        failing: set[str] = set()
        for device_id, kind in only(session.query(Alarm.device_id, Alarm.kind), Alarm.device_id).filter(
                Alarm.cleared_at.is_(None), Alarm.acked_at.is_(None)):
            alarms[device_id] = alarms.get(device_id, 0) + 1
            if kind == "playback":
                failing.add(device_id)
        return cls(reported, wanted, alarms, failing)

    def enabled(self, device: Device) -> bool:
        """Switched on: what the operator set (shown at once), else what the cluster reports."""
        setting = self.wanted.get(device.id)
        return setting.enabled if setting is not None else self.reported.get(device.id, {}).get("enabled") is not False

    def state(self, device: Device) -> str:
        if not device.online:
            return "offline"
        if not self.enabled(device):
            return "off"
        if device.now_playing:
            return "playing"
        return "failed" if device.id in self.failing else "online"


def fleet_states(session: Session) -> dict[str, str]:
    """Every cluster's state (the metrics' view of the whole fleet)."""
    facts = _Facts.load(session, None)
    return {device.id: facts.state(device) for device in session.query(Device)}


def device_rows(session: Session, user: User, only: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per cluster in the user's areas (of ``only``, when given): state (playing, online, offline,
    failed), when last heard, volume, amplifier, temperature, link quality, what it plays, its open alarms."""
    devices = visible_devices(session, user, only)
    ids = [d.id for d in devices]
    facts = _Facts.load(session, ids)
    last_played: dict[str, tuple[str, Any]] = {}
    # Each cluster's newest play: one look down its (cluster, state, time) index, then the play by its key;
    # never a sort of every play of every cluster.
    newest = (select(Delivery.broadcast_id)
              .where(Delivery.device_id == Device.id, Delivery.state == "played", Delivery.finished_at.is_not(None))
              .order_by(Delivery.finished_at.desc()).limit(1).correlate(Device).scalar_subquery())
    keys = {(b, d) for d, b in session.query(Device.id, newest).filter(Device.id.in_(ids)) if b is not None}
    # Both parts of the plays' key given (a superset of the pairs, kept to the pairs below).
    recent = (session.query(Delivery.broadcast_id, Delivery.device_id, Bulletin.title, Delivery.finished_at)
              .join(Broadcast, Delivery.broadcast_id == Broadcast.id)
              .join(Bulletin, Broadcast.bulletin_id == Bulletin.id)
              .filter(Delivery.broadcast_id.in_({b for b, _ in keys}), Delivery.device_id.in_(ids)))
    for broadcast_id, device_id, title, finished in recent if keys else ():
        if (broadcast_id, device_id) in keys:
            last_played[device_id] = (title, finished)
    playing_ids = {d.now_playing for d in devices if d.now_playing}
    titles = {b.id: b.bulletin.title for b in session.query(Broadcast).filter(Broadcast.id.in_(playing_ids))}
    rows = []
    for device in devices:
        reported = facts.reported.get(device.id, {})
        setting = facts.wanted.get(device.id)
        # What the operator set shows at once; "pending" until the receiver reports it has it.
        volume = setting.volume if setting is not None and setting.volume is not None else device.volume
        pending = setting is not None and (setting.enabled != (reported.get("enabled") is not False)
                                           or (setting.volume is not None and setting.volume != device.volume))
        state = facts.state(device)
        rows.append({
            "id": device.id, "name": device.name, "village": device.village.name if device.village else None,
            "state": state, "last_seen": format_time(device.last_seen), "volume": volume, "pending": pending,
            "amplifier": reported.get("amplifier"), "cpu_temp_c": reported.get("cpu_temp_c"),
            "link_quality": reported.get("link_quality"),
            "now_playing": {"id": device.now_playing, "title": titles.get(device.now_playing or 0)}
            if device.now_playing else None,
            "alarms": facts.alarms.get(device.id, 0),
            "last_played": {"title": last_played[device.id][0], "finished_at": format_time(last_played[device.id][1])}
            if device.id in last_played else None,
            "lat": device.lat, "lon": device.lon,
        })
    return rows


def alarm_rows(session: Session, user: User, include_done: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    require(user, "view")
    scope = scope_of(session, user)
    query = session.query(Alarm, Device).join(Device, Device.id == Alarm.device_id).order_by(Alarm.id.desc())
    if not include_done:
        query = query.filter(Alarm.acked_at.is_(None))
    if not scope.everywhere:
        query = query.filter(Device.village_id.in_(scope.areas))
    return [{"id": a.id, "device_id": a.device_id, "device": d.name, "kind": a.kind, "message": a.message,
             "raised_at": format_time(a.raised_at), "cleared_at": format_time(a.cleared_at),
             "acked_at": format_time(a.acked_at)}
            for a, d in query.limit(limit)]


def acknowledge(session: Session, user: User, alarm_id: int) -> Alarm:
    require(user, "operate")
    alarm = session.get(Alarm, alarm_id)
    device = session.get(Device, alarm.device_id) if alarm else None
    if alarm is None or device is None or not scope_of(session, user).has_device(device):
        raise Refusal("not_found", f"alarm {alarm_id} does not exist", status=404)
    if alarm.acked_at is None:
        alarm.acked_at, alarm.acked_by = utcnow(), user.id
        audit(session, user, "alarm.ack", f"alarm {alarm.id}", f"{alarm.device_id}: {alarm.message}")
    return alarm


def stream(open_session: Callable[[], Session], user_id: int, zone: ZoneInfo, view: rollup.View | None = None,
           tick_s: float | None = None, duration_s: float | None = None) -> Iterator[str]:
    """Server-Sent Events for what one dashboard shows (``view``; the first page of the user's highest area
    without one): ``device`` (a row on its page that changed), ``area`` (a child area's counts), ``totals``
    (the area's) and ``alarms`` (the open alarms), each when it changes. The first tick sends everything."""
    view = view or rollup.View()

    def snapshot(session: Session, user: User) -> Iterator[tuple[str, str, Any]]:
        try:
            ids, _ = rollup.cluster_page(session, user, zone, view)
            rolled = rollup.overview(session, user, zone, view.area)
        except Refusal:
            return
        for row in device_rows(session, user, ids):
            yield "device", row["id"], row
        for child in rolled["children"]:
            yield "area", str(child["id"]), child
        yield "totals", "", rolled["totals"]
        yield "alarms", "", alarm_rows(session, user)

    return changes(open_session, user_id, snapshot, tick_s, duration_s)


def broadcast_stream(open_session: Callable[[], Session], user_id: int, broadcast_id: int,
                     tick_s: float | None = None, duration_s: float | None = None) -> Iterator[str]:
    """Server-Sent Events for one broadcast's page: ``delivery`` (a cluster's row that changed: state, the
    device's start and end, error) and ``broadcast`` (its own state). Nothing for a broadcast outside the
    user's areas."""
    def snapshot(session: Session, user: User) -> Iterator[tuple[str, str, Any]]:
        try:
            item = visible_broadcast(session, user, broadcast_id)
        except Refusal:
            return
        yield "broadcast", "", {"id": item.id, "state": item.progress()}
        for d in item.deliveries:
            yield "delivery", d.device_id, {"device_id": d.device_id, "state": d.state, "error": d.error,
                                            "started_at": format_time(d.started_at),
                                            "finished_at": format_time(d.finished_at)}

    return changes(open_session, user_id, snapshot, tick_s, duration_s)


def changes(open_session: Callable[[], Session], user_id: int,
            snapshot: Callable[[Session, User], Iterator[tuple[str, str, Any]]], tick_s: float | None = None,
            duration_s: float | None = None) -> Iterator[str]:
    """What ``snapshot`` says each tick, as Server-Sent Events, each (event, key) only when it changed."""
    tick_s = TICK_S if tick_s is None else tick_s
    deadline = time.monotonic() + (STREAM_S if duration_s is None else duration_s)
    sent: dict[tuple[str, str], str] = {}
    yield f"retry: {int(tick_s * 1000)}\n\n"
    while time.monotonic() < deadline:
        session = open_session()
        try:
            user = session.get(User, user_id)
            if user is None:
                return
            for event, key, value in snapshot(session, user):
                text = json.dumps(value, ensure_ascii=False)
                if sent.get((event, key)) != text:
                    sent[(event, key)] = text
                    yield f"event: {event}\ndata: {text}\n\n"
        except DB_DOWN:
            # The database is away: keep the stream open and look again next tick; nothing is lost.
            yield ": database unavailable\n\n"
        finally:
            session.close()
        yield ": tick\n\n"  # a comment line: keeps proxies from closing an idle stream
        time.sleep(tick_s)
