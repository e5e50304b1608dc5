"""The fleet rolled up by area, for a province's thousands of clusters: one row per child area (clusters online,
offline, playing, switched off, failed; failed today; open alarms; low signal; the last emergency's reach),
drilled down from the user's highest area, and the clusters of an area filtered, searched and paged.

The counts come from a summary of the whole fleet that each web process builds in a few queries and keeps for
``SUMMARY_S``: sixteen operators watching five thousand clusters share one build instead of each reading every
cluster. What a page shows of one cluster (its row) is always read fresh, for the clusters on screen only."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.db import Alarm, Area, Broadcast, Bulletin, Delivery, Device, DeviceHealth, DeviceSetting, User
from broadcaster.domain.access import require, scope_of
from broadcaster.domain.areas import walk_down
from broadcaster.domain.collation import folded, sort_key
from broadcaster.domain.errors import Refusal

SUMMARY_S = 2.0
"""How long a process reuses its summary of the fleet: counts on screen are at most this old."""
LOW_SIGNAL = 30
"""A cluster whose link quality is below this (percent) counts as on a weak signal."""
PER_PAGE = 50
"""Clusters on one page of the dashboard."""
FILTERS = ("offline", "failed", "alarms", "low_signal", "playing", "off")
"""What the cluster list can be narrowed to (besides a search)."""
MAX_PER_PAGE = 1000
MAX_PAGE = 100_000
"""Past any real fleet's last page (and inside what a database takes as an offset)."""
COUNTS = ("clusters", "online", "offline", "playing", "off", "failed", "failed_today", "alarms", "low_signal")


@dataclass(frozen=True)
class View:
    """What a dashboard shows: an area (None: the user's highest), a filter, the words of a search, a page."""

    area: int | None = None
    state: str | None = None
    words: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Any) -> View:
        """From a request's query (``area``, ``state``, ``q``, ``page``, ``per_page``; werkzeug's MultiDict)."""
        per_page = args.get("per_page", PER_PAGE, type=int) or PER_PAGE
        return cls(args.get("area", type=int), args.get("state") or None, (args.get("q") or "").strip()[:100],
                   min(max(args.get("page", 1, type=int) or 1, 1), MAX_PAGE), min(max(per_page, 1), MAX_PER_PAGE))


@dataclass(frozen=True)
class Cluster:
    """One cluster as the summary knows it."""

    id: str
    name: str
    village_id: int | None
    state: str
    alarms: int
    link_quality: float | None
    failed_today: bool
    words: str
    """Its id and name folded (no case, no accents), for a search."""

    def matches(self, wanted: str | None, words: str) -> bool:
        """In the filter ``wanted`` and found by ``words`` (folded)."""
        if words and words not in self.words:
            return False
        return (wanted is None or (wanted == "alarms" and self.alarms > 0)
                or (wanted == "low_signal" and self.link_quality is not None and self.link_quality < LOW_SIGNAL)
                or (wanted == "failed" and (self.state == "failed" or self.failed_today))
                or wanted == self.state)


@dataclass
class Tree:
    """The area tree, read fresh for each request (a province has a few thousand areas: one small query)."""

    areas: dict[int, tuple[str, str, int | None]]
    """id → (name, kind, parent id)."""
    children: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Tree:
        return cls({a: (name, kind, parent) for a, name, kind, parent in
                    session.query(Area.id, Area.name, Area.kind, Area.parent_id)})

    def __post_init__(self) -> None:
        for area_id, (_, _, parent) in self.areas.items():
            self.children.setdefault(parent, []).append(area_id)

    def kids(self, parent: int | None) -> list[int]:
        """The areas right under ``parent`` (None: the top ones), in Vietnamese order (sorted when asked: a
        province has thousands of areas, a page shows the children of one)."""
        return sorted(self.children.get(parent, []), key=lambda a: (sort_key(self.areas[a][0]), a))

    def below(self, roots: Iterable[int]) -> set[int]:
        """The areas ``roots`` and every area under them."""
        return walk_down(self.children, roots)


