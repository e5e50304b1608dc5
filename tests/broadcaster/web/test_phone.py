"""Every page on a phone: each GET page of the officers' site (found in the app's URL map, so a page added later
and not listed here fails the test), opened in Chromium by the role that uses it, with data in it, at the
narrowest phone (360x740) and at a desktop's size: no page scrolls sideways, axe-core finds nothing serious or
critical, and on the phone every control is big enough to tap (44x44 CSS px). The error pages too, the bottom
bar each role gets, the web app's manifest and icons, and green confirmations beside red errors.

Measured at the phone's size: visible buttons, selects, text-like inputs, <summary>, labels that hold a checkbox
or radio (the whole label is the target), checkboxes outside a label, and the links of the navigation (header
menu, bottom bar, language). Links inside running text (a bulletin's title in a sentence, "Tải CSV") are not:
WCAG exempts them, and making every inline link 44 px tall would tear the sentences apart."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from werkzeug.exceptions import InternalServerError

from broadcaster.db import Alarm, Area, Broadcast, CapAlert, CapIssuer, Delivery, Device, LexiconEntry, User, utcnow
from broadcaster.web.pages import error_page
from tests.support.browser import DESKTOP, NARROW, log_in, open_page, problems, screenshot
from tests.support.cap import alert_xml, info_xml
from tests.support.env import Env
from tests.support.web import csrf, login

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

PASSWORDS = {"admin": "correct horse battery"}
ROLES = {"bien-tap": ("editor",), "lanh-dao": ("approver",), "van-hanh": ("operator",)}

NOT_HTML = {
    "ui.audio": "an audio file",
    "ui.reports_csv": "the report as CSV",
    "ui.page_events": "the dashboard's event stream",
    "ui.live_status": "a live session's state as JSON, for live.js",
    "ui.choose_language": "switches the language and redirects back",
    "ui.broadcast_events": "a broadcast's event stream",
    "ui.public_feed": "a commune's RSS feed",
    "ui.public_audio": "an aired item's audio, for the public page",
    "ui.map_json": "the map's data as JSON, for map.js",
}
"""GET endpoints of the ``ui`` blueprint that are not pages."""


Seeded = dict[str, int]
Visit = tuple[str | None, Callable[[Seeded], str]]
"""Who opens a page (a user name; None: nobody logged in) and its path, from the ids the seed made."""

PAGES: dict[str, list[Visit]] = {
    "ui.login": [(None, lambda s: "/login")],
    "ui.index": [("bien-tap", lambda s: "/")],
    "ui.dashboard_page": [("van-hanh", lambda s: "/dashboard"),
                          ("van-hanh", lambda s: "/dashboard?state=offline&q=loa")],
    "ui.map_page": [("van-hanh", lambda s: "/map"), ("bien-tap", lambda s: "/map")],
    "ui.device_page": [("van-hanh", lambda s: "/devices/loa-02")],
    "ui.bulletins": [("bien-tap", lambda s: "/bulletins"), ("lanh-dao", lambda s: "/bulletins?state=submitted")],
    "ui.bulletin_page": [("lanh-dao", lambda s: f"/bulletins/{s['submitted']}"),
                         ("bien-tap", lambda s: f"/bulletins/{s['approved']}")],
    "ui.broadcast": [("van-hanh", lambda s: f"/broadcasts/{s['broadcast']}")],
    "ui.programme_page": [("lanh-dao", lambda s: "/programmes/new")],
    "ui.emergency_page": [("van-hanh", lambda s: "/emergency")],
    "ui.cap_alert": [("admin", lambda s: f"/cap/alerts/{s['cap_alert']}")],
    "ui.cap_admin": [("admin", lambda s: "/admin/cap")],
    "ui.live_page": [("van-hanh", lambda s: "/live")],
    "ui.reports_page": [("lanh-dao", lambda s: "/reports")],
    "ui.lexicon_page": [("bien-tap", lambda s: "/lexicon")],
    "ui.users_page": [("admin", lambda s: "/admin/users")],
    "ui.areas_page": [("admin", lambda s: "/admin/areas")],
    "ui.audit_page": [("admin", lambda s: "/audit")],
    "ui.calendar_page": [("lanh-dao", lambda s: "/calendar"), ("van-hanh", lambda s: "/calendar?view=day")],
    "ui.public_page": [(None, lambda s: f"/p/{s['commune']}")],
    "ui.notifications_page": [("van-hanh", lambda s: "/notifications")],
}

ERRORS: list[tuple[str, str, int, str]] = [
    ("error-404", "/no-such-page", 404, "Không tìm thấy trang"),
    ("error-403", "/admin/users", 403, "Không được phép"),  # an editor on the admins' page
    ("error-405", "/send", 405, "Không làm được việc này ở đây"),
]

SCREENSHOTS = {"ui.index", "ui.dashboard_page", "ui.bulletins", "ui.bulletin_page", "ui.broadcast",
               "ui.emergency_page", "ui.reports_page", "ui.live_page", "ui.users_page"}

def seed(env: Env) -> Seeded:
    """Users of every role, and something on every page: clusters heard from, a broadcast that played (one
    cluster failed), a submitted and an approved bulletin, an alarm, a dictionary word, a held CAP alert."""
    editor = {name: env.user(name, roles) for name, roles in ROLES.items()}["bien-tap"]
    for name in ROLES:
        PASSWORDS[name] = f"{name} password 123"
    sent = env.broadcast("Trạm y tế xã tiêm phòng cho trẻ dưới 5 tuổi lúc 7 giờ 30 sáng thứ Hai tại nhà văn hóa thôn.")
    approved = env.client.post("/api/v1/bulletins", json={"title": "Họp dân thôn 2", "text": "Mời bà con họp."},
                               headers=editor).get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{approved}/approve", headers=env.auth).status_code == 200
    submitted = env.client.post("/api/v1/bulletins", headers=editor, json={
        "title": "Thông báo nộp thuế sử dụng đất phi nông nghiệp năm 2027",
        "text": "UBND xã đề nghị các hộ gia đình nộp thuế trước ngày 31/12 tại bộ phận một cửa."}).get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{submitted}/submit", headers=editor).status_code == 200
    now = utcnow()
    with env.db.session() as session:
        broadcast = session.get(Broadcast, sent["id"])
        assert broadcast is not None
        broadcast.state = "sent"
        for n, delivery in enumerate(session.query(Delivery).filter_by(broadcast_id=broadcast.id)):
            delivery.state = "failed" if n == 1 else "played"
            delivery.started_at, delivery.finished_at = now - timedelta(minutes=3), now - timedelta(minutes=2)
            if n == 1:
                delivery.error = "ALSA: cannot open device hw:CARD=Headphones,DEV=0 (No such file or directory)"
        for n, device in enumerate(session.query(Device).order_by(Device.id)):
            device.online, device.last_seen, device.volume = n % 2 == 0, now - timedelta(seconds=30 * n), 70 + n
        session.add(Alarm(device_id="loa-02", kind="silence", message="Cụm loa không gửi tin quá 10 phút"))
        commune = session.query(Area).filter_by(name="Xã Thử").one()
        commune.public = True  # its public page lists what aired
        commune_id = commune.id
        admin = session.query(User).filter_by(username="admin").one()
        session.add(LexiconEntry(word="UBND", reading="ủy ban nhân dân", created_by=admin.id))
        session.add(CapIssuer(name="Đài nước ngoài", senders="kttv@nchmf.gov.vn", certificates="",
                              require_signature=False, hold_for_approval=False, language_fallback="hold"))
    login(env)
    token = csrf(env.client.get("/emergency").get_data(as_text=True))
    english = info_xml(language="en-US", event="Flood", headline="Flood warning", description="Rivers rising.")
    response = env.client.post("/emergency/cap", content_type="multipart/form-data", data={
        "csrf_token": token, "cap_file": (io.BytesIO(alert_xml("PHONE-1", english)), "flood.xml")})
    assert response.status_code == 200
    with env.db.session() as session:
        cap_alert = session.query(CapAlert).one().id
    return {"broadcast": int(str(sent["id"])), "approved": approved, "submitted": submitted, "cap_alert": cap_alert,
            "commune": commune_id}


def ui_get_endpoints(env: Env) -> set[str]:
    return {rule.endpoint for rule in env.app.url_map.iter_rules()
            if rule.endpoint.startswith("ui.") and "GET" in (rule.methods or ())}


class Officers:
    """One logged-in browser page per user at one size, opened as they are first needed."""

    def __init__(self, browser: Browser, site: str, size: dict[str, int]) -> None:
        self.browser, self.site, self.size = browser, site, size
        self.pages: dict[str | None, Page] = {}
        self.contexts: list[AbstractContextManager[Page]] = []

    def __call__(self, username: str | None) -> Page:
        if username not in self.pages:
            opened = open_page(self.browser, self.size)
            self.contexts.append(opened)
            page = opened.__enter__()
            if username is not None:
                log_in(page, self.site, username, PASSWORDS[username])
            self.pages[username] = page
        return self.pages[username]

    def close(self) -> None:
        for opened in self.contexts:
            opened.__exit__(None, None, None)


def visit_all(env: Env, site: str, chromium: Browser, size: dict[str, int], tmp_path: Path) -> list[str]:
    seeded = seed(env)
    phone = size["width"] < 600
    officers = Officers(chromium, site, size)
    failures = []
    try:
        for endpoint, visits in PAGES.items():
            for n, (username, path) in enumerate(visits):
                page = officers(username)
                response = page.goto(site + path(seeded))
                assert response is not None and response.status == 200, f"{endpoint} {path(seeded)}"
                page.wait_for_load_state("load")
                failures += [f"{endpoint} {path(seeded)} as {username}: {p}" for p in problems(page, phone)]
                if phone and endpoint in SCREENSHOTS and n == 0:
                    screenshot(page, "phone-" + endpoint.removeprefix("ui.").removesuffix("_page"), tmp_path)
        for name, path_, status, title in ERRORS:
            page = officers("bien-tap")
            response = page.goto(site + path_)
            assert response is not None and response.status == status
            expect(page.locator("h1")).to_have_text(title)
            failures += [f"{name} as bien-tap: {p}" for p in problems(page, phone)]
            if phone and name == "error-404":
                screenshot(page, "phone-error", tmp_path)
        if phone:  # the header's links, opened from the bottom bar
            page = officers("admin")
            page.goto(site + "/dashboard")
            try:
                page.click("#menu-button", timeout=5000)
                expect(page.locator("#main-nav")).to_be_visible()
            except (AssertionError, PlaywrightError) as exc:
                failures.append(f"the menu button does not open the menu: {str(exc)[:300]}")
            else:
                failures += [f"menu open as admin: {p}" for p in problems(page, phone)]
    finally:
        officers.close()
    return failures


def test_every_page_is_covered(env: Env) -> None:
    listed = set(PAGES) | set(NOT_HTML)
    missing = ui_get_endpoints(env) - listed
    assert not missing, f"pages nobody checks on a phone: add them to PAGES (or NOT_HTML): {sorted(missing)}"
    assert not listed - ui_get_endpoints(env), "PAGES lists a page that no longer exists"


def test_every_page_fits_a_narrow_phone(env: Env, site: str, chromium: Browser, tmp_path: Path) -> None:
    failures = visit_all(env, site, chromium, NARROW, tmp_path)
    assert not failures, "\n".join(failures)


def test_every_page_at_a_desktop_size(env: Env, site: str, chromium: Browser, tmp_path: Path) -> None:
    failures = visit_all(env, site, chromium, DESKTOP, tmp_path)
    assert not failures, "\n".join(failures)


def test_the_bottom_bar_shows_each_role_its_sections(env: Env, site: str, chromium: Browser) -> None:
    """On a phone the main sections sit at the bottom of the screen: only those the officer's role may use, the
    one they are in marked; the rest of the header's links open from "Mục khác"."""
    seed(env)
    expected = {
        "bien-tap": ["Trang chính", "Giám sát", "Bản tin", "Mục khác"],
        "lanh-dao": ["Trang chính", "Chờ duyệt", "Phát trực tiếp", "Khẩn cấp", "Mục khác"],
        "van-hanh": ["Trang chính", "Giám sát", "Phát trực tiếp", "Khẩn cấp", "Mục khác"],
        "admin": ["Trang chính", "Chờ duyệt", "Phát trực tiếp", "Khẩn cấp", "Mục khác"],
    }
    for username, sections in expected.items():
        with open_page(chromium, NARROW) as page:
            log_in(page, site, username, PASSWORDS[username])
            bar = page.locator("nav.tabbar")
            expect(bar).to_be_visible()
            assert [t.strip() for t in bar.locator("a, button").all_inner_texts()] == sections, username
            expect(page.locator("header nav")).to_be_hidden()
            bar.get_by_text(sections[1]).click()
            expect(page.locator("h1")).to_contain_text({"Giám sát": "Cụm loa", "Chờ duyệt": "chờ duyệt"}[sections[1]])
            expect(bar.locator("[aria-current=page]")).to_have_text(sections[1])
            page.get_by_role("button", name="Mục khác").click()
            menu = page.locator("header nav")
            expect(menu).to_be_visible()
            expect(menu.locator("[aria-current=page]")).to_have_text(sections[1])
            assert ("Người dùng" in menu.inner_text()) == (username == "admin"), "only an admin manages users"
            assert ("Phát trực tiếp" in menu.inner_text()) == (username != "bien-tap")
            page.goto(site + "/lang/en")  # longer words: the bar still fits the screen, each part big enough
            expect(bar).to_contain_text("Home")
            boxes = [part.bounding_box() for part in bar.locator("a, button").all()]
            for box in boxes:
                assert box and box["width"] >= 44 and 0 <= box["x"] <= NARROW["width"] - box["width"] + 0.5, \
                    (username, boxes)
    with open_page(chromium, DESKTOP) as page:  # a desktop keeps the links in the header
        log_in(page, site, "admin", PASSWORDS["admin"])
        expect(page.locator("nav.tabbar")).to_be_hidden()
        expect(page.locator("header nav").get_by_text("Người dùng")).to_be_visible()


