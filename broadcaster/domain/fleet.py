"""The fleet: areas, devices, groups and what operators set on them; which devices a list of targets names."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, joinedload

from broadcaster.db import (
    AirtimeRule,
    Area,
    Device,
    DeviceGroup,
    DeviceGroupMember,
    DeviceSetting,
    User,
    parse_id,
    utcnow,
)
from broadcaster.domain import airtime
from broadcaster.domain.access import Scope, audit, home_area, require, scope_of
from broadcaster.domain.areas import below
from broadcaster.domain.errors import Refusal, text_field


def owned_area(session: Session, user: User, value: Any) -> int | None:
    """The area a new bulletin or group belongs to: the one asked for (in the user's scope) or the user's own."""
    if value is None:
        return home_area(user)
    if not isinstance(value, int) or isinstance(value, bool) or session.get(Area, value) is None:
        raise Refusal("unknown_area", "'area_id' must be the id of an area", field="area_id")
    if not scope_of(session, user).has_area(value):
        raise Refusal("out_of_scope", f"area {value} is outside your areas", status=403, field="area_id")
    return value


def visible_devices(session: Session, user: User, only: list[str] | None = None,
                    limit: int | None = None) -> list[Device]:
    """The devices in the user's areas (of ``only``, when given), in id order (the first ``limit``)."""
    require(user, "view")
    scope = scope_of(session, user)
    query = session.query(Device).options(joinedload(Device.village)).order_by(Device.id)
    if only is not None:
        query = query.filter(Device.id.in_(only))
    if not scope.everywhere:
        query = query.filter(Device.village_id.in_(scope.areas))
    return query.limit(limit).all()


PICK_MOST = 100
"""Clusters offered one by one on a form; beyond this many a form offers areas and groups only."""


def pickable_devices(session: Session, user: User) -> list[Device] | None:
    """The clusters a form may offer one by one, or None when the user's areas hold more than PICK_MOST (a
    province's thousands of checkboxes help nobody: areas and groups say it in a few)."""
    listed = visible_devices(session, user, limit=PICK_MOST + 1)
    return listed if len(listed) <= PICK_MOST else None


def operated_device(session: Session, user: User, device_id: str) -> Device:
    """A device the user may operate: in their areas (404 otherwise, as if it did not exist)."""
    require(user, "operate")
    device = session.get(Device, device_id)
    if device is None or not scope_of(session, user).has_device(device):
        raise Refusal("not_found", f"device {device_id} does not exist", status=404)
    return device


def set_volume(session: Session, user: User, device_id: str, volume: Any) -> DeviceSetting:
    if not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100:
        operated_device(session, user, device_id)
        raise Refusal("invalid_volume", "'volume' must be a whole number from 0 to 100", field="volume")
    setting = _setting(session, user, device_id)
    setting.volume = volume
    audit(session, user, "device.volume", device_id, f"{volume}%")
    return setting


def set_power(session: Session, user: User, device_id: str, on: Any) -> DeviceSetting:
    """Switch a cluster off (silent for everything but emergencies) or back on."""
    if not isinstance(on, bool):
        operated_device(session, user, device_id)
        raise Refusal("invalid_power", "'on' must be true or false", field="on")
    setting = _setting(session, user, device_id)
    setting.enabled = on
    audit(session, user, "device.power", device_id, "on" if on else "off")
    return setting


def _setting(session: Session, user: User, device_id: str) -> DeviceSetting:
    """The device's settings row, marked unsent so the worker sends the new whole state."""
    operated_device(session, user, device_id)
    setting = session.get(DeviceSetting, device_id)
    if setting is None:
        setting = DeviceSetting(device_id=device_id, enabled=True, set_by=user.id)
        session.add(setting)
    setting.set_by, setting.set_at, setting.sent_at = user.id, utcnow(), None
    session.flush()
    return setting


def resolve_targets(session: Session, targets: Any, scope: Scope) -> list[str]:
    """Device ids for ``targets``: ``"all"`` (every device in the user's areas), device ids,
    ``"area:<id>"`` (every device in that area and below it) and ``"group:<id>"`` (its members). Anything
    outside the user's areas is refused."""
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise Refusal("invalid_targets", "'targets' must be a non-empty list of device ids, \"area:<id>\", "
                      "\"group:<id>\" or [\"all\"]", field="targets")
    # Each cluster's village, as plain pairs: a province's thousands of clusters are not loaded as objects.
    villages: dict[str, int | None] = dict(session.query(Device.id, Device.village_id).all())
    chosen: set[str] = set()
    for target in targets:
        if target == "all":
            chosen |= {d for d, village in villages.items() if scope.has_area(village)}
        elif target.startswith("group:"):
            group_id = parse_id(target[6:])
            group = session.get(DeviceGroup, group_id) if group_id is not None else None
            if group is None or not visible_group(scope, group, villages):
                raise Refusal("unknown_target", f"unknown group {target[6:]!r}", field="targets")
            members = {m.device_id for m in group.members}
            if not all(scope.has_area(villages.get(d)) for d in members):
                raise Refusal("out_of_scope", f"group {group.name!r} has clusters outside your areas", status=403,
                              field="targets")
            chosen |= members
        elif target.startswith("area:"):
            area_id = parse_id(target[5:])
            if area_id is None or session.get(Area, area_id) is None:
                raise Refusal("unknown_target", f"unknown area {target[5:]!r}", field="targets")
            if not scope.has_area(area_id):
                raise Refusal("out_of_scope", f"area {area_id} is outside your areas", status=403, field="targets")
            under = below(session, [area_id])
            chosen |= {d for d, village in villages.items() if village in under}
        elif target not in villages:
            raise Refusal("unknown_target", f"unknown device {target[:63]!r}", field="targets")
        elif not scope.has_area(villages[target]):
            raise Refusal("out_of_scope", f"device {target} is outside your areas", status=403, field="targets")
        else:
            chosen.add(target)
    if not chosen:
        raise Refusal("no_devices", "there are no devices to broadcast to there", field="targets")
    return sorted(chosen)


def areas_json(session: Session, user: User) -> list[dict[str, Any]]:
    require(user, "view")
    scope = scope_of(session, user)
    areas = [a for a in session.query(Area).order_by(Area.id) if scope.has_area(a.id)]
    governing = airtime.area_rules(session)
    result = []
    for area in areas:
        rule = governing(area.id)
        result.append({"id": area.id, "name": area.name, "kind": area.kind, "parent_id": area.parent_id,
                       "voice": area.voice,
                       "airtime": {"allowed_from": airtime.clock_text(rule.allowed_from),
                                   "allowed_to": airtime.clock_text(rule.allowed_to),
                                   "max_session_min": rule.max_session_min,
                                   "max_sessions_per_day": rule.max_sessions_per_day,
                                   "set_on_area": rule.area_id}})
    return result


def set_airtime_rule(session: Session, user: User, area_id: int, data: dict[str, Any]) -> AirtimeRule:
    require(user, "admin")
    area = session.get(Area, area_id)
    if area is None or not scope_of(session, user).has_area(area_id):
        raise Refusal("not_found", f"area {area_id} does not exist", status=404)
    start = airtime.parse_clock(data.get("allowed_from", airtime.DEFAULT_FROM), "allowed_from")
    end = airtime.parse_clock(data.get("allowed_to", airtime.DEFAULT_TO), "allowed_to")
    if end <= start:
        raise Refusal("invalid_rule", "'allowed_to' must be after 'allowed_from' (same day)", field="allowed_to")
    limits = {}
    for name, top in (("max_session_min", 24 * 60), ("max_sessions_per_day", 100)):
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top):
            raise Refusal("invalid_rule", f"'{name}' must be 1 to {top}, or null for no limit", field=name)
        limits[name] = value
    rule = session.get(AirtimeRule, area_id) or AirtimeRule(area_id=area_id)
    rule.allowed_from, rule.allowed_to = airtime.clock_text(start), airtime.clock_text(end)
    rule.max_session_min, rule.max_sessions_per_day = limits["max_session_min"], limits["max_sessions_per_day"]
    rule.updated_by, rule.updated_at = user.id, utcnow()
    session.add(rule)
    session.flush()
    audit(session, user, "airtime.set", area.name,
          f"{rule.allowed_from}-{rule.allowed_to}, {rule.max_session_min} min, {rule.max_sessions_per_day}/day")
    return rule


