"""The live page in a real browser at a phone's size: Chromium's fake microphone plays a known voice recording,
the page encodes it (WebCodecs Opus) and sends it to the worker, a real receiver plays it, and what the
receiver wrote is the voice that was spoken."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.audio import likeness, probe_duration
from tests.support.env import Env, wait_until

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SPEECH = ("Alô alô, bà con thôn Đông chú ý. Đây là chủ tịch xã nói trực tiếp. Chiều nay có mưa to, gió mạnh. "
          "Đề nghị bà con chằng chống nhà cửa, không ra sông suối, không đánh bắt cá. Xin cảm ơn bà con.")


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone hears: a voice recording, 48 kHz mono, as Chromium reads it."""
    folder = tmp_path_factory.mktemp("microphone")
    spoken = folder / "spoken.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "140", "-w", str(folder / "raw.wav"), SPEECH], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(folder / "raw.wav"), "-ar", "48000", "-ac", "1",
                    str(spoken)], check=True)
    return spoken


@pytest.fixture(scope="module")
def chromium_with_microphone(microphone: Path) -> Iterator[Browser]:
    binary = shutil.which("chromium")
    assert binary, "scripts/test installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={microphone}%noloop",
            "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium_with_microphone: Browser) -> Iterator[Page]:
    context = chromium_with_microphone.new_context(locale="vi-VN", viewport={"width": 390, "height": 844},
                                                   is_mobile=True, has_touch=True, device_scale_factor=2)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def test_a_leader_speaks_from_a_phone_and_the_loudspeaker_plays_the_voice(env: Env, site: str, phone: Page,
                                                                          microphone: Path) -> None:
    env.user("chutich", ("approver",))
    env.start_worker()
    agent = env.start_agent("loa-01")
    wait_until(lambda: agent.groups and agent.link.ready.is_set(), 30)
    phone.goto(site + "/login")
    phone.fill("#username", "chutich")
    phone.fill("#password", "chutich password 123")
    phone.click("button[type=submit]")
    phone.click("nav.tabbar >> text=Phát trực tiếp")  # a phone's sections are in the bar at the bottom
    expect(phone.locator("h1")).to_have_text("Phát trực tiếp")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    phone.check("input[name=targets][value=loa-01]")
    phone.fill("#live-title", "Chủ tịch xã nói về mưa bão")
    phone.click("#live-start")
    expect(phone.locator("#live-state")).to_contain_text("ĐANG PHÁT TRỰC TIẾP", timeout=15_000)
    expect(phone.locator("#live-playing")).to_contain_text("1 trên 1 cụm loa đang phát", timeout=15_000)
    assert phone.locator("#live-level").evaluate("m => m.value") > 0.01, "the level meter shows the voice"
    time.sleep(6)
    folder = Path(os.environ.get("LOAXA_SCREENSHOTS") or microphone.parent / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(folder / "live-phone.png"), full_page=True)
    phone.click("#live-stop")
    expect(phone.locator("#live-state")).to_contain_text("Đã dừng phát trực tiếp", timeout=30_000)
    broadcast_id = env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()[0]["id"]
    wait_until(lambda: env.device_states(broadcast_id)["loa-01"] == "played", 30)
    heard = next(p for p in env.played_files("loa-01") if p.name.endswith(f"-b{broadcast_id}-live.wav"))
    similar, _ = likeness(heard, microphone, envelope=True)  # the browser's Opus keeps the voice, not the wave
    assert similar > 0.85, f"the loudspeaker played the voice that was spoken ({similar:.2f})"
    assert 5 < probe_duration(heard) < 10, "as long as the leader spoke"
    live = env.client.get(f"/api/v1/live/{broadcast_id}", headers=env.auth).get_json()
    assert live["speaker"] == "chutich" and live["title"] == "Chủ tịch xã nói về mưa bão"
    assert live["options"] == {"echo_cancellation": False, "noise_suppression": False, "auto_gain": False}
