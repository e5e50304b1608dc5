"""The real CAP documents of tests/data/cap and what a duty officer expects of each (alerts.tsv), and a fleet
that stands where they are for: one cluster at each place alerts.tsv names inside an alert's area, one at each
place outside it. What the commune's admin would have set up for alerts that give their area by geocode or by
name only is written here, judged by reading each document (which of its geocodes covers the inside place)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from broadcaster.db import Area
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device
from tests.support import ROOT
from tests.support.env import Env

DATA = ROOT / "tests" / "data" / "cap"
ROWS: list[dict[str, str]] = list(csv.DictReader((DATA / "alerts.tsv").read_text(encoding="utf-8").splitlines(),
                                                 delimiter="\t"))

GEOCODES: dict[str, list[tuple[str, str]]] = {
    # The alert's geocode(s) covering its inside place, which the admin mapped to our cluster's village there.
    "oasis-cap10-a4-amber.xml": [("fips6", "006037")],  # Los Angeles County
    "oasis-cap11-a4-amber.xml": [("SAME", "006037")],
    "oasis-cap12-a4-amber-en-es.xml": [("SAME", "006037")],
    "ipaws-rmt-quebradillas-pr.xml": [("SAME", "072115")],  # Quebradillas Municipio
    "ipaws-adr-test-message-portland.xml": [("SAME", "053011")],  # Clark County, WA
    "ipaws-cem-michigan-stay-home.xml": [("SAME", "026000")],  # State of Michigan
    "nws-cap11-blizzard-duluth.xml": [("UGC", "MNZ020")],  # Southern Cook (Grand Marais)
    "nws-cap11-flash-flood-watch-great-falls.xml": [("FIPS6", "030049")],  # Lewis and Clark County (Helena)
    "ntwc-tsunami-warning-update-2011.xml": [("UGC", "AKZ185"), ("UGC", "AKZ187")],  # the Aleutians (Adak)
    "bom-severe-thunderstorm-nsw.xml": [("AMOC-AreaCode", "NSW_PW003")],  # Hunter district (Newcastle)
    "dwd-storm-gusts-2015.xml": [("WARNCELLID", "114521000")],  # Erzgebirgskreis (Annaberg-Buchholz)
    "cwb-tsunami-test-2015-bom.xml": [("Taiwan_Geocode_100", "1001501")],  # Hualien City
    "cwb-earthquake-report-2019-bom.xml": [("Taiwan_Geocode_103", "64")],  # Kaohsiung City
    "wra-reservoir-release-update-2019.xml": [("Taiwan_Geocode_103", "6601100")],  # 臺中市大甲區 Dajia
    "swcb-debris-flow-2019.xml": [("Taiwan_Geocode_103", "1000212-001")],  # 宜蘭縣南澳鄉南澳村 Nan'ao
    "dgpa-work-school-closure-2019.xml": [("Taiwan_Geocode_103", "1001411")],  # 臺東縣綠島鄉 Green Island
    "cwa-extremely-rain-2024-1-alert.xml": [("Taiwan_Geocode_103", "1001501")],  # 花蓮縣花蓮市 Hualien City
    "cwa-extremely-rain-2024-2-update.xml": [("Taiwan_Geocode_103", "1001501")],
    "cwa-extremely-rain-2024-3-update.xml": [("Taiwan_Geocode_103", "1001501")],
    "cwa-extremely-rain-2024-4-cancel.xml": [("Taiwan_Geocode_103", "63")],  # 臺北市 Taipei
}
NAMED_AREAS = {
    # areaDesc-only alerts: the area the admin made (named as the issuer names it) around the inside place.
    "U.S. nationwide and interests worldwide": "Washington, D.C.",
}


@dataclass(frozen=True)
class Place:
    label: str
    lat: float
    lon: float


def place(text: str) -> Place | None:
    """``Name@lat,lon`` of alerts.tsv."""
    if not text:
        return None
    label, _, position = text.rpartition("@")
    lat, _, lon = position.partition(",")
    return Place(label, float(lat), float(lon))


def sent_of(row: dict[str, str]) -> datetime:
    return datetime.fromisoformat(row["sent"].replace("Z", "+00:00"))


def payload(row: dict[str, str]) -> bytes:
    return (DATA / row["file"]).read_bytes()


@dataclass
class Fleet:
    devices: dict[str, str]
    """Place label -> device id."""
    villages: dict[str, int]
    """Place label -> its village's area id."""
    names: set[str]
    """Our area names (the words of ours a built announcement may read besides Vietnamese)."""


