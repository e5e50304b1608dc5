"""Vietnamese conventions in a Vietnamese browser (vi-VN), at a desktop's size and a phone's: dates typed and
shown dd/mm/yyyy HH:MM on the 24-hour clock, a calendar in Vietnamese, decimal commas, no English on screen
after a stop, a switch-off or an emergency, CSV for people by default and for machines on request, and the
audit log filtered by user, action and dates."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from broadcaster.db import Alarm, AuditEntry, Delivery, utcnow
from broadcaster.ops.bootstrap import ensure_area
from tests.support.browser import log_in
from tests.support.env import Env, wait_until
from tests.support.web import csrf, login

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MOMENT = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
LEAKS = re.compile(r"\b(stopped by|switched off|operator|without separate approval|None|emergency|min|/day|"
                   r"broadcast|bulletin|device|cluster|Please|AM|PM|failed|missed|played|queued|cancelled)\b")
"""English a Vietnamese officer must not read (the words the rules, receivers and audit log store)."""


def approved_bulletin(env: Env, title: str = "Họp dân") -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": title, "text": "Mời bà con dự họp."},
                               headers=env.auth)
    bulletin_id: int = response.get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth).status_code == 200
    return bulletin_id


def admin(page: Page, site: str) -> None:
    log_in(page, site, "admin", "correct horse battery")


def test_a_time_typed_day_first_is_saved_as_that_local_time(env: Env, site: str, page: Page) -> None:
    bulletin_id = approved_bulletin(env)
    tomorrow = (datetime.now(HANOI) + timedelta(days=1)).date()
    admin(page, site)
    page.goto(f"{site}/bulletins/{bulletin_id}")
    expect(page.locator("#play_at")).to_have_attribute("placeholder", "dd/mm/yyyy HH:MM")
    assert page.locator("input[type=datetime-local], input[type=date], input[type=time]").count() == 0
    page.fill("#play_at", f"{tomorrow.day}/{tomorrow.month}/{tomorrow.year} 9:05")  # d/m/yyyy H:MM
    page.click("#schedule-button")
    expect(page.locator("#when")).to_contain_text(f"09:05 ngày {tomorrow:%d/%m/%Y}")
    broadcast_id = int(page.url.rsplit("/", 1)[1])
    play_at = datetime.fromisoformat(str(env.status(broadcast_id)["play_at"]))
    assert play_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 5, tzinfo=HANOI), "Hanoi's 09:05"
    assert play_at.astimezone(UTC).hour == 2


def test_a_wrong_date_keeps_the_text_and_says_the_format(env: Env, site: str, page: Page) -> None:
    bulletin_id = approved_bulletin(env)
    admin(page, site)
    page.goto(f"{site}/programmes/new")
    page.fill("#programme-title", "Chương trình sáng")
    page.select_option("select[name=items] >> nth=0", str(bulletin_id))
    page.fill("#play_at", "12/31/2026 9:00 PM")
    page.click("#programme-form button[type=submit]")
    expect(page.locator("#error")).to_contain_text("ngày/tháng/năm giờ:phút")
    expect(page.locator("#error")).to_contain_text("02/12/2026 21:43")
    expect(page.locator("#play_at")).to_have_value("12/31/2026 9:00 PM")
    # The browser's own bubble, in Vietnamese: an empty required field is not sent.
    page.fill("#programme-title", "")
    page.click("#programme-form button[type=submit]")
    assert page.eval_on_selector("#programme-title", "e => e.validationMessage") == "Hãy điền mục này."


def test_the_calendar_speaks_vietnamese_and_chooses_a_date_on_a_phone(env: Env, site: str, phone: Page) -> None:
    approved_bulletin(env)
    admin(phone, site)
    phone.goto(f"{site}/programmes/new")
    expect(phone.locator("html")).to_have_attribute("data-pickers", "ready")
    phone.fill("#play_at", "02/12/2026 21:43")
    phone.click("button.when-pick[data-for=play_at]")
    calendar = phone.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    expect(calendar.locator(".flatpickr-current-month")).to_contain_text("Tháng mười hai")
    expect(calendar.locator(".flatpickr-weekday").first).to_have_text("T2")
    assert calendar.locator(".flatpickr-am-pm").count() == 0, "24 hours"
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)", has_text=re.compile(r"^15$")).click()
    expect(phone.locator("#play_at")).to_have_value("15/12/2026 21:43")


def test_reports_and_dashboard_write_day_first_and_decimal_commas(env: Env, site: str, page: Page) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    broadcast = env.broadcast("Thông báo lịch tiêm phòng cho trẻ em.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    with env.db.session() as session:  # a played minute that is not a whole number
        delivery = session.get(Delivery, (broadcast["id"], "loa-01"))
        assert delivery is not None and delivery.started_at is not None
        delivery.finished_at = delivery.started_at + timedelta(seconds=35)
    admin(page, site)
    page.goto(f"{site}/reports")
    expect(page.locator("#villages")).to_contain_text("0,58")
    row = page.locator("#report-rows tr[data-device=loa-01] td")
    assert MOMENT.match(row.nth(0).inner_text().strip()), row.nth(0).inner_text()
    assert MOMENT.match(row.nth(4).inner_text().strip()), "the receiver's start, day first"
    assert re.search(r"\d{2}/\d{2}/\d{4} – \d{2}/\d{2}/\d{4}", page.locator("h1").inner_text())
    page.goto(f"{site}/dashboard")
    cell = page.locator("#dashboard tr[data-device=loa-01] [data-field=last_seen]")
    expect(cell).to_have_text(MOMENT)
    page.goto(f"{site}/lang/en")
    page.goto(f"{site}/reports")
    expect(page.locator("#villages")).to_contain_text("0.58")


def test_no_english_after_a_stop_a_switch_off_and_an_emergency(env: Env, site: str, page: Page) -> None:
    stopped = env.broadcast("Thông báo cắt điện.", targets=["loa-01"])
    sent = env.client.post("/api/v1/emergency", headers=env.auth,
                           json={"targets": ["all"], "text": "Bão sắp vào, bà con chằng chống nhà cửa.",
                                 "repeat_count": 1}).get_json()
    with env.db.session() as session:  # what a receiver reports when its cluster is switched off, an alarm
        delivery = session.get(Delivery, (sent["broadcasts"][0]["id"], "loa-02"))
        assert delivery is not None
        delivery.state, delivery.error = "cancelled", "the cluster was switched off by the operator"
        session.add(Alarm(device_id="loa-02", kind="offline", raised_at=utcnow(),
                          message=f"no word from Cụm loa 2 since {utcnow():%Y-%m-%d %H:%M} UTC"))
    admin(page, site)
    page.goto(f"{site}/dashboard")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#dashboard tr[data-device=loa-03] button:has-text('Tắt')")  # a real switch-off
    page.goto(f"{site}/broadcasts/{stopped['id']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#stop-button")
    expect(page.locator("body")).to_contain_text("admin đã dừng phát")
    pages = [f"/broadcasts/{stopped['id']}", f"/broadcasts/{sent['broadcasts'][0]['id']}",
             f"/bulletins/{sent['bulletin']['id']}", "/bulletins", "/dashboard", "/reports", "/audit"]
    for path in pages:
        page.goto(site + path)
        text = page.locator("main").inner_text()
        leak = LEAKS.search(text)
        assert leak is None, f"{path}: {leak.group(0)!r} in {text[max(0, leak.start() - 80):leak.end() + 80]!r}"
    page.goto(f"{site}/broadcasts/{sent['broadcasts'][0]['id']}")
    expect(page.locator("#deliveries")).to_contain_text("cụm loa đã bị tắt")
    page.goto(f"{site}/bulletins/{sent['bulletin']['id']}")
    expect(page.locator("#review-comment")).to_contain_text("Khẩn cấp: phát ngay, không qua bước duyệt riêng")
    page.goto(f"{site}/audit")
    expect(page.locator("#audit")).to_contain_text("Dừng phát")
    expect(page.locator("#audit")).to_contain_text("Phát khẩn cấp")
    expect(page.locator("#audit")).to_contain_text("Bật/tắt cụm loa")


def test_sending_back_without_a_reason_asks_for_one(env: Env, site: str, phone: Page) -> None:
    editor = env.user("bien-tap", ("editor",))
    response = env.client.post("/api/v1/bulletins", json={"title": "Họp", "text": "Họp dân.", "submit": True},
                               headers=editor)
    env.user("lanh-dao", ("approver",))
    log_in(phone, site, "lanh-dao", "lanh-dao password 123")
    phone.goto(f"{site}/bulletins/{response.get_json()['id']}")
    phone.click("#reject-button")
    expect(phone.locator("#error")).to_have_text("Hãy ghi lý do trả lại để người viết biết cần sửa gì.")


def test_areas_are_named_once_and_their_hours_typed_as_officers_write_them(env: Env, site: str, page: Page) -> None:
    with env.db.session() as session:
        ensure_area(session, "Xã Hòa Bình", "commune")
        ensure_area(session, "Đông", "commune")
    admin(page, site)
    page.goto(f"{site}/admin/areas")
    text = page.locator("main").inner_text()
    assert "Xã Hòa Bình" in text and "Xã Xã" not in text and "Xã Đông" in text
    row = page.locator("tr[data-area]", has_text="Xã Hòa Bình").first
    row.locator("input[name=allowed_from]").fill("6h30")
    row.locator("input[name=allowed_to]").fill("21:00")
    row.locator("button[value=airtime]").click()
    expect(page.locator("tr[data-area]", has_text="Xã Hòa Bình").first.locator("input[name=allowed_from]")
           ).to_have_value("06:30")


def test_the_csv_is_for_people_by_default_and_for_machines_on_request(env: Env) -> None:
    env.broadcast("Thông báo thử.", targets=["loa-01"])
    login(env)
    people = list(csv.reader(io.StringIO(env.client.get("/reports.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert people[0][:3] == ["Dự kiến", "Mã cụm loa", "Cụm loa"] and people[0][7] == "Trạng thái"
    assert MOMENT.match(people[1][0]) and people[1][6] == "Thông thường" and people[1][7] == "đang chờ"
    machines = list(csv.DictReader(io.StringIO(
        env.client.get("/reports.csv?format=iso").get_data(as_text=True).lstrip("\ufeff"))))
    assert machines[0]["priority"] == "normal" and machines[0]["state"] == "pending"
    planned = datetime.fromisoformat(machines[0]["planned"])
    assert planned.utcoffset() == timedelta(0), "ISO 8601 in UTC"


def test_the_audit_log_is_filtered_by_user_action_and_dates(env: Env, site: str, page: Page) -> None:
    env.user("bien-tap", ("editor",))
    with env.db.session() as session:  # an old entry, and enough to need a second page
        session.add(AuditEntry(at=datetime(2025, 1, 2, 3, 0, tzinfo=UTC), username="admin", action="airtime.set",
                               target="Xã Thử", detail="05:30-21:30, None min, None/day"))
        session.add_all(AuditEntry(username="bien-tap", action="lexicon.add", target=f"từ {n}", detail="đọc")
                        for n in range(105))
    admin(page, site)
    page.goto(f"{site}/audit")
    page.select_option("#audit-user", "admin")
    page.click("#audit-filter button[type=submit]")
    expect(page).to_have_url(re.compile(r"[?&]user=admin"))  # the filtered page, not the one before it
    users = {u.strip() for u in page.locator("#audit tr[data-action] td:nth-child(2)").all_inner_texts()}
    assert users == {"admin"}
    expect(page.locator("#audit")).to_contain_text("không giới hạn")
    expect(page.locator("#audit")).not_to_contain_text("None")
    page.select_option("#audit-user", "")
    page.select_option("#audit-action", "airtime.set")
    page.fill("#from", "1/1/2025")
    page.fill("#to", "31/01/2025")
    page.click("#audit-filter button[type=submit]")
    rows = page.locator("#audit tr[data-action]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("02/01/2025 10:00")  # 03:00 UTC is 10:00 in Hanoi
    expect(rows.first).to_contain_text("Đặt khung giờ phát")
    page.goto(f"{site}/audit?user=bien-tap")
    expect(page.locator("#audit tr[data-action]")).to_have_count(100)
    page.click("#audit-older")
    expect(page.locator("#audit tr[data-action]")).to_have_count(5)
    page.fill("#from", "31/02/2026")
    page.click("#audit-filter button[type=submit]")
    expect(page.locator("p.error")).to_contain_text("ngày/tháng/năm")
    expect(page.locator("#from")).to_have_value("31/02/2026")


def test_a_weekly_schedule_takes_its_dates_day_first(env: Env) -> None:
    bulletin_id = approved_bulletin(env)
    login(env)
    html = env.client.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    next_year = datetime.now(HANOI).year + 1
    answer = env.client.post(f"/bulletins/{bulletin_id}", data={
        "csrf_token": csrf(html), "action": "schedule", "recurring": "1", "weekdays": ["1", "3"],
        "times": "6h30, 17:00", "start": f"1/1/{next_year}", "until": f"31/03/{next_year}",
        "skip": f"2/1/{next_year}, 09/02/{next_year}", "targets": ["loa-01"]})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    broadcast_id = answer.headers["Location"].rsplit("/", 1)[1]
    repeat = env.status(broadcast_id)["repeat"]
    assert isinstance(repeat, dict)
    assert repeat["times"] == ["06:30", "17:00"] and repeat["start"] == f"{next_year}-01-01"
    assert repeat["until"] == f"{next_year}-03-31"
    assert repeat["skip"] == [f"{next_year}-01-02", f"{next_year}-02-09"]
    wrong = env.client.post(f"/bulletins/{bulletin_id}", data={
        "csrf_token": csrf(html), "action": "schedule", "recurring": "1", "weekdays": ["1"], "times": "06:30",
        "skip": f"12/31/{next_year}", "targets": ["loa-01"]})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "ngày/tháng/năm" in page and f'value="12/31/{next_year}"' in page
