"""Browser fixtures for the page tests: one Chromium per test module, a desktop page and a phone page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import DESKTOP, PHONE, launch, open_page


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch() as browser:
        yield browser


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    with open_page(chromium, DESKTOP) as desktop:
        yield desktop


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    with open_page(chromium, PHONE) as handset:
        yield handset