def village_name(label: str, labels: set[str]) -> str:
    """A village named after its place: the name before the first comma ("Gävle" of "Gävle, Sweden"), or the
    whole label when two places would share that name."""
    short = label.split(",")[0].strip()
    clash = [other for other in labels if other != label and other.split(",")[0].strip() == short]
    return label if clash or not short else short


def build_fleet(env: Env) -> Fleet:
    """Every inside and outside place of alerts.tsv as a village of the test commune (air time 00:00-24:00)
    with one cluster at the place, and the admin's geocode mapping above."""
    places = {p.label: p for row in ROWS for p in (place(row["inside"]), place(row["outside"])) if p}
    devices, villages, names = {}, {}, set()
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one()
        parents = {}
        for name, label in NAMED_AREAS.items():
            parent = ensure_area(session, name, "commune")
            ensure_airtime(session, parent, "00:00", "24:00")
            parents[label] = parent
            names.add(name)
        for n, (label, spot) in enumerate(sorted(places.items()), 1):
            name = village_name(label, set(places))
            village = ensure_area(session, name, "village", parents.get(label, commune))
            device = ensure_device(session, f"cap-{n:03d}", f"Cụm loa {name}", village)
            device.lat, device.lon = spot.lat, spot.lon
            devices[label], villages[label] = device.id, village.id
            names.add(name)
    for row in ROWS:
        inside = place(row["inside"])
        for value_name, value in GEOCODES.get(row["file"], []):
            assert inside is not None
            response = env.client.post("/api/v1/cap/geocodes", headers=env.auth, json={
                "value_name": value_name, "value": value, "area_id": villages[inside.label]})
            assert response.status_code in (201, 409), response.get_json()
    return Fleet(devices, villages, names)


VIETNAMESE_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x)?"
    r"[aăâeêioôơuưyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]{1,3}"
    r"(ng|nh|ch|c|m|n|p|t)?$")


def foreign_words(text: str, ours: set[str]) -> list[str]:
    """The words of ``text`` that are not Vietnamese syllables, once our own area names are taken out (in the
    test fleet they are foreign place names; in a commune they are Vietnamese)."""
    for name in sorted(ours, key=len, reverse=True):
        text = text.replace(name, " ")
    return [w for w in re.findall(r"[^\W\d_]+", text) if not VIETNAMESE_SYLLABLE.match(w.casefold())]


def later(row: dict[str, str], minutes: int = 1) -> datetime:
    return sent_of(row) + timedelta(minutes=minutes)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def path(name: str) -> Path:
    return DATA / name


def info_xml(language: str = "vi-VN", event: str = "Bão", urgency: str = "Immediate", severity: str = "Extreme",
             certainty: str = "Observed", headline: str = "Cảnh báo bão số 9",
             description: str = "Bão số 9 đổ bộ trong 6 giờ tới.", instruction: str = "",
             areas: str = "<area><areaDesc>Thôn 1</areaDesc></area>", extra: str = "") -> str:
    """An ``<info>`` written for a test (the real documents have no Vietnamese one: README.md, "Not found")."""
    return (f"<info><language>{language}</language><category>Met</category><event>{event}</event>"
            f"<urgency>{urgency}</urgency><severity>{severity}</severity><certainty>{certainty}</certainty>{extra}"
            f"<headline>{headline}</headline><description>{description}</description>"
            + (f"<instruction>{instruction}</instruction>" if instruction else "") + f"{areas}</info>")


def alert_xml(identifier: str, *infos: str, status: str = "Actual", kind: str = "Alert", scope: str = "Public",
              references: str = "", sender: str = "kttv@nchmf.gov.vn",
              sent: str = "2026-11-22T06:00:00+07:00") -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{identifier}</identifier><sender>{sender}</sender><sent>{sent}</sent>"
            f"<status>{status}</status><msgType>{kind}</msgType><scope>{scope}</scope>{refs}"
            + "".join(infos or (info_xml(),)) + "</alert>").encode()