def set_position(session: Session, user: User, device_id: str, data: dict[str, Any]) -> Device:
    device = operated_device(session, user, device_id)
    lat, lon = data.get("lat"), data.get("lon")
    if lat is None and lon is None:
        device.lat = device.lon = None
    else:
        for name, value, top in (("lat", lat, 90), ("lon", lon, 180)):
            if not isinstance(value, int | float) or isinstance(value, bool) or not -top <= value <= top:
                raise Refusal("invalid_position", f"'{name}' must be a number between -{top} and {top}", field=name)
        device.lat, device.lon = float(lat), float(lon)  # type: ignore[arg-type]
    audit(session, user, "device.position", device.id, f"{device.lat}, {device.lon}")
    return device


AREA_KINDS = ("province", "district", "commune", "village")


def create_area(session: Session, user: User, data: dict[str, Any]) -> Area:
    """A province, district, commune or village, under a parent in the admin's scope."""
    require(user, "admin")
    name = text_field(data, "name", 200)
    kind = data.get("kind")
    if kind not in AREA_KINDS:
        raise Refusal("invalid_kind", f"'kind' must be one of {', '.join(AREA_KINDS)}", field="kind")
    parent_id = data.get("parent_id")
    scope = scope_of(session, user)
    if parent_id is not None:
        parent = session.get(Area, parent_id) if isinstance(parent_id, int) and not isinstance(parent_id, bool) \
            else None
        if parent is None or not scope.has_area(parent.id):
            raise Refusal("unknown_area", "'parent_id' must be an area in your scope", field="parent_id")
        if AREA_KINDS.index(kind) <= AREA_KINDS.index(parent.kind):
            raise Refusal("invalid_kind", f"a {kind} cannot lie under a {parent.kind}", field="kind")
    elif not scope.everywhere:
        raise Refusal("out_of_scope", "only an admin without areas creates top-level areas", status=403)
    if session.query(Area).filter_by(name=name, parent_id=parent_id).one_or_none() is not None:
        raise Refusal("duplicate_area", f"{name!r} already exists there", status=409, field="name")
    area = Area(name=name, kind=kind, parent_id=parent_id)
    session.add(area)
    session.flush()
    audit(session, user, "area.create", name, kind)
    return area


