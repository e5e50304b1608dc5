"""The report page's pictures say what the data says: planned against played per commune and per local day, minutes
on air per village, read back from the SVG the page sends (bar lengths and the figures beside them); an empty period
says so in words; area names are escaped; many communes are cut to the worst with the rest added up; a long period
is drawn per month; and in a browser the pictures fit a 360 px phone and are printed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from broadcaster.db import Broadcast, Bulletin, Delivery, Device, OccurrencePlay, Recurrence
from broadcaster.ops.bootstrap import ensure_area, ensure_device
from broadcaster.web import charts
from tests.support.browser import DESKTOP, NARROW, log_in, open_page, problems, screenshot
from tests.support.env import Env
from tests.support.web import login

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
COMMUNE = 'Xã <Bến> & "Cồn" \'Tây\''
VILLAGE = "Thôn <b>Bãi</b> & \"Giữa\""
PERIOD = "from=01/03/2026&to=03/03/2026"
SVG = "{http://www.w3.org/2000/svg}"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=ZONE)


def aired(session: Any, at: datetime, plays: dict[str, tuple[str, float | None]]) -> Broadcast:
    """A broadcast planned ``at`` and what each cluster reported: its state and the minutes it played."""
    bulletin = Bulletin(title="Lịch tiêm phòng", text="Tiêm phòng cho trẻ.", state="approved", created_by=1)
    session.add(bulletin)
    session.flush()
    broadcast = Broadcast(bulletin_id=bulletin.id, priority="normal", play_at=at, state="sent", created_by=1)
    session.add(broadcast)
    session.flush()
    for device, (state, minutes) in plays.items():
        start = at + timedelta(seconds=20)
        session.add(Delivery(broadcast_id=broadcast.id, device_id=device, state=state,
                             started_at=start if minutes else None,
                             finished_at=start + timedelta(minutes=minutes) if minutes else None))
    return broadcast


def seed(env: Env) -> None:
    """Three days of March 2026 in two communes: Xã Thử (Thôn 1-3) and one with a hostile name, whose village
    (also hostile) holds loa-x. Expected: per commune Xã Thử 4 of 6 played, the other 1 of 1; per day 01/03 1 of 1,
    02/03 3 of 4, 03/03 1 of 2 (00:10 local is still 02/03 in UTC); minutes Thôn 1 3.5, Thôn 2 3, Thôn 3 1, the
    hostile village 4."""
    with env.db.session() as session:
        village = ensure_area(session, VILLAGE, "village", ensure_area(session, COMMUNE, "commune"))
        device = session.get(Device, "loa-x")
        assert device is not None
        device.village_id = village.id
        aired(session, local(2, 7), {"loa-01": ("played", 2), "loa-02": ("played", 3), "loa-03": ("missed", None),
                                     "loa-x": ("played", 4)})
        aired(session, local(3, 0, 10), {"loa-01": ("played", 1.5), "loa-02": ("failed", None)})
        weekly = aired(session, local(1, 6), {})
        session.add(Recurrence(broadcast_id=weekly.id, rule='{"days": [0], "times": ["06:00"]}'))
        session.add(OccurrencePlay(broadcast_id=weekly.id, device_id="loa-03", occurrence=local(1, 6),
                                   state="played", started_at=local(1, 6), finished_at=local(1, 6, 1)))


def pictures(html: str) -> dict[str, ET.Element]:
    """Each chart on the page by id, parsed as XML (so a name that was not escaped fails here)."""
    return {(svg := ET.fromstring(m.group(0))).get("id", ""): svg
            for m in re.finditer(r'<svg class="chart".*?</svg>', html, re.S)}


def bars(svg: ET.Element) -> dict[str, dict[str, Any]]:
    """Each bar by its label: its rectangles' lengths as a share of the longest in the chart, and its figure."""
    rows = {g.get("data-label", ""): g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"}
    longest = max(float(r.get("width", 0)) for g in rows.values() for r in g.iter(f"{SVG}rect"))
    found = {}
    for label, row in rows.items():
        lengths = {r.get("class", ""): float(r.get("width", 0)) / longest for r in row.iter(f"{SVG}rect")}
        figure = next(t.text for t in row.iter(f"{SVG}text") if t.get("class") == "figure")
        found[label] = {**lengths, "figure": figure, "title": row.findtext(f"{SVG}title")}
    return found


def test_the_pictures_show_planned_against_played_and_minutes(env: Env) -> None:
    seed(env)
    login(env)
    html = env.client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    found = pictures(html)
    assert set(found) == {"chart-communes", "chart-days", "chart-villages"}
    for svg in found.values():
        assert svg.get("role") == "img" and svg.get("width") == "100%" and svg.get("viewBox", "").startswith("0 0 360 ")
        assert svg.findtext(f"{SVG}title") and svg.findtext(f"{SVG}desc")

    communes = bars(found["chart-communes"])
    assert list(communes) == ["Xã Thử", COMMUNE], "the commune that missed most comes first"
    assert communes["Xã Thử"]["planned"] == pytest.approx(1)
    assert communes["Xã Thử"]["played"] == pytest.approx(4 / 6, abs=0.01)
    assert communes[COMMUNE]["planned"] == pytest.approx(1 / 6, abs=0.01)
    assert communes[COMMUNE]["played"] == pytest.approx(1 / 6, abs=0.01)
    assert communes["Xã Thử"]["figure"] == "4 / 6" and communes[COMMUNE]["figure"] == "1 / 1"
    assert communes["Xã Thử"]["title"] == "Xã Thử: dự kiến 6, đã phát 4"

    days = bars(found["chart-days"])
    assert list(days) == ["01/03", "02/03", "03/03"], "every local day of the period, in order"
    assert {d: b["figure"] for d, b in days.items()} == {"01/03": "1 / 1", "02/03": "3 / 4", "03/03": "1 / 2"}
    assert days["02/03"]["planned"] == pytest.approx(1) and days["02/03"]["played"] == pytest.approx(3 / 4, abs=0.01)
    assert days["03/03"]["planned"] == pytest.approx(2 / 4, abs=0.01)
    assert days["03/03"]["played"] == pytest.approx(1 / 4, abs=0.01)
    assert days["01/03"]["played"] == pytest.approx(1 / 4, abs=0.01)

    villages = bars(found["chart-villages"])
    assert list(villages) == [VILLAGE, "Thôn 1", "Thôn 2", "Thôn 3"], "most minutes first"
    assert {v: b["figure"] for v, b in villages.items()} == {VILLAGE: "4 phút", "Thôn 1": "3,5 phút",
                                                             "Thôn 2": "3 phút", "Thôn 3": "1 phút"}
    assert villages["Thôn 1"]["value"] == pytest.approx(3.5 / 4, abs=0.01)
    assert villages["Thôn 3"]["value"] == pytest.approx(1 / 4, abs=0.01)
    assert "Thôn 1: 3,5 phút" in (found["chart-villages"].findtext(f"{SVG}desc") or "")

    # The figures as a table beside each picture too, in the page's language.
    assert "Xem số liệu" in html and "3 / 4" in html
    env.client.get("/lang/en")  # an English reader: the same pictures in English, with a decimal point
    english = pictures(env.client.get(f"/reports?{PERIOD}").get_data(as_text=True))
    assert english["chart-days"].findtext(f"{SVG}title") == "Planned and played by day"
    assert bars(english["chart-villages"])["Thôn 1"]["figure"] == "3.5 min"
    assert bars(english["chart-communes"])["Xã Thử"]["title"] == "Xã Thử: 6 planned, 4 played"


def test_villages_of_one_name_in_two_communes_are_two(env: Env) -> None:
    """Every commune has its "Thôn 1": another commune's is counted for that commune and named with it."""
    seed(env)
    with env.db.session() as session:
        other = ensure_area(session, "Xã Bên", "commune")
        ensure_device(session, "loa-b1", "Cụm loa Bên", ensure_area(session, "Thôn 1", "village", other))
        aired(session, local(2, 8), {"loa-b1": ("played", 5)})
    login(env)
    html = env.client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    found = pictures(html)
    communes = bars(found["chart-communes"])
    assert communes["Xã Bên"]["figure"] == "1 / 1" and communes["Xã Thử"]["figure"] == "4 / 6"
    villages = bars(found["chart-villages"])
    assert villages["Thôn 1 (Xã Bên)"]["figure"] == "5 phút"
    assert villages["Thôn 1 (Xã Thử)"]["figure"] == "3,5 phút"
    assert html.count("<td>Thôn 1 (Xã Bên)</td>") == 1, "the table by village names it so too"


def test_area_names_are_escaped_in_the_pictures(env: Env) -> None:
    seed(env)
    login(env)
    html = env.client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    svg_text = "".join(re.findall(r'<svg class="chart".*?</svg>', html, re.S))
    assert "<b>" not in svg_text and "<Bến>" not in svg_text and '"Cồn"' not in svg_text
    found = pictures(html)  # parses: nothing in a name broke the XML
    assert COMMUNE in bars(found["chart-communes"]) and VILLAGE in bars(found["chart-villages"])
    assert COMMUNE in (found["chart-communes"].findtext(f"{SVG}desc") or "")


def test_an_empty_period_says_so(env: Env) -> None:
    seed(env)
    login(env)
    html = env.client.get("/reports?from=01/01/2026&to=31/01/2026").get_data(as_text=True)
    assert "Không có lượt phát nào được dự kiến trong thời gian này." in html
    assert not pictures(html)


def test_many_communes_and_a_long_period(env: Env) -> None:
    """A province: the 12 communes that missed most are drawn, the rest added up in a sentence; a year is drawn
    a month a bar."""
    communes = [{"area_id": n, "name": f"Xã {n:02}", "planned": 100, "played": 100 - n, "not_played": n,
                 "minutes": 0.0} for n in range(1, 41)]
    with env.app.test_request_context():
        chart = charts.by_commune(communes)
        assert chart.svg is not None
        drawn = bars(ET.fromstring(str(chart.svg)))
        assert list(drawn) == [f"Xã {n:02}" for n in range(40, 28, -1)]
        assert chart.note == "Và 28 xã khác: dự kiến 2800, đã phát 2394."
        assert len(chart.table) == 40, "the table lists them all"

        year = (datetime(2026, 1, 1, tzinfo=ZONE), datetime(2027, 1, 1, tzinfo=ZONE))
        days = {datetime(2026, 3, d).date(): {"planned": 2, "played": 1} for d in range(1, 32)}
        months = bars(ET.fromstring(str(charts.by_day(days, year).svg)))
        assert len(months) == 12 and months["03/2026"]["figure"] == "31 / 62" and months["04/2026"]["figure"] == "0 / 0"


def test_the_pictures_fit_a_phone_and_print(env: Env, site: str, chromium: Browser, tmp_path: Path) -> None:
    seed(env)
    with open_page(chromium, NARROW) as page:
        log_in(page, site, "admin", "correct horse battery")
        page.goto(f"{site}/reports?{PERIOD}")
        for chart in ("#chart-communes", "#chart-days", "#chart-villages"):
            expect(page.locator(chart)).to_be_visible()
            box = page.locator(chart).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
        assert not problems(page, phone=True)
        screenshot(page, "phone-report-charts", tmp_path)
        page.emulate_media(media="print")
        expect(page.locator("#chart-days")).to_be_visible()
        expect(page.locator("form.no-print")).to_be_hidden()
    with open_page(chromium, DESKTOP) as page:
        log_in(page, site, "admin", "correct horse battery")
        page.goto(f"{site}/reports?{PERIOD}")
        assert not problems(page, phone=False)
        screenshot(page, "report-charts", tmp_path)
