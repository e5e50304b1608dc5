"""Vietnamese by default, English on request: every text of the pages has its English, and the catalogue
that ships is the one built from it."""

from __future__ import annotations

import gettext
import re
from io import BytesIO

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo

from broadcaster.web.translations.english import EN
from tests.support import ROOT
from tests.support.env import Env

CATALOG = ROOT / "broadcaster" / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĐ]", re.I)


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_pages_are_vietnamese_by_default_whatever_the_browser_says(env: Env) -> None:
    html = env.client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Đăng nhập" in html and 'lang="vi"' in html


def test_an_officer_can_switch_to_english_and_it_lasts_through_login(env: Env) -> None:
    env.client.get("/lang/en")
    page = env.client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page and "Tiếng Việt" in page
    wrong = env.client.post("/login", data={"username": "admin", "password": "x", "csrf_token": csrf(page)})
    assert "Wrong user name or password." in wrong.get_data(as_text=True)
    env.client.post("/login", data={"username": "admin", "password": "correct horse battery",
                                    "csrf_token": csrf(page)})
    home = env.client.get("/").get_data(as_text=True)
    assert "Dashboard" in home and "Listen first" in home and "offline" in home
    assert '"live": "live"' in env.client.get("/dashboard").get_data(as_text=True), "the scripts' text too"
    env.client.get("/lang/vi")
    assert "Giám sát" in env.client.get("/").get_data(as_text=True)
    assert env.client.get("/lang/xx").status_code == 302, "an unknown language changes nothing"


def test_every_text_of_the_pages_has_its_english_in_the_shipped_catalogue() -> None:
    method_map = [("broadcaster/web/**.py", "python"), ("broadcaster/web/templates/**.html", "jinja2")]
    found = {message for _, _, message, _, *_ in extract_from_dir(
        str(ROOT), method_map, keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None})}
    texts = {m if isinstance(m, str) else m[0] for m in found}
    missing = sorted(t for t in texts if t not in EN)
    assert not missing, f"add English for these to broadcaster/web/translations/english.py: {missing}"
    with CATALOG.open("rb") as fh:
        shipped = read_mo(fh)
    stale = sorted(t for t in texts if shipped.get(t) is None or shipped.get(t).string != EN[t])
    assert not stale, "rebuild: python -m broadcaster.web.translations.english (after pybabel extract)"
    translations = gettext.GNUTranslations(BytesIO(CATALOG.read_bytes()))
    assert translations.gettext("Đăng nhập") == "Log in"
    assert not [t for t in EN.values() if VIETNAMESE.search(t) and "Ê Đê" not in t], "English has no Vietnamese"
