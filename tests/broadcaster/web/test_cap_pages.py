"""CAP on the pages: a real alert uploaded on the emergency page says what aired where and what matched
nothing; a refused one says why in Vietnamese and leaves nothing; a held one is released from its page; the
admin sets issuers, feeds, the mapping table and geocodes on one page; and both read at a phone's width."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator

import pytest

from broadcaster.db import Area, CapAlert, CapFeed, CapGeocode, CapIssuer, CapPriorityRule
from broadcaster.web import common
from tests.support.cap import ROWS, alert_xml, build_fleet, info_xml, later, read
from tests.support.env import Env
from tests.support.web import csrf, login


def upload(env: Env, name: str, data: bytes) -> tuple[int, str]:
    token = csrf(env.client.get("/emergency").get_data(as_text=True))
    response = env.client.post("/emergency/cap", data={"csrf_token": token, "cap_file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def alerts(env: Env) -> int:
    with env.db.session() as session:
        return session.query(CapAlert).count()


def only_alert(env: Env) -> int:
    with env.db.session() as session:
        return session.query(CapAlert).one().id


def test_a_real_alert_uploaded_says_what_aired_where_and_what_matched_nothing(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    build_fleet(env)
    login(env)
    row = next(r for r in ROWS if r["file"] == "airnow-ozone-forecast.xml")
    monkeypatch.setattr(common, "clock", lambda: later(row))
    status, html = upload(env, row["file"], read(row["file"]))
    page = text_of(html)
    assert status == 201, page[:500]
    assert "Đã phát" in page and "Ưu tiên" in page and "máy đã soạn bản tin tiếng Việt" in page
    assert "Cảnh báo ô nhiễm không khí" in page and "Auburn" in page, "the text read, our area named"
    assert "Ozone is forecast" in page, "the original kept for the officer"
    assert re.search(r'href="/broadcasts/\d+"', html)

    status, html = upload(env, "smhi.xml", read("smhi-sweden-alpine-weather.xml"))
    assert status == 422 and "Tệp chứa nhiều cảnh báo" in text_of(html)
    before = alerts(env)
    status, html = upload(env, "vn.xml", alert_xml("P-1", info_xml(areas="<area><areaDesc>Thôn Xa, Xã Lạ"
                                                                     "</areaDesc></area>")))
    assert status == 422 and "Không có cụm loa nào của bạn trong vùng cảnh báo" in text_of(html)
    assert "Thôn Xa" in text_of(html), "what matched nothing is shown"
    assert alerts(env) == before


def test_a_held_alert_is_released_from_its_page_with_the_officers_text(env: Env) -> None:
    login(env)
    with env.db.session() as session:
        session.add(CapIssuer(name="Đài nước ngoài", senders="kttv@nchmf.gov.vn", certificates="",
                              require_signature=False, hold_for_approval=False, language_fallback="hold"))
    english = info_xml(language="en-US", event="Flood", headline="Flood warning", description="Rivers rising.")
    status, html = upload(env, "flood.xml", alert_xml("H-1", english))
    assert status == 200 and "cần cán bộ soạn bản tin" in text_of(html)
    alert_id = only_alert(env)
    page = env.client.get(f"/cap/alerts/{alert_id}").get_data(as_text=True)
    assert "Rivers rising" in page and 'name="text"' in page
    response = env.client.post(f"/cap/alerts/{alert_id}/release", data={
        "csrf_token": csrf(page), "text": "Khẩn cấp! Nước sông đang lên nhanh."})
    assert response.status_code == 302
    after = env.client.get(f"/cap/alerts/{alert_id}").get_data(as_text=True)
    assert "Đã phát (cán bộ cho phát)" in text_of(after) and "Đã cho phát cảnh báo: 2 lượt." in after


def test_the_admin_sets_issuers_feeds_the_mapping_table_and_geocodes_on_one_page(env: Env) -> None:
    login(env)
    page = env.client.get("/admin/cap").get_data(as_text=True)
    assert "Đang dùng bảng mặc định" in page
    token = csrf(page)
    pem = read("eccc-cert.pem").decode()
    with env.db.session() as session:
        village = session.query(Area).filter_by(name="Thôn 2").one().id
    for form in ({"action": "issuer", "name": "Environment Canada", "senders": "cap-pac@ec.gc.ca\n@canada.ca",
                  "certificates": pem, "require_signature": "on", "language_fallback": "hold"},
                 {"action": "feed", "url": "https://canhbao.example/feed.atom", "poll_every_s": "120"},
                 {"action": "geocode", "value_name": "MA_XA", "value": "09999", "area_id": str(village)},
                 {"action": "mapping", "rows": "2", "urgency-0": "Past", "priority-0": "none",
                  "priority-1": "priority"}):
        response = env.client.post("/admin/cap", data={"csrf_token": token, **form})
        assert response.status_code == 302, text_of(response.get_data(as_text=True))[:400]
    bad = env.client.post("/admin/cap", data={"csrf_token": token, "action": "issuer", "name": "X",
                                              "senders": "x@y", "certificates": "not a certificate"})
    assert bad.status_code == 422 and "Chứng thư không đọc được" in bad.get_data(as_text=True)
    with env.db.session() as session:
        issuer = session.query(CapIssuer).one()
        assert issuer.require_signature and issuer.language_fallback == "hold"
        assert "BEGIN CERTIFICATE" in issuer.certificates
        assert session.query(CapFeed).one().poll_every_s == 120
        assert session.query(CapGeocode).one().area_id == village
        assert [r.priority for r in session.query(CapPriorityRule).order_by(CapPriorityRule.position)] == \
            ["none", "priority"]
        issuer_id, feed_id = issuer.id, session.query(CapFeed).one().id
        geocode_id = session.query(CapGeocode).one().id
    page = text_of(env.client.get("/admin/cap").get_data(as_text=True))
    assert "meteo.gc.ca" in page and "canhbao.example" in page and "chưa kiểm tra" in page
    response = env.client.post("/admin/cap", data={
        "csrf_token": token, "action": "issuer", "issuer_id": str(issuer_id), "name": "ECCC",
        "senders": "cap-pac@ec.gc.ca", "certificates": "", "require_signature": "on", "language_fallback": "build"})
    assert response.status_code == 302
    for form in ({"action": "feed_remove", "feed_id": str(feed_id)},
                 {"action": "geocode_remove", "geocode_id": str(geocode_id)}, {"action": "mapping_default"}):
        assert env.client.post("/admin/cap", data={"csrf_token": token, **form}).status_code == 302
    with env.db.session() as session:
        issuer = session.get(CapIssuer, issuer_id)
        assert issuer.name == "ECCC" and "BEGIN CERTIFICATE" in issuer.certificates, "an empty box keeps them"
        assert session.query(CapFeed).count() == session.query(CapGeocode).count() == 0
        assert session.query(CapPriorityRule).count() == 0


@pytest.fixture(scope="module")
def phone_browser() -> Iterator[object]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("no chromium here (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary,
                                             args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_cap_pages_read_at_a_phones_width(env: Env, site: str, phone_browser: object,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import Browser

    assert isinstance(phone_browser, Browser)
    build_fleet(env)
    row = next(r for r in ROWS if r["file"] == "nws-cap11-flash-flood-watch-great-falls.xml")
    monkeypatch.setattr(common, "clock", lambda: later(row))
    context = phone_browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844}, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(site + "/login")
        phone.fill("#username", "admin")
        phone.fill("#password", "correct horse battery")
        phone.click("button[type=submit]")
        phone.goto(site + "/emergency#cap")
        phone.set_input_files("#cap_file", files=[{"name": row["file"], "mimeType": "application/xml",
                                                   "buffer": read(row["file"])}])
        phone.click("#cap-button")
        phone.wait_for_selector("#cap-outcome")
        assert "Đã phát" in phone.inner_text("#cap-outcome")
        for path in ("/emergency/cap", "/admin/cap", f"/cap/alerts/{only_alert(env)}"):
            if path != "/emergency/cap":
                phone.goto(site + path)
            wide = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert wide <= 0, f"{path} scrolls sideways by {wide} px at 390 px"
    finally:
        context.close()
