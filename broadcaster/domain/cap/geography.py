"""Where an alert is for, in our terms: the clusters standing inside its polygons and circles, the areas whose
uploaded outline it overlaps, the areas its geocodes are mapped to, and the areas its ``areaDesc`` names, all
inside the importing user's areas only (a village name never reaches a village of that name elsewhere). What
matched nothing is listed, never dropped."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from broadcaster.db import Area, AreaOutline, CapGeocode, Device
from broadcaster.domain.access import Scope
from broadcaster.domain.areas import ancestry, parents
from broadcaster.domain.cap.parse import AreaBlock
from broadcaster.domain.cap.shapes import Point, rings_from_text, shape_holds, shape_overlaps

PREFIXES = tuple(sorted((
    "thành phố", "tp.", "tp", "tỉnh", "huyện", "quận", "thị xã", "tx.", "xã", "phường", "thị trấn", "tt.",
    "thôn", "bản", "ấp", "làng", "xóm", "buôn", "sóc", "tổ dân phố", "khu phố", "khối", "tổ",
), key=len, reverse=True))
"""Kinds of place written before a Vietnamese name; "Tỉnh Lào Cai" and "Lào Cai" are the same province."""
SEPARATORS = re.compile(r"[,;\n\r]+|\s+và\s+")


def normalized(name: str) -> str:
    """A place name as compared: NFC, case folded, spaces collapsed, outer punctuation gone, and one leading
    kind ("Huyện", "Xã", "Thôn"...) dropped unless only a number would be left ("Thôn 1" stays itself)."""
    text = " ".join(unicodedata.normalize("NFC", name).casefold().split()).strip(" .:()-\u2013")
    for prefix in PREFIXES:
        rest = text[len(prefix):].strip(" .")
        if text.startswith(prefix) and (text[len(prefix):len(prefix) + 1] in (" ", ".") or prefix.endswith(".")) \
                and any(ch.isalpha() for ch in rest):
            return rest
    return text


def pieces(desc: str) -> list[str]:
    """An ``areaDesc`` split into the names it lists (commas, semicolons, lines, "và")."""
    return [p.strip() for p in SEPARATORS.split(desc) if p.strip(" .")]


@dataclass
class Fleet:
    """What an import matches against, loaded once: the user's areas by name, their clusters with a position,
    the outlines and the geocode mapping (inside the scope)."""

    scope: Scope
    names: dict[str, list[int]]
    area_names: dict[int, str]
    parent_of: dict[int, int | None]
    positions: dict[str, Point]
    village_of: dict[str, int | None]
    outlines: dict[int, list[list[Point]]]
    geocodes: dict[tuple[str, str], list[int]]


def load_fleet(session: Session, scope: Scope) -> Fleet:
    names: dict[str, list[int]] = defaultdict(list)
    area_names = {}
    for area in session.query(Area):
        if scope.has_area(area.id):
            names[normalized(area.name)].append(area.id)
            area_names[area.id] = area.name
    positions, village_of = {}, {}
    for device in session.query(Device):
        if scope.has_device(device):
            village_of[device.id] = device.village_id
            if device.lat is not None and device.lon is not None:
                positions[device.id] = (device.lat, device.lon)
    outlines = {o.area_id: rings_from_text(o.geojson) for o in session.query(AreaOutline)
                if o.area_id in area_names}
    geocodes: dict[tuple[str, str], list[int]] = defaultdict(list)
    for code in session.query(CapGeocode):
        if code.area_id in area_names:
            geocodes[(code.value_name.casefold(), code.value)].append(code.area_id)
    return Fleet(scope, dict(names), area_names, parents(session), positions, village_of, outlines, dict(geocodes))


@dataclass
class Match:
    """Who an alert's areas reach, and what reached nothing."""

    devices: set[str] = field(default_factory=set)
    areas: set[int] = field(default_factory=set)
    matched: list[str] = field(default_factory=list)
    """What reached something, in words: "Thôn 1 (areaDesc)", "SAME 006037 → Thôn 1", "polygon → 2 cụm loa"."""
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    def targets(self) -> list[str]:
        """For ``create_broadcast``: ``area:<id>`` for whole areas, and the devices found by position."""
        return [f"area:{a}" for a in sorted(self.areas)] + sorted(self.devices)

    def reached(self, fleet: Fleet) -> set[str]:
        """Every device the targets name."""
        under = {a for a in fleet.area_names if set(ancestry(a, fleet.parent_of, limit=64)) & self.areas}
        return self.devices | {d for d, village in fleet.village_of.items() if village in under}

    def merge(self, other: Match) -> None:
        self.devices |= other.devices
        self.areas |= other.areas
        for mine, theirs in ((self.matched, other.matched), (self.unmatched, other.unmatched),
                             (self.ambiguous, other.ambiguous)):
            mine += [m for m in theirs if m not in mine]

    def as_json(self) -> dict[str, object]:
        return {"matched": self.matched, "unmatched": self.unmatched, "ambiguous": self.ambiguous}


