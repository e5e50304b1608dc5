"""The area tree (province, district, commune, village), walked in one place: the areas below some areas, the
areas above one, each device's alert groups and the largest areas a set of devices covers whole."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from broadcaster.db import Area, Device
from edge_agent.protocol.fields import MAX_GROUPS


def parents(session: Session) -> dict[int, int | None]:
    """Every area's parent, in one query."""
    return dict(session.query(Area.id, Area.parent_id).all())


def ancestry(area_id: int | None, parent_of: dict[int, int | None], limit: int = MAX_GROUPS) -> list[int]:
    """The area and every area above it, nearest first (at most ``limit``; a loop in the tree ends it)."""
    chain: list[int] = []
    while area_id is not None and area_id not in chain and len(chain) < limit:
        chain.append(area_id)
        area_id = parent_of.get(area_id)
    return chain


def below(session: Session, roots: Iterable[int]) -> frozenset[int]:
    """The areas ``roots`` and every area under them."""
    children: dict[int | None, list[int]] = {}
    for area_id, parent_id in session.query(Area.id, Area.parent_id):
        children.setdefault(parent_id, []).append(area_id)
    return frozenset(walk_down(children, roots))


def walk_down(children: dict[int | None, list[int]], roots: Iterable[int]) -> set[int]:
    """``roots`` and every area under them, given each area's children (a loop in the tree ends the walk)."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        area_id = todo.pop()
        if area_id not in seen:
            seen.add(area_id)
            todo.extend(children.get(area_id, []))
    return seen


def group_name(area_id: int) -> str:
    """The alert group of an area: every device of the area and of the areas below it."""
    return f"a{area_id}"


def groups_of(session: Session, device_ids: list[str]) -> dict[str, list[str]]:
    """Each device's groups: its village and every area above it."""
    parent_of = parents(session)
    villages = dict(session.query(Device.id, Device.village_id).filter(Device.id.in_(device_ids)).all())
    return {d: [group_name(a) for a in ancestry(villages.get(d), parent_of)] for d in device_ids}


def areas_covering(session: Session, device_ids: list[str]) -> dict[str, set[str]]:
    """The groups of the largest areas all of whose devices are among ``device_ids``, with their devices."""
    parent_of = parents(session)
    members: dict[int, set[str]] = {}
    for device_id, village_id in session.query(Device.id, Device.village_id).filter(Device.village_id.is_not(None)):
        for area_id in ancestry(village_id, parent_of):
            members.setdefault(area_id, set()).add(device_id)
    wanted = set(device_ids)
    whole = {area_id for area_id, inside in members.items() if inside <= wanted}
    return {group_name(a): members[a] for a in sorted(whole)
            if not any(p in whole for p in ancestry(a, parent_of)[1:])}
