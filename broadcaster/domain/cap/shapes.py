"""Plane and sphere geometry for CAP areas, written out (a few lines each) rather than taken from a GIS library:
points (lat, lon, WGS 84) in polygons and circles, and whether two shapes overlap. Polygons that cross the
antimeridian or a pole are not handled (no alert here does); holes of uploaded outlines are ignored."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from typing import Any

from broadcaster.domain.cap.parse import Circle, Polygon
from broadcaster.domain.errors import Refusal

EARTH_RADIUS_KM = 6371.0088
"""The mean radius (IUGG)."""
Point = tuple[float, float]


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine) between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def in_polygon(point: Point, ring: Sequence[Point]) -> bool:
    """Ray casting on (lat, lon) as plane coordinates; a point on an edge counts as inside."""
    lat, lon = point
    inside = False
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(ring):
        if _on_segment(point, (lat1, lon1), (lat2, lon2)):
            return True
        if (lon1 > lon) != (lon2 > lon):
            crossing = lat1 + (lon - lon1) * (lat2 - lat1) / (lon2 - lon1)
            if crossing > lat:
                inside = not inside
    return inside


def in_circle(point: Point, circle: Circle) -> bool:
    """Within the radius; a zero-radius circle (an epicentre) holds its centre alone (1 m of slack)."""
    return distance_km(point, (circle.lat, circle.lon)) <= circle.radius_km + 0.001


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    if abs(cross) > 1e-12:
        return False
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2, d3, d4 = side(c, d, a), side(c, d, b), side(a, b, c), side(a, b, d)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return _on_segment(a, c, d) or _on_segment(b, c, d) or _on_segment(c, a, b) or _on_segment(d, a, b)


def rings_overlap(a: Sequence[Point], b: Sequence[Point]) -> bool:
    """Two closed rings share some ground: a corner of one inside the other, or two edges crossing."""
    if not _boxes_meet(a, b):
        return False
    if any(in_polygon(p, b) for p in a) or any(in_polygon(p, a) for p in b):
        return True
    return any(_segments_cross(a[i], a[i + 1], b[j], b[j + 1]) for i in range(len(a) - 1) for j in range(len(b) - 1))


def circle_overlaps_ring(circle: Circle, ring: Sequence[Point]) -> bool:
    """The circle's centre inside the ring, or an edge of the ring within the radius (measured on a local flat
    projection around the centre: good to a few metres over the sizes alerts use)."""
    centre = (circle.lat, circle.lon)
    if in_polygon(centre, ring):
        return True
    scale = math.cos(math.radians(circle.lat))

    def flat(p: Point) -> tuple[float, float]:
        return ((p[1] - circle.lon) * scale * 111.195, (p[0] - circle.lat) * 111.195)

    for a, b in itertools.pairwise(ring):
        (x1, y1), (x2, y2) = flat(a), flat(b)
        dx, dy = x2 - x1, y2 - y1
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / (dx * dx + dy * dy)))
        if math.hypot(x1 + t * dx, y1 + t * dy) <= circle.radius_km + 0.001:
            return True
    return False


def _boxes_meet(a: Sequence[Point], b: Sequence[Point]) -> bool:
    return not (max(p[0] for p in a) < min(p[0] for p in b) or max(p[0] for p in b) < min(p[0] for p in a)
                or max(p[1] for p in a) < min(p[1] for p in b) or max(p[1] for p in b) < min(p[1] for p in a))


def shape_holds(point: Point, polygons: Sequence[Polygon], circles: Sequence[Circle]) -> bool:
    return any(in_polygon(point, p.points) for p in polygons) or any(in_circle(point, c) for c in circles)


def shape_overlaps(rings: Sequence[Sequence[Point]], polygons: Sequence[Polygon], circles: Sequence[Circle]) -> bool:
    return any(rings_overlap(ring, p.points) for ring in rings for p in polygons) or any(
        circle_overlaps_ring(c, ring) for ring in rings for c in circles)


MAX_OUTLINE_POINTS = 100_000


def outline_rings(geojson: Any) -> list[list[Point]]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon (a Feature or a FeatureCollection of them too), as
    closed (lat, lon) rings; refused with ``invalid_outline`` when it is not one."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        return outline_rings(geojson.get("geometry"))
    if isinstance(geojson, dict) and geojson.get("type") == "FeatureCollection":
        features = geojson.get("features")
        if not isinstance(features, list) or not features:
            raise Refusal("invalid_outline", "a FeatureCollection needs at least one feature", field="geojson")
        return [ring for feature in features for ring in outline_rings(feature)]
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise Refusal("invalid_outline", "the outline must be a GeoJSON Polygon or MultiPolygon (or a Feature of "
                                         "one)", field="geojson")
    coordinates = geojson.get("coordinates")
    polygons = [coordinates] if geojson["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise Refusal("invalid_outline", "the outline has no coordinates", field="geojson")
    rings, count = [], 0
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon or not isinstance(polygon[0], list):
            raise Refusal("invalid_outline", "each polygon is a list of rings of [lon, lat] positions",
                          field="geojson")
        ring = [_position(p) for p in polygon[0]]
        count += len(ring)
        if len(set(ring)) < 3 or count > MAX_OUTLINE_POINTS:
            raise Refusal("invalid_outline", "a ring needs at least three distinct positions (and an outline at "
                                             f"most {MAX_OUTLINE_POINTS} in all)", field="geojson")
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        rings.append(ring)
    return rings


def _position(value: Any) -> Point:
    """GeoJSON's [lon, lat] (longitude first, unlike CAP) as (lat, lon)."""
    if (not isinstance(value, list) or len(value) < 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value[:2])
            or not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90)):
        raise Refusal("invalid_outline", "a position is [longitude, latitude] in degrees (WGS 84)",
                      field="geojson")
    return (float(value[1]), float(value[0]))


def rings_from_text(text: str) -> list[list[Point]]:
    """A stored outline (validated when it was uploaded)."""
    return [[(p[0], p[1]) for p in ring] for ring in outline_rings(json.loads(text))]
