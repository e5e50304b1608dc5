"""Honest live state in a real browser: the broadcast page follows each cluster through the event stream without
reloading, a short emergency shows as playing while it plays, and an operator's volume or switch-off is confirmed
at once and marked until the cluster reports it has it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in
from tests.support.env import Env

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def test_the_broadcast_page_follows_the_clusters_without_reloading(env: Env, site: str, page: Page) -> None:
    env.start_worker()
    env.start_agent("loa-01", heartbeat_s=60.0)  # heartbeats cannot be what shows it: the reports are
    log_in(page, site, "admin", "correct horse battery")
    states: list[str] = []
    page.expose_function("noteState", lambda state: states.append(state))
    page.fill("#title", "Nước lũ đang lên")
    page.fill("#text", "Khẩn cấp: nước sông đang lên nhanh, bà con thôn một di chuyển tài sản lên cao ngay.")
    page.check("input[name=targets][value=loa-01]")
    page.click("#send-form button[type=submit]")
    row = page.locator("#deliveries tr[data-device=loa-01]")
    expect(row).to_be_visible()
    # Watch the row's state as the page changes it.
    page.evaluate("""() => {
        const row = document.querySelector('#deliveries tr[data-device=loa-01]');
        new MutationObserver(() => window.noteState(row.dataset.state))
            .observe(row, {attributes: true, attributeFilter: ['data-state']});
    }""")
    expect(row).to_contain_text("đã phát", timeout=60_000)
    assert "playing" in states, f"it showed as playing while it played: {states}"
    assert row.locator("[data-field=finished_at]").inner_text() != "—", "the device's own end time is shown"
    expect(page.locator("#broadcast-state")).to_have_text("đã phát")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1, "no reload"
    assert page.locator("meta[http-equiv=refresh]").count() == 0 or page.evaluate(
        "document.querySelector('noscript') !== null"), "the reload is only for browsers without scripts"


def test_a_volume_set_on_the_dashboard_is_confirmed_and_marked_until_the_cluster_has_it(
        env: Env, site: str, phone: Page) -> None:
    env.start_worker()
    env.start_agent("loa-01", heartbeat_s=1.0)  # loa-02 has no receiver running: it cannot confirm anything
    env.user("van-hanh", ("operator",))
    log_in(phone, site, "van-hanh", "van-hanh password 123")
    phone.goto(site + "/dashboard")
    expect(phone.locator("#dashboard tr[data-device=loa-01] [data-field=state]")).to_contain_text(
        "trực tuyến", timeout=20_000)

    for device_id, name, volume in (("loa-02", "Cụm loa 2", "20"), ("loa-01", "Cụm loa 1", "35")):
        row = phone.locator(f"#dashboard tr[data-device={device_id}]")
        row.locator("input[name=volume]").fill(volume)
        row.locator("form[action$='/volume'] button").tap()
        expect(phone.locator("main [role=status], main p").filter(has_text="Đã đặt âm lượng")).to_contain_text(
            f"Đã đặt âm lượng {volume}% cho {name}")
        assert phone.locator(f"#dashboard tr[data-device={device_id}] input[name=volume]").input_value() == volume

    # The silent cluster stays marked; the one that answered loses its mark and keeps the new volume.
    expect(phone.locator("#dashboard tr[data-device=loa-01] .pending-note")).to_have_count(0, timeout=30_000)
    assert phone.locator("#dashboard tr[data-device=loa-01] input[name=volume]").input_value() == "35"
    expect(phone.locator("#dashboard tr[data-device=loa-02] .pending-note")).to_have_text(" (chờ loa xác nhận)")
