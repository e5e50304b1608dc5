"""The province's dashboard in a real browser at a phone's size: districts as cards, a tap drills down, a
filter narrows the clusters, and a count changes on screen without a reload when a cluster falls silent."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from broadcaster.db import Device
from tests.support.browser import log_in, problems
from tests.support.env import Env
from tests.support.province import province, troubles

__all__ = ["province"]  # a fixture
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def test_an_operator_on_a_phone_drills_down_filters_and_sees_a_count_change_live(
        env: Env, site: str, phone: Page, province: dict[str, int]) -> None:
    troubles(env)
    env.user("tinh", ("operator",), areas=("Tỉnh Mẫu",))
    log_in(phone, site, "tinh", "tinh password 123")
    phone.goto(site + "/dashboard")
    expect(phone.locator("#crumbs")).to_contain_text("Tỉnh Mẫu")
    north = phone.locator(f'#areas tr[data-area="{province["Huyện Bắc"]}"]')
    expect(north.locator('[data-field="offline"]')).to_have_text("1")
    expect(north.locator('[data-field="emergency_reach"]')).to_have_text("4/6")
    assert problems(phone, phone=True) == [], "no sideways scroll, no serious axe finding, nothing too small to tap"

    north.get_by_role("link", name="Huyện Bắc").click()
    expect(phone.locator("#crumbs")).to_contain_text("Huyện Bắc")
    expect(phone.locator("#live-status")).to_have_text("trực tiếp")
    east = phone.locator(f'#areas tr[data-area="{province["Xã Đông"]}"]')
    expect(east.locator('[data-field="offline"]')).to_have_text("1")
    with env.db.session() as session:  # a second cluster of Xã Đông falls silent
        session.get(Device, "dong1-3").online = False  # type: ignore[union-attr]
    expect(east.locator('[data-field="offline"]')).to_have_text("2", timeout=15000)
    expect(phone.locator('#totals [data-count="offline"]')).to_contain_text("2 mất kết nối")
    expect(phone.locator('tr[data-device="dong1-3"] [data-field="state"]')).to_have_text("mất kết nối")

    phone.get_by_role("link", name="Mất kết nối").click()
    expect(phone.locator("tr[data-device]")).to_have_count(2)
    expect(phone.get_by_role("link", name="Mất kết nối")).to_have_attribute("aria-current", "true")
    phone.fill("#dashboard-q", "dong 1-3")
    phone.get_by_role("button", name="Tìm").click()
    expect(phone.locator("tr[data-device]")).to_have_count(0)
    expect(phone.locator("#no-clusters")).to_have_text("Không có cụm loa nào khớp.")
    assert problems(phone, phone=True) == []
