"""Officers in a real browser: Playwright driving Debian's headless Chromium (no browser download), at a
desktop size and at a phone's (390x844, touch), in the Vietnamese locale. Screenshots go to
$LOAXA_SCREENSHOTS (docs/ui/ refreshes docs/ui.md's)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect, sync_playwright

DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}
"""The narrowest phone a page must fit without scrolling sideways."""


@contextmanager
def launch(*args: str) -> Iterator[Browser]:
    binary = shutil.which("chromium")
    assert binary, "scripts/test installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=binary, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", *args])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Browser, size: dict[str, int] = DESKTOP) -> Iterator[Page]:
    """A fresh context (no cookies) at this size; a phone-sized one has touch, as a phone does."""
    phone = size["width"] < 600
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport=size,
                                  accept_downloads=True, has_touch=phone, is_mobile=phone)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("LOAXA_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def log_in(page: Page, site: str, username: str, password: str) -> None:
    page.goto(site + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("header nav")).to_contain_text(username)


def go_to(page: Page, section: str) -> None:
    """Open a section by its link in the header, as an officer would; on a phone the header's links are behind
    the bottom bar's menu (Mục khác)."""
    page.wait_for_load_state("load")  # the stylesheet decides whether the header's links show (not before it)
    link = page.locator("header nav").get_by_role("link", name=section, exact=True)
    if not link.is_visible():
        page.click("#menu-button")
    link.click()


def log_out(page: Page) -> None:
    if not page.locator("header form button").is_visible():  # on a phone it is behind the bottom bar's menu
        page.click("#menu-button")
    page.click("header form button")
    expect(page.locator("#username")).to_be_visible()


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
"""WCAG 2.0 to 2.2, A and AA: wcag22aa brings target-size (24x24 CSS px, or that much room around)."""


def axe(page: Page) -> list[dict[str, Any]]:
    """The page's accessibility violations as axe-core (vendored, see its README) finds them: each with its
    ``id``, ``impact`` (minor, moderate, serious, critical), ``help`` and the ``nodes`` that fail."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


TARGETS = """() => {
  const seen = new Set(), small = [];
  const visible = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && e.closest("[hidden]") === null; };
  const name = e => (e.id ? "#" + e.id : e.tagName.toLowerCase()) + " “" +
    (e.innerText || e.value || e.getAttribute("aria-label") || e.name || "").trim().slice(0, 40) + "”";
  const targets = document.querySelectorAll(
    "button, select, summary, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), "
    + "label:has(input[type=checkbox]), label:has(input[type=radio]), "
    + "header nav a, nav.tabbar a, .languages a");
  const loose = [...document.querySelectorAll("input[type=checkbox], input[type=radio]")]
    .filter(e => !e.closest("label"));
  for (const e of [...targets, ...loose]) {
    if (seen.has(e) || !visible(e)) continue;
    seen.add(e);
    const r = e.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) small.push(`${name(e)} ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return small;
}"""
"""What can be tapped and is under 44x44 px (a script for ``page.evaluate``)."""


def problems(page: Page, phone: bool) -> list[str]:
    """What an officer would notice: the page scrolling sideways, serious accessibility faults, small targets."""
    found = []
    # Against the screen's width too: a phone (is_mobile) zooms a page that overflows out until it fits, and then
    # window.innerWidth grows with it.
    width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    width[1] = min(width[1], page.viewport_size["width"] if page.viewport_size else width[1])
    if width[0] > width[1]:
        wide = page.evaluate("""() => [...document.querySelectorAll("body *")].filter(e =>
            e.getBoundingClientRect().right > window.innerWidth + 1).slice(-3).map(e => e.outerHTML.slice(0, 80))""")
        found.append(f"scrolls sideways: {width[0]} px wide in {width[1]} px ({wide})")
    for violation in axe(page):
        if violation["impact"] in ("serious", "critical"):
            nodes = [" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                     for n in violation["nodes"][:4]]
            found.append(f"axe {violation['id']} ({violation['impact']}): {violation['help']} at {nodes}")
    if phone:
        found += [f"too small to tap: {t}" for t in page.evaluate(TARGETS)]
    return found