def match_areas(fleet: Fleet, blocks: tuple[AreaBlock, ...]) -> Match:
    result = Match()
    for block in blocks:
        result.merge(_match_block(fleet, block))
    return result


def _match_block(fleet: Fleet, block: AreaBlock) -> Match:
    found = Match()
    label = block.desc[:80] or "(no areaDesc)"
    if block.polygons or block.circles:
        inside = {d for d, point in fleet.positions.items() if shape_holds(point, block.polygons, block.circles)}
        outlined = {a for a, rings in fleet.outlines.items() if shape_overlaps(rings, block.polygons, block.circles)}
        if inside:
            found.devices |= inside
            found.matched.append(f"{label}: {len(inside)} cụm loa trong vùng cảnh báo")
        for area_id in sorted(outlined):
            found.areas.add(area_id)
            found.matched.append(f"{label}: ranh giới {fleet.area_names[area_id]}")
        if not inside and not outlined:
            found.unmatched.append(f"{label}: không có cụm loa nào trong vùng (đa giác/vòng tròn)")
    for code in block.geocodes:
        areas = fleet.geocodes.get((code.name.casefold(), code.value.strip()), [])
        if areas:
            found.areas |= set(areas)
            found.matched += [f"{code.name} {code.value} → {fleet.area_names[a]}" for a in areas]
        else:
            found.unmatched.append(f"{code.name} {code.value}")
    named = _match_names(fleet, block.desc)
    if not (named.areas or named.ambiguous) and (found.devices or found.areas):
        named.unmatched = []  # the areaDesc only describes what the shape or a geocode already found
    found.merge(named)
    return found


def _match_names(fleet: Fleet, desc: str) -> Match:
    """The areas an ``areaDesc`` names, among the user's. A name of a larger area next to a smaller one inside
    it qualifies it ("Thôn 1, Xã Tân Lập": Thôn 1 of Tân Lập, not all of Tân Lập); a name that fits several
    areas is settled by such a qualifier, or reported as ambiguous."""
    result = Match()
    listed = pieces(desc)
    candidates = {piece: fleet.names.get(normalized(piece), []) for piece in listed}
    every = {a for found in candidates.values() for a in found}
    chosen: dict[str, list[int]] = {}
    for piece, found in candidates.items():
        if len(found) > 1:
            qualified = [a for a in found if set(ancestry(a, fleet.parent_of, limit=64)[1:]) & every]
            found = qualified if len(qualified) == 1 else found
        if len(found) > 1:
            places = ", ".join(_path(fleet, a) for a in found[:5])
            result.ambiguous.append(f"{piece}: {places}")
        elif found:
            chosen[piece] = found
    picked = {a for found in chosen.values() for a in found}
    for piece, found in chosen.items():
        area_id = found[0]
        below = any(area_id in ancestry(other, fleet.parent_of, limit=64)[1:] for other in picked)
        if not below:
            result.areas.add(area_id)
            result.matched.append(f"{piece} → {_path(fleet, area_id)}")
    result.unmatched += [piece for piece, found in candidates.items() if not found]
    return result


def _path(fleet: Fleet, area_id: int) -> str:
    """An area with the area above it, to tell two of the same name apart: "Thôn 1 (Xã Thử)"."""
    parent = fleet.parent_of.get(area_id)
    name = fleet.area_names[area_id]
    return f"{name} ({fleet.area_names[parent]})" if parent in fleet.area_names else name


def describe(fleet: Fleet, match: Match) -> str:
    """The areas reached, by our names, for the announcement ("Thôn 1, Thôn 2")."""
    names = [fleet.area_names[a] for a in sorted(match.areas)]
    villages = sorted({v for d in match.devices if (v := fleet.village_of.get(d)) is not None} - match.areas)
    names += [fleet.area_names[v] for v in villages if v in fleet.area_names]
    return ", ".join(dict.fromkeys(names))


def report(match: Match) -> str:
    return json.dumps(match.as_json(), ensure_ascii=False)