@dataclass
class Summary:
    """Every cluster's state, small, and the last emergency's reach."""

    clusters: list[Cluster]
    emergency: tuple[int, str] | None
    """The last emergency: its id and title."""
    reach: dict[str, str] = field(default_factory=dict)
    """Each cluster the last emergency went to → its delivery state."""
    built: float = 0.0


_cache: dict[str, Summary] = {}
_lock = threading.Lock()


def summary(session: Session, zone: ZoneInfo) -> Summary:
    """This process's summary of the fleet, built again when older than ``SUMMARY_S`` (one build at a time: the
    others wait for it rather than all reading the database at once)."""
    max_age_s = SUMMARY_S
    bind = session.get_bind()
    key = str(getattr(bind, "url", id(bind)))
    kept = _cache.get(key)
    if kept is not None and time.monotonic() - kept.built < max_age_s:
        return kept
    with _lock:
        kept = _cache.get(key)
        if kept is not None and time.monotonic() - kept.built < max_age_s:
            return kept
        fresh = build(session, zone)
        _cache[key] = fresh
        return fresh


def build(session: Session, zone: ZoneInfo) -> Summary:
    enabled = dict(session.query(DeviceSetting.device_id, DeviceSetting.enabled).all())
    reported: dict[str, dict[str, Any]] = {}
    for device_id, text in session.query(DeviceHealth.device_id, DeviceHealth.reported):
        try:
            reported[device_id] = json.loads(text)
        except ValueError:
            reported[device_id] = {}
    alarms: dict[str, int] = {}
    failing: set[str] = set()
    for device_id, kind in session.query(Alarm.device_id, Alarm.kind).filter(Alarm.cleared_at.is_(None),
                                                                              Alarm.acked_at.is_(None)):
        alarms[device_id] = alarms.get(device_id, 0) + 1
        if kind == "playback":
            failing.add(device_id)
    midnight = datetime.combine(datetime.now(zone).date(), clock(), zone)
    failed_today = {d for (d,) in session.query(Delivery.device_id).filter(
        Delivery.state.in_(("failed", "missed")), Delivery.updated_at >= midnight).distinct()}
    clusters = []
    for device_id, name, village_id, online, playing in session.query(
            Device.id, Device.name, Device.village_id, Device.online, Device.now_playing).order_by(Device.id):
        health = reported.get(device_id, {})
        on = enabled[device_id] if device_id in enabled else health.get("enabled") is not False
        state = ("offline" if not online else "off" if not on else "playing" if playing
                 else "failed" if device_id in failing else "online")
        link = health.get("link_quality")
        clusters.append(Cluster(device_id, name, village_id, state, alarms.get(device_id, 0),
                                link if isinstance(link, int | float) else None, device_id in failed_today,
                                folded(f"{device_id} {name}")))
    last = (session.query(Broadcast.id, Bulletin.title).join(Bulletin, Broadcast.bulletin_id == Bulletin.id)
            .filter(Broadcast.priority == "emergency").order_by(Broadcast.id.desc()).first())
    emergency, reach = None, {}
    if last is not None:
        emergency = (last[0], last[1])
        reach = dict(session.query(Delivery.device_id, Delivery.state).filter(Delivery.broadcast_id == last[0]))
    return Summary(clusters, emergency, reach, built=time.monotonic())


def _counts(clusters: Iterable[Cluster], reach: dict[str, str]) -> dict[str, Any]:
    counts: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    sent = played = 0
    for c in clusters:
        counts["clusters"] += 1
        counts[c.state] += 1
        counts["failed_today"] += c.failed_today
        counts["alarms"] += c.alarms
        counts["low_signal"] += c.link_quality is not None and c.link_quality < LOW_SIGNAL
        if c.id in reach:
            sent += 1
            played += reach[c.id] == "played"
    counts["emergency_reach"] = {"played": played, "sent": sent} if sent else None
    return counts


