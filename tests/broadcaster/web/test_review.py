"""The write form and the leader's review in a real browser, on a phone as officers use them: each role sees only
what it may do; the writer's time, priority and clusters reach the leader, who hears what will air and approves
it in one step; a refusal says what to change and keeps everything typed; a text too long to read is caught as it
is typed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in, log_out, screenshot
from tests.support.env import Env

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TEXT = "Sáng mai trạm y tế xã tiêm phòng dại cho chó mèo tại nhà văn hóa thôn."


def set_time(page: Page, moment: datetime) -> None:
    """Type a local date and time into the form's "Phát lúc" field."""
    page.fill("#play_at", moment.astimezone(VN).strftime("%Y-%m-%dT%H:%M"))


def tomorrow_at(hour: int, minute: int) -> datetime:
    day = datetime.now(VN).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


def test_an_operator_is_not_offered_a_form_that_would_refuse_them(env: Env, site: str, phone: Page) -> None:
    env.user("van-hanh", ("operator",))
    log_in(phone, site, "van-hanh", "van-hanh password 123")
    expect(phone.locator("#no-writing")).to_contain_text("KHẨN CẤP")
    assert phone.locator("#send-form").count() == 0
    expect(phone.locator("body")).not_to_contain_text("Gửi duyệt")


def test_the_writers_choices_reach_the_leader_who_listens_and_approves(env: Env, site: str, phone: Page,
                                                                      tmp_path) -> None:  # type: ignore[no-untyped-def]
    env.user("bien-tap", ("editor",))
    env.user("chu-tich", ("approver",))
    when = tomorrow_at(7, 30)

    log_in(phone, site, "bien-tap", "bien-tap password 123")
    phone.fill("#title", "Tiêm phòng dại")
    phone.fill("#text", TEXT)
    expect(phone.locator("#spoken-estimate")).to_contain_text(re.compile(r"Đọc mất khoảng \d+ giây"))
    phone.select_option("#priority", "priority")
    set_time(phone, when)
    phone.locator("input[name=targets][value=loa-01]").check()
    phone.click("#send-form button[type=submit]")
    expect(phone.locator("#bulletin-state")).to_have_text("chờ duyệt")
    expect(phone.locator("#request")).to_contain_text("Cụm loa 1")
    expect(phone.locator("#request")).to_contain_text(f"07:30 ngày {when:%d/%m/%Y}")
    bulletin_url = phone.url
    log_out(phone)

    log_in(phone, site, "chu-tich", "chu-tich password 123")
    phone.goto(bulletin_url)
    expect(phone.locator("#request")).to_contain_text("Ưu tiên")
    phone.click("#preview-button")  # "Nghe bản sẽ phát": the very audio that will air
    expect(phone.locator("#preview-audio")).to_have_attribute("src", re.compile("/audio/"), timeout=60_000)
    phone.wait_for_function("document.getElementById('preview-audio').duration > 1", timeout=20_000)
    expect(phone.locator("#preview-reading")).to_contain_text("tiêm phòng dại")
    expect(phone.locator("#preview-listening")).not_to_be_empty()
    # What the writer asked for is in the form, ready to approve as it is or to change.
    phone.locator("#review-when summary").click()
    assert phone.input_value("#priority") == "priority"
    assert phone.locator("input[name=targets][value=loa-01]").is_checked()
    assert not phone.locator("input[name=targets][value=loa-02]").is_checked()
    screenshot(phone, "phone-review", tmp_path)
    phone.click("#approve-button")
    expect(phone.locator("#when")).to_contain_text(f"07:30 ngày {when:%d/%m/%Y}")
    expect(phone.locator("body")).to_contain_text("Ưu tiên")
    assert phone.locator("#deliveries tr[data-device]").all_inner_texts() == [
        phone.locator("#deliveries tr[data-device=loa-01]").inner_text()], "only the cluster the writer chose"


def test_a_refusal_says_what_to_change_and_keeps_everything_typed(env: Env, site: str, phone: Page) -> None:
    env.user("bien-tap", ("editor",))
    log_in(phone, site, "bien-tap", "bien-tap password 123")
    phone.fill("#title", "Họp dân")
    phone.fill("#text", TEXT)
    phone.select_option("#priority", "priority")
    set_time(phone, datetime.now(VN) - timedelta(hours=3))
    phone.locator("input[name=targets][value=loa-02]").check()
    phone.click("#send-form button[type=submit]")
    expect(phone.locator("p.error[role=alert]")).to_contain_text("Thời gian phát đã qua")
    assert phone.input_value("#title") == "Họp dân" and phone.input_value("#text") == TEXT
    assert phone.input_value("#priority") == "priority"
    assert phone.locator("input[name=targets][value=loa-02]").is_checked()
    assert phone.input_value("#play_at"), "the time is kept, to be corrected"

    # A weekly rule with no day says exactly that.
    set_time(phone, tomorrow_at(6, 0))
    phone.fill("#play_at", "")
    phone.locator("#recurring").check()
    phone.fill("#times", "06:30")
    phone.click("#send-form button[type=submit]")
    expect(phone.locator("p.error[role=alert]")).to_contain_text("ít nhất một ngày trong tuần")
    assert phone.input_value("#times") == "06:30" and phone.locator("#recurring").is_checked()


def test_a_text_too_long_to_read_is_caught_while_typing_and_refused(env: Env, site: str, phone: Page) -> None:
    env.user("bien-tap", ("editor",))
    log_in(phone, site, "bien-tap", "bien-tap password 123")
    long = " ".join([TEXT] * 60)  # about 960 words: seven minutes of reading
    phone.fill("#title", "Dài")
    phone.fill("#text", long)
    expect(phone.locator("#spoken-estimate")).to_contain_text("dài quá 5 phút")
    phone.click("#send-form button[type=submit]")
    expect(phone.locator("p.error[role=alert]")).to_contain_text("dài hơn mức cho phép 5 phút")
    assert phone.input_value("#text") == long


def test_a_chairman_writes_and_another_leader_approves(env: Env, site: str, page: Page) -> None:
    env.user("chu-tich", ("approver",))
    env.user("pho-chu-tich", ("approver",))
    log_in(page, site, "chu-tich", "chu-tich password 123")
    page.fill("#title", "Lời chủ tịch")
    page.fill("#text", "Tối nay bảy giờ họp dân tại nhà văn hóa thôn.")
    page.click("#send-form button[type=submit]")
    expect(page.locator("#bulletin-state")).to_have_text("chờ duyệt")
    expect(page.locator("#own-bulletin")).to_contain_text("một lãnh đạo khác")
    assert page.locator("#approve-button").count() == 0, "no button that would end in a refusal"
    url = page.url
    log_out(page)
    log_in(page, site, "pho-chu-tich", "pho-chu-tich password 123")
    page.goto(url)
    page.click("#approve-only-button")
    expect(page.locator("#bulletin-state")).to_have_text("đã duyệt")
