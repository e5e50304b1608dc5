"""The calendar page in a real browser: what is scheduled for tomorrow and a weekly item appear in the week view
with their times, states and overlaps; on a desktop the days are columns, on a phone a list by day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.browser import go_to, log_in, screenshot
from tests.support.env import Env

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def schedule(env: Env, title: str, targets: list[str], **fields: Any) -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": title, "text": f"{title}: thông báo của xã."},
                               headers=env.auth)
    bulletin_id = response.get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth).status_code == 200
    response = env.client.post("/api/v1/broadcasts", json={"bulletin_id": bulletin_id, "targets": targets, **fields},
                               headers=env.auth)
    assert response.status_code == 201, response.get_json()
    broadcast_id: int = response.get_json()["id"]
    return broadcast_id


def titled(day: Locator, title: str) -> Locator:
    """The item of ``day`` with this title (not the others that name it in their overlaps)."""
    return day.locator(".cal-item").filter(has=day.page.get_by_role("link", name=title, exact=True))


def test_tomorrow_and_a_weekly_item_in_the_week_on_a_desktop_and_a_phone(env: Env, site: str, page: Page,
                                                                          phone: Page, tmp_path: Path) -> None:
    today = datetime.now(VN).date()
    tomorrow = today + timedelta(days=1)
    meeting = schedule(env, "Họp dân thôn", ["loa-01"],
                       play_at=datetime.combine(tomorrow, time(9, 15), VN).isoformat())
    schedule(env, "Tiêm phòng", ["loa-01", "loa-02"], play_at=datetime.combine(tomorrow, time(6, 45), VN).isoformat())
    schedule(env, "Bản tin sáng", ["loa-01"], repeat={"weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["06:45"],
                                                      "start": today.isoformat()})
    monday = tomorrow - timedelta(days=tomorrow.weekday())
    week = [monday + timedelta(days=n) for n in range(7)]

    for device in (page, phone):
        log_in(device, site, "admin", "correct horse battery")
        go_to(device, "Lịch phát")
        expect(device.locator("h1")).to_contain_text("Lịch phát")
        device.goto(f"{site}/calendar?date={tomorrow.isoformat()}")
        expect(device.locator("h1")).to_contain_text(f"{monday:%d/%m/%Y} – {week[-1]:%d/%m/%Y}")
        days = device.locator(".cal-day")
        expect(days).to_have_count(7)
        assert days.first.get_attribute("data-date") == monday.isoformat(), "the week starts on Monday"

        day = device.locator(f".cal-day[data-date='{tomorrow.isoformat()}']")
        item = titled(day, "Họp dân thôn")
        expect(item).to_contain_text("09:15–09:")  # ends a little later: its estimated length
        expect(item).to_contain_text("đã lên lịch")
        expect(item).to_contain_text("Cụm loa 1")
        assert item.locator("a").get_attribute("href") == f"/broadcasts/{meeting}"
        # The two 06:45 items share Cụm loa 1: each says so once, with the other's title and the cluster's name.
        vaccination = titled(day, "Tiêm phòng")
        expect(vaccination.locator(".cal-overlap")).to_have_count(1)
        expect(vaccination.locator(".cal-overlap")).to_contain_text("Bản tin sáng")
        expect(vaccination.locator(".cal-overlap")).to_contain_text("Cụm loa 1")
        expect(vaccination.locator(".cal-overlap")).not_to_contain_text("Cụm loa 2")
        expect(vaccination.locator(".cal-overlap")).not_to_contain_text("loa-0")
        for date in (d for d in week if d >= tomorrow):
            weekly = titled(device.locator(f".cal-day[data-date='{date.isoformat()}']"), "Bản tin sáng")
            expect(weekly).to_contain_text("06:45")
            expect(weekly).to_contain_text("đã lên lịch")
            expect(weekly).to_contain_text("hằng tuần")
        expect(day.locator(".cal-hours")).to_contain_text("00:00–24:00")

    first, second = (page.locator(".cal-day").nth(n).bounding_box() for n in (0, 1))
    assert first and second and second["x"] > first["x"] and abs(second["y"] - first["y"]) < 2, \
        "on a desktop the days are side by side"
    screenshot(page, "calendar", tmp_path)
    first, second = (phone.locator(".cal-day").nth(n).bounding_box() for n in (0, 1))
    assert first and second and second["y"] >= first["y"] + first["height"] and abs(second["x"] - first["x"]) < 2, \
        "on a phone the week is a list by day"
    assert phone.evaluate("document.getElementById('calendar').getBoundingClientRect().right") <= 390, \
        "the days fit the phone's width"
    screenshot(phone, "calendar-phone", tmp_path)
