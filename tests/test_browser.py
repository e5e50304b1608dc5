"""An officer in a real browser (headless Chromium): log in, type an announcement, watch it play."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from waitress.server import create_server

from broadcaster.broker import free_port
from tests.conftest import Env


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "scripts/test installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1200,1400",
                 "--lang=vi"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    yield chrome
    chrome.quit()


@pytest.fixture
def site(env: Env) -> Iterator[str]:
    port = free_port()
    server = create_server(env.app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=5)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_officer_sends_an_announcement_and_sees_it_played(env: Env, site: str, browser: webdriver.Chrome,
                                                          tmp_path: Path) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    browser.get(site + "/")
    assert "Đăng nhập" in browser.title
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys("correct horse battery")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "devices"))
    assert "loa-01" in browser.find_element(By.ID, "devices").text

    browser.find_element(By.ID, "title").send_keys("Lịch tiêm phòng")
    browser.find_element(By.ID, "text").send_keys("Trạm y tế xã tiêm phòng cho trẻ lúc 7h30 sáng mai.")
    browser.find_element(By.CSS_SELECTOR, "input[name=targets][value=loa-01]").click()
    browser.find_element(By.CSS_SELECTOR, "form[action='/send'] button[type=submit]").click()

    # The broadcast page refreshes itself until the speaker reports it has played.
    def played(b: webdriver.Chrome) -> bool:
        rows = b.find_elements(By.CSS_SELECTOR, "#deliveries tr[data-device=loa-01]")
        return bool(rows) and "đã phát" in rows[0].text

    # The page may reload between finding a row and reading it: try again then.
    WebDriverWait(browser, 60, poll_frequency=0.5, ignored_exceptions=(StaleElementReferenceException,)).until(played)
    row = browser.find_element(By.CSS_SELECTOR, "#deliveries tr[data-device=loa-01]").text
    assert row.count("/20") == 2, "the real start and end times from the device are shown"
    assert len(env.played_files("loa-01")) == 1


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_officer_listens_before_sending(env: Env, site: str, browser: webdriver.Chrome) -> None:
    from broadcaster.listening import Listener

    browser.get(site + "/")
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys("correct horse battery")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "preview-button"))
    browser.find_element(By.ID, "text").send_keys("UBND xã họp dân lúc 19h30.")
    browser.find_element(By.ID, "preview-button").click()

    WebDriverWait(browser, 60, poll_frequency=0.3).until(
        lambda b: (b.find_element(By.ID, "preview-audio").get_attribute("src") or "").count("/audio/") == 1)
    reading = browser.find_element(By.ID, "preview-reading").text
    assert "ủy ban nhân dân xã họp dân lúc mười chín giờ ba mươi phút" in reading
    # The player can load the audio: the browser reads its duration from the file.
    WebDriverWait(browser, 20).until(
        lambda b: (b.execute_script("return document.getElementById('preview-audio').duration") or 0) > 1)
    listening = browser.find_element(By.ID, "preview-listening").text
    if Listener.problem() is None:
        assert re.match(r"Máy nghe hiểu \d+% số từ", listening)
    else:
        assert "Chưa kiểm tra nghe" in listening
    assert browser.find_element(By.ID, "text").get_attribute("value") == "UBND xã họp dân lúc 19h30."
