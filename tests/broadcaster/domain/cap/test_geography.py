"""Where an alert is for, in our terms: names matched tolerantly and only inside the importer's areas (a bare
village name never reaches a village of that name in another commune; an ambiguous one is said), polygons and
circles against the clusters' positions, uploaded outlines, and every name that matched nothing reported."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from broadcaster.db import Area, Device
from broadcaster.domain.cap.parse import Circle, parse_circle, parse_polygon
from broadcaster.domain.cap.shapes import circle_overlaps_ring, distance_km, in_circle, in_polygon, rings_overlap
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device
from tests.support.cap import alert_xml, info_xml
from tests.support.env import Env


def post(env: Env, areas: str, auth: dict[str, str] | None = None, identifier: str = "G-1") -> tuple[int, Any]:
    response = env.client.post("/api/v1/cap", headers=auth or env.auth, data=alert_xml(identifier, info_xml(
        areas=areas)), content_type="application/cap+xml")
    return response.status_code, response.get_json()


def reached(body: dict[str, Any]) -> set[str]:
    return {d["device_id"] for b in body["broadcasts"] for d in b["devices"]}


def named(desc: str) -> str:
    return f"<area><areaDesc>{desc}</areaDesc></area>"


@pytest.fixture
def other_commune(env: Env) -> None:
    """Xã Bên, outside Xã Thử, with its own Thôn 1 (cluster loa-b1)."""
    with env.db.session() as session:
        commune = ensure_area(session, "Xã Bên", "commune")
        ensure_airtime(session, commune, "00:00", "24:00")
        ensure_device(session, "loa-b1", "Cụm loa Bên", ensure_area(session, "Thôn 1", "village", commune))


@pytest.mark.usefixtures("other_commune")
def test_a_village_name_reaches_only_the_village_of_the_importers_commune(env: Env) -> None:
    operator = env.user("van-hanh", ("operator",))
    status, body = post(env, named("Thôn 1"), operator)
    assert status == 201 and reached(body) == {"loa-01"}, body
    status, body = post(env, named("Thôn 1"), identifier="G-2")
    assert status == 422 and body["error"]["code"] == "ambiguous_area", body
    assert "Xã Bên" in body["error"]["message"] and "Xã Thử" in body["error"]["message"]
    status, body = post(env, named("Thôn 1, Xã Bên"), identifier="G-3")
    assert status == 201 and reached(body) == {"loa-b1"}, "the commune after it says which Thôn 1"


@pytest.mark.parametrize(("desc", "devices"), [
    ("thôn 2", {"loa-02"}),
    (unicodedata.normalize("NFD", "Thôn 2"), {"loa-02"}),
    ("Thôn 2, Thôn 3; thôn 4", {"loa-02", "loa-03", "loa-late"}),
    ("Thôn 2\nThôn 3", {"loa-02", "loa-03"}),
    ("Thôn 2 và Thôn 3", {"loa-02", "loa-03"}),
    ("Thử", {"loa-01", "loa-02", "loa-03", "loa-late", "loa-x"}),
    ("XÃ THỬ", {"loa-01", "loa-02", "loa-03", "loa-late", "loa-x"}),
])
def test_area_names_are_matched_tolerantly(env: Env, desc: str, devices: set[str]) -> None:
    status, body = post(env, named(desc))
    assert status == 201 and reached(body) == devices, body


def test_a_name_that_matches_nothing_is_reported_and_never_dropped(env: Env) -> None:
    status, body = post(env, named("Thôn 2, Thôn Không Có"))
    assert status == 201 and reached(body) == {"loa-02"}
    assert body["unmatched"] == ["Thôn Không Có"] and any("Thôn 2" in m for m in body["matched"])


def position(env: Env, device: str, lat: float, lon: float) -> None:
    answer = env.client.put(f"/api/v1/devices/{device}/position", headers=env.auth, json={"lat": lat, "lon": lon})
    assert answer.status_code == 200


def test_polygons_and_circles_reach_the_clusters_standing_inside_them(env: Env) -> None:
    position(env, "loa-01", 21.03, 105.85)
    position(env, "loa-02", 21.50, 105.85)
    square = "<polygon>21.0,105.8 21.0,105.9 21.1,105.9 21.1,105.8 21.0,105.8</polygon>"
    status, body = post(env, f"<area><areaDesc>vùng ven sông</areaDesc>{square}</area>")
    assert status == 201 and reached(body) == {"loa-01"}, body
    assert body["unmatched"] == [], "a shape that reached clusters: its description is not a list of our names"
    circle = "<circle>21.52,105.86 5</circle>"
    status, body = post(env, f"<area><areaDesc>tâm bão</areaDesc>{circle}</area>", identifier="G-2")
    assert status == 201 and reached(body) == {"loa-02"}
    status, body = post(env, "<area><areaDesc>biển</areaDesc><circle>10.0,108.0 20</circle></area>",
                        identifier="G-3")
    assert status == 422 and body["error"]["code"] == "no_matching_area"


def test_an_uploaded_outline_brings_in_a_village_whose_clusters_have_no_position(env: Env) -> None:
    with env.db.session() as session:
        village = session.query(Area).filter_by(name="Thôn 3").one().id
        assert session.get(Device, "loa-03").lat is None
    outline = {"type": "MultiPolygon", "coordinates": [
        [[[105.70, 20.90], [105.75, 20.90], [105.75, 20.95], [105.70, 20.95], [105.70, 20.90]]],
        [[[106.00, 21.00], [106.10, 21.00], [106.10, 21.10], [106.00, 21.00]]]]}
    answer = env.client.put(f"/api/v1/areas/{village}/outline", headers=env.auth, json={"geojson": outline})
    assert answer.status_code == 200 and answer.get_json()["has_outline"]
    overlapping = "<polygon>20.94,105.74 20.94,105.80 21.00,105.80 21.00,105.74 20.94,105.74</polygon>"
    status, body = post(env, f"<area><areaDesc>hạ lưu</areaDesc>{overlapping}</area>")
    assert status == 201 and reached(body) == {"loa-03"}, body
    for bad in ({"type": "Point", "coordinates": [105, 21]}, {"type": "Polygon", "coordinates": [[[200, 21]]]},
                {"type": "Polygon", "coordinates": "x"}):
        assert env.client.put(f"/api/v1/areas/{village}/outline", headers=env.auth,
                              json={"geojson": bad}).status_code == 422, bad
    answer = env.client.put(f"/api/v1/areas/{village}/outline", headers=env.auth, json={"geojson": None})
    assert answer.status_code == 200 and not answer.get_json()["has_outline"]


def test_cap_polygons_are_latitude_first_and_closed_if_the_issuer_did_not() -> None:
    polygon = parse_polygon("21.0,105.8 21.0,105.9 21.1,105.9")
    assert polygon is not None and polygon.points[0] == polygon.points[-1] == (21.0, 105.8)
    assert in_polygon((21.05, 105.88), polygon.points) and not in_polygon((105.88, 21.05), polygon.points)
    assert in_polygon((21.0, 105.85), polygon.points), "on an edge is inside"
    assert parse_polygon("") is None and parse_polygon("21,105 x,y 22,106") is None
    assert parse_polygon("21,105 21,105 21,105 21,105") is None, "no area at all"


def test_distances_and_circles_on_the_sphere() -> None:
    hanoi, saigon = (21.0285, 105.8542), (10.8231, 106.6297)
    assert 1130 < distance_km(hanoi, saigon) < 1150
    assert parse_circle("32.9525,-115.5527 0") == Circle(32.9525, -115.5527, 0.0)
    assert in_circle((32.9525, -115.5527), Circle(32.9525, -115.5527, 0.0)), "an epicentre holds its centre"
    assert not in_circle((32.9535, -115.5527), Circle(32.9525, -115.5527, 0.0))
    assert parse_circle("1,1") == Circle(1, 1, 0.0) and parse_circle("95,10 5") is None
    square = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)]
    assert circle_overlaps_ring(Circle(0.5, 1.05, 10), square) and not circle_overlaps_ring(Circle(0.5, 1.2, 10),
                                                                                            square)
    assert rings_overlap(square, [(0.5, 0.5), (0.5, 2), (2, 2), (0.5, 0.5)])
    assert not rings_overlap(square, [(2.0, 2.0), (2.0, 3.0), (3.0, 3.0), (2.0, 2.0)])