def test_confirmations_are_green_and_errors_red(env: Env, site: str, chromium: Browser) -> None:
    seed(env)
    with open_page(chromium, NARROW) as page:
        log_in(page, site, "bien-tap", PASSWORDS["bien-tap"])
        text = page.locator("#text")
        assert "mono" not in text.evaluate("e => getComputedStyle(e).fontFamily"), \
            "Vietnamese accents are drawn offset in a monospace font"
        page.fill("#title", "Lịch tiêm phòng")
        text.fill("Trạm y tế xã tiêm phòng cho trẻ lúc 7 giờ 30 sáng mai.")
        page.locator("#send-form button[type=submit]").click()
        done = page.get_by_role("status").filter(has_text="Đã gửi bản tin để lãnh đạo duyệt.")
        expect(done).to_be_visible()
        expect(done).to_have_css("background-color", "rgb(216, 243, 220)")  # green
    with open_page(chromium, NARROW) as page:
        log_in(page, site, "van-hanh", PASSWORDS["van-hanh"])
        page.goto(site + "/dashboard")
        page.evaluate("""() => { const form = document.querySelector("form[action$='/volume']");
            form.querySelector("input[name=volume]").value = "150"; form.submit(); }""")
        refused = page.get_by_role("alert")
        expect(refused).to_be_visible()
        expect(refused).to_have_css("background-color", "rgb(253, 226, 225)")  # red