@dataclass(frozen=True)
class Place:
    """Where the user stands in the tree: ``area`` None is every area the user may see (their areas, ``roots``)."""

    area: int | None
    roots: tuple[int, ...]
    everywhere: bool


def place(session: Session, user: User, tree: Tree, area_id: int | None) -> Place:
    """The area asked for, if the user may see it; without one, the user's highest area (their only one), or
    all of theirs."""
    require(user, "view")
    scope = scope_of(session, user)
    roots = (tuple(tree.kids(None)) if scope.everywhere
             else tuple(sorted(a.area_id for a in user.areas if a.area_id in tree.areas)))
    if area_id is not None:
        if area_id not in tree.areas or not scope.has_area(area_id):
            raise Refusal("not_found", f"area {area_id} does not exist", status=404, field="area")
        return Place(area_id, roots, scope.everywhere)
    return Place(roots[0] if len(roots) == 1 else None, roots, scope.everywhere)


def _villages(tree: Tree, where: Place) -> set[int] | None:
    """The areas whose clusters the place holds (None: every cluster, even those in no area)."""
    if where.area is None:
        return None if where.everywhere else tree.below(where.roots)
    return tree.below([where.area])


def _area(tree: Tree, area_id: int) -> dict[str, Any]:
    name, kind, _ = tree.areas[area_id]
    return {"id": area_id, "name": name, "kind": kind}


def overview(session: Session, user: User, zone: ZoneInfo, area_id: int | None = None) -> dict[str, Any]:
    """The area (the user's highest without ``area_id``), the way down to it, its totals, and one row per child
    area with the same counts (a few seconds old at most)."""
    tree = Tree.load(session)
    where = place(session, user, tree, area_id)
    path: list[dict[str, Any]] = []
    area = where.area
    while area is not None and len(path) < 16:
        path.insert(0, _area(tree, area))
        if area in where.roots:
            break
        area = tree.areas[area][2]
    fleet = summary(session, zone)
    villages = _villages(tree, where)
    clusters = [c for c in fleet.clusters if villages is None or c.village_id in villages]
    kids = list(where.roots) if where.area is None else tree.kids(where.area)
    owner = {a: k for k in kids for a in tree.below([k])}
    by_child: dict[int, list[Cluster]] = {k: [] for k in kids}
    for c in clusters:
        if c.village_id in owner:
            by_child[owner[c.village_id]].append(c)
    emergency = None if fleet.emergency is None else {"id": fleet.emergency[0], "title": fleet.emergency[1]}
    return {"area": path[-1] if path else None, "path": path, "roots": len(where.roots),
            "totals": _counts(clusters, fleet.reach), "emergency": emergency,
            "children": [{**_area(tree, k), **_counts(by_child[k], fleet.reach)} for k in kids]}


def cluster_page(session: Session, user: User, zone: ZoneInfo, view: View) -> tuple[list[str], int]:
    """The ids of the clusters on the view's page of its area's clusters (every level below it) that match its
    filter and the words of its search (in the name or the id), in id order; and how many match in all.

    Without a filter or a search the database pages them, so a cluster added a moment ago is there at once;
    a filter or a search goes through the summary (its states a few seconds old)."""
    if view.state is not None and view.state not in FILTERS:
        raise Refusal("invalid", f"state must be one of {', '.join(FILTERS)}", field="state")
    tree = Tree.load(session)
    villages = _villages(tree, place(session, user, tree, view.area))
    start = (view.page - 1) * view.per_page
    if view.state is None and not view.words:
        query = session.query(Device.id)
        if villages is not None:
            query = query.filter(Device.village_id.in_(villages))
        total = query.count()
        return [d for (d,) in query.order_by(Device.id).offset(start).limit(view.per_page)], total
    words = folded(view.words)
    matching = [c.id for c in summary(session, zone).clusters
                if (villages is None or c.village_id in villages) and c.matches(view.state, words)]
    return matching[start:start + view.per_page], len(matching)
