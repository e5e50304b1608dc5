"""The fleet on a map: every cluster in the user's areas with where it stands and its state (the dashboard's
states), and the outlines of those areas. Compact, for a province's 5,000 clusters in one answer: a cluster is
one array ``[id, name, lat, lon, state]`` with its state as an index into ``states``; a cluster without a
position is listed too (lat and lon null), so that an operator can place it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Alarm, Area, AreaOutline, Device, User
from broadcaster.domain.access import require, scope_of
from broadcaster.domain.areas import ancestry
from broadcaster.domain.dashboard import DEVICE_STATES_ALL, device_rows, fleet_states
from broadcaster.domain.errors import Refusal

STATES = DEVICE_STATES_ALL
"""The states a cluster is drawn in, in the order ``state`` indexes them."""

PLACES = 6
"""Decimals kept of a latitude or longitude: 0.1 m, closer than anyone places a loudspeaker by a click."""


def map_data(session: Session, user: User) -> dict[str, Any]:
    """``{"states": [...], "clusters": [[id, name, lat, lon, state], ...], "outlines": [{"id", "name", "kind",
    "geometry"}, ...]}``: the clusters and outlined areas in the user's areas (everything for an admin without
    areas), clusters by id, outlines from the largest area down."""
    require(user, "view")
    scope = scope_of(session, user)
    states = fleet_states(session)
    index = {state: n for n, state in enumerate(STATES)}
    offline = index["offline"]
    query = session.query(Device.id, Device.name, Device.lat, Device.lon).order_by(Device.id)
    if not scope.everywhere:
        query = query.filter(Device.village_id.in_(scope.areas))
    clusters = [[device_id, name, _place(lat), _place(lon), index.get(states.get(device_id, ""), offline)]
                for device_id, name, lat, lon in query]
    outlined = session.query(Area.id, Area.name, Area.kind, AreaOutline.geojson).join(
        AreaOutline, AreaOutline.area_id == Area.id)
    if not scope.everywhere:
        outlined = outlined.filter(Area.id.in_(scope.areas))
    levels = {"province": 0, "district": 1, "commune": 2, "village": 3}
    outlines = sorted(({"id": area_id, "name": name, "kind": kind, "geometry": json.loads(geojson)}
                       for area_id, name, kind, geojson in outlined if geojson and geojson != "null"),
                      key=lambda o: (levels.get(o["kind"], 4), o["id"]))
    return {"states": list(STATES), "clusters": clusters, "outlines": outlines}


def _place(value: float | None) -> float | None:
    return None if value is None else round(value, PLACES)


def cluster(session: Session, user: User, device_id: str) -> dict[str, Any]:
    """One cluster's page: its state, when it was last heard, where it stands (the areas above it, largest
    first, and its position), its volume and its open alarms. Outside the user's areas: not found."""
    require(user, "view")
    device = session.get(Device, device_id)
    if device is None or not scope_of(session, user).has_device(device):
        raise Refusal("not_found", f"device {device_id} does not exist", status=404)
    areas = {a.id: a for a in session.query(Area)}
    chain = [areas[a] for a in reversed(ancestry(device.village_id, {a.id: a.parent_id for a in areas.values()}))
             if a in areas]
    alarms = (session.query(Alarm).filter(Alarm.device_id == device.id, Alarm.acked_at.is_(None))
              .order_by(Alarm.id.desc()).limit(50).all())
    rows = device_rows(session, user, [device.id])  # this cluster's facts alone, not the whole fleet's
    return {"device": device, "state": rows[0]["state"] if rows else "offline", "areas": chain,
            "alarms": alarms}
