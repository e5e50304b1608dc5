"""The fleet in the API: clusters (volume, power, position), the map, groups of clusters, areas and their air-time
rules."""

from __future__ import annotations

from flask import Response, g, jsonify

from broadcaster.db import DeviceHealth
from broadcaster.domain import fleet, fleetmap
from broadcaster.web import serializers
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import compact_json, db


@bp.get("/devices")
@authenticated
def devices() -> Response:
    health = {h.device_id: h for h in db().query(DeviceHealth)}
    return jsonify([serializers.device_json(d, health.get(d.id)) for d in fleet.visible_devices(db(), g.user)])


@bp.put("/devices/<device_id>/power")
@authenticated
def device_power(device_id: str) -> Response:
    """``{"on": false}`` switches a cluster off: silent for everything but emergencies, until switched on."""
    setting = fleet.set_power(db(), g.user, device_id, body().get("on"))
    return jsonify({"device": device_id, "on": setting.enabled, "sent": setting.sent_at is not None})


@bp.put("/devices/<device_id>/position")
@authenticated
def device_position(device_id: str) -> Response:
    """``{"lat": 21.03, "lon": 105.85}`` (WGS 84) for the dashboard's map; nulls clear it."""
    device = fleet.set_position(db(), g.user, device_id, body())
    return jsonify({"device": device.id, "lat": device.lat, "lon": device.lon})


@bp.get("/map")
@authenticated
def fleet_map() -> Response:
    """Every cluster in your areas as ``[id, name, lat, lon, state]`` (the state an index into ``states``; lat
    and lon null where it has no position yet) and your areas' outlines: what the map draws."""
    return compact_json(fleetmap.map_data(db(), g.user))


@bp.put("/devices/<device_id>/volume")
@authenticated
def device_volume(device_id: str) -> Response:
    setting = fleet.set_volume(db(), g.user, device_id, body().get("volume"))
    return jsonify({"device": device_id, "volume": setting.volume, "sent": setting.sent_at is not None})


@bp.get("/groups")
@authenticated
def list_groups() -> Response:
    """Groups of clusters (the market, the schools...) you may target as ``"group:<id>"``."""
    return jsonify([serializers.group_json(group) for group in fleet.list_groups(db(), g.user)])


@bp.post("/groups")
@authenticated
def create_group() -> tuple[Response, int]:
    """``{"name": "Loa chợ", "devices": ["loa-01", "loa-04"]}`` (operators, admins)."""
    return jsonify(serializers.group_json(fleet.save_group(db(), g.user, body()))), 201


@bp.put("/groups/<int:group_id>")
@authenticated
def update_group(group_id: int) -> Response:
    return jsonify(serializers.group_json(fleet.save_group(db(), g.user, body(), group_id)))


@bp.get("/areas")
@authenticated
def list_areas() -> Response:
    """Areas in your scope, each with the air-time rule that governs it (its own or the nearest above)."""
    return jsonify(fleet.areas_json(db(), g.user))


@bp.post("/areas")
@authenticated
def create_area() -> tuple[Response, int]:
    """``{"name": "Thôn Đông", "kind": "village", "parent_id": 3}`` (admins)."""
    area = fleet.create_area(db(), g.user, body())
    return jsonify(next(a for a in fleet.areas_json(db(), g.user) if a["id"] == area.id)), 201


@bp.put("/areas/<int:area_id>/airtime")
@authenticated
def set_airtime(area_id: int) -> Response:
    """``{"allowed_from": "05:30", "allowed_to": "21:30", "max_session_min": 15, "max_sessions_per_day": 4}``
    (admins); the last two may be null for no limit."""
    fleet.set_airtime_rule(db(), g.user, area_id, body())
    return jsonify(next(a for a in fleet.areas_json(db(), g.user) if a["id"] == area_id))
