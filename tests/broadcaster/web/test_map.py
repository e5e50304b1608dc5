"""The fleet's map in a real browser (Chromium), with no tile server configured, as a province runs it offline:
the commune's outline and its clusters drawn on a plain background, close clusters grouped, colours that follow
each cluster's state, a click that opens the cluster's page, an operator placing a cluster by a click (stored,
as the API says), a role that may not refused; no script errors and nothing fetched from outside the site. And
the map's data in the API: compact, only the user's areas, 304 while nothing changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from broadcaster.db import Alarm, Area, Device
from broadcaster.ops.bootstrap import ensure_area, ensure_device
from tests.support.browser import NARROW, log_in, open_page, problems, screenshot
from tests.support.env import Env

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

OUTLINE = {"type": "Polygon", "coordinates": [[[105.80, 21.00], [105.90, 21.00], [105.90, 21.08], [105.80, 21.08],
                                               [105.80, 21.00]]]}
PLACES = {"loa-01": (21.010, 105.820), "loa-02": (21.060, 105.880),
          "loa-late": (21.04000, 105.85000), "loa-x": (21.04001, 105.85001)}  # the last two side by side
"""loa-03 stands nowhere yet: the operator places it."""


def seed(env: Env) -> None:
    """The commune's outline, four clusters placed (two of them a metre apart), loa-01 and loa-02 online,
    loa-late failed (an open playback alarm); and another commune with a placed cluster of its own."""
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one()
        commune_id = commune.id
        other = ensure_area(session, "Xã Bên", "commune")
        ensure_device(session, "loa-ben", "Cụm loa xã bên", ensure_area(session, "Thôn Bên", "village", other))
        for device in session.query(Device):
            device.lat, device.lon = PLACES.get(device.id, (21.5, 105.5) if device.id == "loa-ben" else (None, None))
            device.online = device.id in ("loa-01", "loa-02", "loa-late")
        session.add(Alarm(device_id="loa-late", kind="playback", ref="1", message="thử"))
    response = env.client.put(f"/api/v1/areas/{commune_id}/outline", headers=env.auth, json={"geojson": OUTLINE})
    assert response.status_code == 200, response.get_json()
    env.user("van-hanh", ("operator",))
    env.user("bien-tap", ("editor",))
    env.user("van-hanh-ben", ("operator",), ("Xã Bên",))


@contextmanager
def watched(page: Page, site: str) -> Iterator[dict[str, list[str]]]:
    """Everything the page asks for outside the site, and every script error, while in the block."""
    seen: dict[str, list[str]] = {"outside": [], "errors": []}
    page.on("request", lambda r: seen["outside"].append(r.url)
            if not r.url.startswith((site, "data:", "blob:")) else None)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    yield seen


def markers(page: Page) -> list[str]:
    return page.eval_on_selector_all("#fleet-map .map-marker", "es => es.map(e => e.dataset.device)")


def test_outline_markers_and_colours_without_tiles(env: Env, site: str, page: Page, tmp_path: Path) -> None:
    seed(env)
    with watched(page, site) as seen:
        log_in(page, site, "van-hanh", "van-hanh password 123")
        page.goto(site + "/dashboard")
        board = page.locator("#fleet-map")
        expect(board.locator(".leaflet-overlay-pane path")).to_have_count(1)  # the commune's outline
        expect(board.locator(".map-marker")).to_have_count(2)
        assert sorted(markers(page)) == ["loa-01", "loa-02"]
        group = board.locator(".map-cluster")
        expect(group).to_have_count(1)
        expect(group).to_have_text("2")  # loa-late and loa-x, a metre apart
        expect(group).to_have_class(re.compile(r"\bfailed\b"))  # the colour of its most urgent member
        assert board.locator("img.leaflet-tile").count() == 0, "no tile server configured: no tiles asked for"
        expect(page.locator("#map-unplaced")).to_contain_text("1 cụm loa chưa có tọa độ")
        expect(page.locator("#map-legend [data-count=online]")).to_have_text("2")
        screenshot(page, "map", tmp_path)
        assert "loa-ben" not in page.inner_html("#fleet-map") + page.inner_html("#map-device")

        # loa-01 online, green as in the list; then the worker finds it silent: red, without a reload.
        dot = board.locator(".map-marker[data-device=loa-01]")
        expect(dot).to_have_attribute("data-state", "online")
        green = dot.evaluate("e => getComputedStyle(e).backgroundColor")
        listed = page.locator("#dashboard tr[data-device=loa-01] .state")
        assert listed.evaluate("e => getComputedStyle(e).backgroundColor") == green, "the list's colour"
        with env.db.session() as session:
            session.query(Device).filter_by(id="loa-01").one().online = False
        expect(dot).to_have_attribute("data-state", "offline", timeout=30_000)
        red = dot.evaluate("e => getComputedStyle(e).backgroundColor")
        assert red != green
        expect(page.locator("#map-legend [data-count=offline]")).to_have_text("3")

        # Clicking the group opens it; a click on a cluster opens the cluster's page.
        group.click()
        expect(board.locator(".map-marker[data-device=loa-x]")).to_be_visible()
        board.locator(".map-marker[data-device=loa-02]").click()
        expect(page).to_have_url(site + "/devices/loa-02")
        expect(page.locator("h1")).to_contain_text("Cụm loa 2")
        expect(page.locator("#device-areas")).to_have_text("Xã Thử › Thôn 2")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not seen["errors"], seen["errors"]
    assert not seen["outside"], seen["outside"]


def test_an_operator_places_a_cluster_by_a_click(env: Env, site: str, page: Page) -> None:
    seed(env)
    with watched(page, site) as seen:
        log_in(page, site, "van-hanh", "van-hanh password 123")
        page.goto(site + "/map")
        board = page.locator("#fleet-map")
        expect(board.locator(".map-marker")).to_have_count(2)
        page.select_option("#map-device", "loa-03")
        expect(page.locator("#map-status")).to_have_text("Bấm vào bản đồ tại chỗ đặt Cụm loa 3.")
        box = board.bounding_box()
        assert box is not None
        asked: list[str] = []

        def refuse(dialog) -> None:  # type: ignore[no-untyped-def]
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", refuse)
        board.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
        expect(page.locator("#map-status")).to_contain_text("Chưa đặt")
        assert asked and asked[0].startswith("Đặt Cụm loa 3 tại vĩ độ 21,"), asked
        assert _position(env, "loa-03") == (None, None), "a dismissed confirmation stores nothing"

        page.once("dialog", lambda dialog: dialog.accept())
        board.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
        expect(page.locator("#map-status")).to_have_text("Đã đặt vị trí cho Cụm loa 3.")
        lat, lon = _position(env, "loa-03")
        assert lat is not None and lon is not None
        assert 21.0 < lat < 21.08 and 105.8 < lon < 105.9, (lat, lon)  # inside the outline, where it was clicked
        expect(board.locator(".map-marker[data-device=loa-03]")).to_be_visible()
        expect(page.locator("#map-unplaced")).to_have_text("Mọi cụm loa đều đã có tọa độ.")
    assert not seen["errors"], seen["errors"]
    assert not seen["outside"], seen["outside"]


def _position(env: Env, device_id: str) -> tuple[float | None, float | None]:
    """Where the API says the cluster stands."""
    clusters = env.client.get("/api/v1/export/clusters", headers=env.auth).get_json()
    device = next(d for d in clusters if d["id"] == device_id)
    return device["lat"], device["lon"]


def test_who_may_not_place_a_cluster_is_refused(env: Env, site: str, page: Page) -> None:
    seed(env)
    log_in(page, site, "bien-tap", "bien-tap password 123")
    page.goto(site + "/map")
    expect(page.locator("#fleet-map .map-marker")).to_have_count(2)  # an editor sees the map...
    expect(page.locator("#map-place")).to_have_count(0)  # ...but has nothing to place clusters with
    forged = """async () => { const data = new FormData();
        data.append("csrf_token", document.querySelector("input[name=csrf_token]").value);
        data.append("lat", "21.02"); data.append("lon", "105.83");
        const r = await fetch("/devices/loa-03/position", {method: "POST", body: data});
        return [r.status, (await r.json()).error.message]; }"""
    status, message = page.evaluate(forged)
    assert status == 403 and message.startswith("Tài khoản của bạn không được làm việc này"), (status, message)
    assert _position(env, "loa-03") == (None, None)

    with open_page(page.context.browser, NARROW) as other:  # type: ignore[arg-type]
        log_in(other, site, "van-hanh-ben", "van-hanh-ben password 123")
        other.goto(site + "/map")
        expect(other.locator("#fleet-map .map-marker")).to_have_count(1)  # its own commune's cluster only
        status, _ = other.evaluate(forged)
        assert status == 404, "a cluster of another commune is not even found"
        assert other.goto(site + "/devices/loa-01").status == 404  # type: ignore[union-attr]
    assert _position(env, "loa-03") == (None, None)


def test_the_map_page_on_a_narrow_phone(env: Env, site: str, chromium: Browser, tmp_path: Path) -> None:
    seed(env)
    with open_page(chromium, NARROW) as phone:
        log_in(phone, site, "van-hanh", "van-hanh password 123")
        for path in ("/map", "/devices/loa-01"):
            phone.goto(site + path)
            if path == "/map":
                expect(phone.locator("#fleet-map .map-marker")).to_have_count(2)
                screenshot(phone, "map-phone", tmp_path)
            assert not problems(phone, phone=True), (path, problems(phone, phone=True))


def test_the_maps_data_in_the_api(env: Env) -> None:
    seed(env)
    answer = env.client.get("/api/v1/map", headers=env.auth)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    data = answer.get_json()
    states = data["states"]
    clusters = {c[0]: c for c in data["clusters"]}
    assert clusters["loa-01"] == ["loa-01", "Cụm loa 1", 21.01, 105.82, states.index("online")]
    assert states[clusters["loa-late"][4]] == "failed" and states[clusters["loa-x"][4]] == "offline"
    assert clusters["loa-03"][2:4] == [None, None], "listed, to be placed"
    assert [o["name"] for o in data["outlines"]] == ["Xã Thử"] and data["outlines"][0]["geometry"] == OUTLINE
    assert b'": ' not in answer.data and "Cụm loa".encode() in answer.data, "compact, Vietnamese unescaped"
    again = env.client.get("/api/v1/map", headers={**env.auth, "If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    with env.db.session() as session:
        session.query(Device).filter_by(id="loa-x").one().online = True
    changed = env.client.get("/api/v1/map", headers={**env.auth, "If-None-Match": answer.headers["ETag"]})
    assert changed.status_code == 200

    other = env.user("xem-ben", ("editor",), ("Xã Bên",))
    theirs = env.client.get("/api/v1/map", headers=other).get_json()
    assert [c[0] for c in theirs["clusters"]] == ["loa-ben"] and theirs["outlines"] == []
    assert "/map" in env.client.get("/api/v1/openapi.json").get_json()["paths"]


def test_with_a_tile_server_that_cannot_be_reached(env: Env, site: str, page: Page) -> None:
    """Tiles configured (the province's server) but out of reach: they are asked only of that server, the
    credit it asks for is shown, and the clusters and the outline are drawn all the same."""
    seed(env)
    env.config.map.tile_url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # port 9 (discard): nobody answers
    env.config.map.attribution = "Bản đồ: Sở TT&amp;TT"
    with watched(page, site) as seen:
        log_in(page, site, "van-hanh", "van-hanh password 123")
        page.goto(site + "/map")
        board = page.locator("#fleet-map")
        expect(board.locator(".map-marker")).to_have_count(2)
        expect(board.locator(".leaflet-overlay-pane path")).to_have_count(1)
        expect(board.locator(".leaflet-control-attribution")).to_have_text("Bản đồ: Sở TT&TT")
        expect(board.locator("img.leaflet-tile").first).to_be_attached()
    assert seen["outside"] and all(u.startswith("http://127.0.0.1:9/tiles/") for u in seen["outside"]), seen