def test_error_pages_are_the_sites_own(env: Env) -> None:
    """Not Flask's bare English pages: the site's, in the officer's language, with the navigation."""
    env.user("bien-tap", ("editor",))
    client = env.client
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "bien-tap", "password": "bien-tap password 123", "csrf_token": csrf(page)})
    cases = [("get", "/no-such-page", 404, "Không tìm thấy trang", "Page not found"),
             ("get", "/admin/users", 403, "Không được phép", "Not allowed"),
             ("get", "/send", 405, "Không làm được việc này ở đây", "This cannot be done here"),
             ("post", "/logout", 400, "Phiên làm việc đã hết hạn", "The session has expired")]
    for language in ("vi", "en"):
        client.get(f"/lang/{language}")
        for method, path, status, vietnamese, english in cases:
            response = getattr(client, method)(path, data={"csrf_token": "stale"} if method == "post" else None)
            html = response.get_data(as_text=True)
            assert response.status_code == status and response.mimetype == "text/html", path
            assert (vietnamese if language == "vi" else english) in html, (language, path)
            assert 'href="/static/style.css"' in html and 'class="tabbar"' in html, "a page of the site"
            assert f'<html lang="{language}">' in html
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"], "the API still answers in JSON"
    # A crash (tests let exceptions through, so its page is drawn directly): the same page, with no database call.
    with env.app.test_request_context("/dashboard"):
        html, status = error_page(InternalServerError())
    assert status == 500 and "Máy chủ gặp lỗi" in html and 'href="/static/style.css"' in html


