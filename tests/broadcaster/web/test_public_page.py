"""A commune's public page: an admin opts the commune in on the Areas page; then anyone, without logging in, reads
and hears what aired on its loudspeakers (and follows it as an RSS podcast), and nothing else: no draft, nothing
rejected or still to air, nothing from another commune, no user name or device id. Opted out, it is not found."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlparse
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from broadcaster.db import Area, AuditEntry, Device
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area
from tests.support.browser import log_in, screenshot
from tests.support.env import Env, wait_until

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def bulletin(env: Env, title: str, text: str, approve: bool = True, submit: bool = True) -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": title, "text": text, "submit": submit},
                               headers=env.auth)
    assert response.status_code == 201, response.get_json()
    bulletin_id: int = response.get_json()["id"]
    if approve:
        assert env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth).status_code == 200
    return bulletin_id


def air(env: Env, title: str, text: str, device: str, **fields: object) -> int:
    response = env.client.post("/api/v1/broadcasts", json={"bulletin_id": bulletin(env, title, text),
                                                           "targets": [device], **fields}, headers=env.auth)
    assert response.status_code == 201, response.get_json()
    broadcast_id: int = response.get_json()["id"]
    return broadcast_id


def set_public(page: Page, site: str, commune: int, on: bool) -> None:
    page.goto(site + "/admin/areas")
    row = page.locator(f"#public-pages tr[data-area='{commune}']")
    row.locator("input[name=public]").set_checked(on)
    row.get_by_role("button", name="Lưu").click()
    expect(page.locator(f"#public-pages tr[data-area='{commune}'] input[name=public]")).to_be_checked(checked=on)


def test_anyone_hears_what_aired_in_the_commune_and_nothing_else(env: Env, site: str, page: Page, phone: Page,
                                                                 tmp_path: Path) -> None:
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one().id
        other = ensure_area(session, "Xã Bên", "commune")
        ensure_airtime(session, other, "00:00", "24:00")
        session.get(Device, "loa-x").village_id = ensure_area(session, "Thôn Bên", "village", other).id
    env.start_worker()
    env.start_agent("loa-01")
    env.start_agent("loa-x")
    aired = air(env, "Lịch tiêm phòng", "Trạm y tế xã tiêm phòng cho trẻ lúc 7 giờ 30 sáng thứ Bảy.", "loa-01")
    elsewhere = air(env, "Họp dân xã bên", "Xã bên họp dân tối nay.", "loa-x")
    tomorrow = datetime.now(VN).date() + timedelta(days=1)
    air(env, "Thông báo ngày mai", "Ngày mai cắt điện.", "loa-01",
        play_at=datetime.combine(tomorrow, time(20, 0), VN).isoformat())
    bulletin(env, "Bản nháp chưa gửi", "Nháp.", approve=False, submit=False)
    rejected = bulletin(env, "Bản bị trả lại", "Sai thông tin.", approve=False)
    assert env.client.post(f"/api/v1/bulletins/{rejected}/reject", json={"comment": "sai ngày"},
                           headers=env.auth).status_code == 200
    wait_until(lambda: env.device_states(aired) == {"loa-01": "played"}
               and env.device_states(elsewhere) == {"loa-x": "played"}, timeout=90)

    assert env.client.get(f"/p/{commune}").status_code == 404, "not opted in: not found"
    log_in(page, site, "admin", "correct horse battery")
    set_public(page, site, commune, True)
    with env.db.session() as session:
        assert session.query(AuditEntry).filter_by(action="area.public", target="Xã Thử", detail="on").count() == 1

    phone.goto(f"{site}/p/{commune}")  # another browser, not logged in
    entries = phone.locator("section.aired")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Lịch tiêm phòng")
    expect(entries.first).to_contain_text("Trạm y tế xã tiêm phòng cho trẻ")
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", entries.first.inner_text()), "when it aired, dd/mm/yyyy HH:MM"
    phone.wait_for_function("document.querySelector('section.aired audio').duration > 0", timeout=20_000)
    content = phone.content()
    for hidden in ("Họp dân xã bên", "Thông báo ngày mai", "Bản nháp chưa gửi", "Bản bị trả lại", "sai ngày",
                   "admin", "loa-01", "loa-x", "Cụm loa", "Đăng xuất"):
        assert hidden not in content, f"{hidden!r} is not for the public page"
    screenshot(phone, "public-page", tmp_path)

    feed_path = phone.locator("link[rel=alternate]").get_attribute("href")
    assert feed_path == f"/p/{commune}/feed.xml"
    response = env.client.get(feed_path)
    assert response.status_code == 200 and response.mimetype == "application/rss+xml"
    rss = ElementTree.fromstring(response.data)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    [item] = rss.findall("./channel/item")
    assert item.findtext("title") == "Lịch tiêm phòng" and "tiêm phòng" in (item.findtext("description") or "")
    assert item.findtext("pubDate") and item.findtext("guid")
    enclosure = item.find("enclosure")
    assert enclosure is not None and enclosure.get("type") == "audio/ogg"
    with env.client.get(urlparse(enclosure.get("url") or "").path) as audio:
        assert audio.status_code == 200 and audio.mimetype == "audio/ogg"
        assert audio.data[:4] == b"OggS" and len(audio.data) == int(enclosure.get("length") or 0)
    other_audio = env.status(elsewhere)["asset"]
    assert env.client.get(f"/p/{commune}/audio/{other_audio}.ogg").status_code == 404, \
        "no public address for audio that is not on the page"

    set_public(page, site, commune, False)
    for path in (f"/p/{commune}", feed_path, urlparse(enclosure.get("url") or "").path):
        assert env.client.get(path).status_code == 404, f"{path}: opted out, not found"
    assert env.client.get("/p/999999").status_code == 404