def visible_group(scope: Scope, group: DeviceGroup, villages: dict[str, int | None]) -> bool:
    """A group is seen by users of its area, or, without one, by those who cover every member (``villages``:
    each cluster's village)."""
    if group.area_id is not None:
        return scope.has_area(group.area_id)
    return scope.everywhere or all(scope.has_area(villages.get(m.device_id)) for m in group.members)


def list_groups(session: Session, user: User) -> list[DeviceGroup]:
    require(user, "view")
    scope = scope_of(session, user)
    groups = session.query(DeviceGroup).order_by(DeviceGroup.name).all()
    members = {m.device_id for g in groups if g.area_id is None for m in g.members}
    villages = dict(session.query(Device.id, Device.village_id).filter(Device.id.in_(members)).all()) if members else {}
    return [g for g in groups if visible_group(scope, g, villages)]


def save_group(session: Session, user: User, data: dict[str, Any], group_id: int | None = None) -> DeviceGroup:
    """Create a group or replace its name and members: ``{"name", "devices": [ids], "area_id"?}``."""
    require(user, "operate")
    scope = scope_of(session, user)
    name = text_field(data, "name", 200)
    members = data.get("devices")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise Refusal("invalid_devices", "'devices' must be a non-empty list of device ids", field="devices")
    for device_id in members:
        device = session.get(Device, device_id)
        if device is None or not scope.has_device(device):
            raise Refusal("unknown_target", f"unknown device {device_id[:63]!r}", field="devices")
    area_id = owned_area(session, user, data.get("area_id"))
    if group_id is None:
        group = DeviceGroup(name=name, area_id=area_id)
        session.add(group)
        session.flush()
    else:
        found = session.get(DeviceGroup, group_id)
        if found is None or found not in list_groups(session, user):
            raise Refusal("not_found", f"group {group_id} does not exist", status=404)
        group = found
        group.name = name
    group.members = [DeviceGroupMember(group_id=group.id, device_id=d) for d in sorted(set(members))]
    session.flush()
    audit(session, user, "group.save", f"group {group.id}", f"{name}: {', '.join(sorted(set(members)))}")
    return group