def test_installable_as_a_web_app(env: Env) -> None:
    def fetch(path: str) -> tuple[int, bytes]:
        with env.client.get(path) as response:  # a static file's handle is closed with the response
            return response.status_code, response.get_data()

    html = env.client.get("/login").get_data(as_text=True)
    link = re.search(r'<link rel="manifest" href="([^"]+)"', html)
    assert link and '<meta name="theme-color" content="#8b1c1c">' in html
    status, body = fetch(link.group(1))
    assert status == 200
    manifest = json.loads(body)
    assert manifest["name"] == "Đài truyền thanh xã" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["theme_color"] == "#8b1c1c"
    sizes: dict[str, list[int]] = {}
    for icon in manifest["icons"]:
        status, data = fetch("/static/" + icon["src"])
        assert status == 200, icon["src"]
        if icon["type"] == "image/png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
            assert icon["sizes"] == f"{width}x{height}"
            sizes.setdefault(icon.get("purpose", "any"), []).append(width)
    assert {192, 512} <= set(sizes["any"]) and sizes["maskable"], "what Chrome asks of an installable app"
    svg = re.search(r'<link rel="icon" href="([^"]+\.svg)" type="image/svg\+xml">', html)
    ico = re.search(r'<link rel="icon" href="([^"]+favicon\.ico)"', html)
    assert svg and ico
    assert b"<svg" in fetch(svg.group(1))[1]
    assert fetch(ico.group(1))[1][:4] == b"\x00\x00\x01\x00", "a real .ico"
