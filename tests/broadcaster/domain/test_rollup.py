"""The dashboard at province scale: the fleet rolled up by area from the user's highest area down, a click
drilling down, filters, a search and pages, the same numbers from the API, and a live stream that carries only
what the page shows."""

from __future__ import annotations

import json
import re
import threading

import pytest

from broadcaster.db import Device
from broadcaster.domain import dashboard, rollup
from tests.support.env import Env
from tests.support.province import province, troubles
from tests.support.web import login

__all__ = ["province"]  # a fixture

def areas_of(env: Env, auth: dict[str, str], area: int | None = None) -> dict[str, object]:
    url = "/api/v1/dashboard/areas" + (f"?area={area}" if area else "")
    response = env.client.get(url, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def by_name(rolled: dict[str, object]) -> dict[str, dict[str, object]]:
    return {row["name"]: row for row in rolled["children"]}  # type: ignore[attr-defined,index]


def test_a_province_operator_sees_districts_then_drills_down_to_clusters(env: Env,
                                                                         province: dict[str, int]) -> None:
    troubles(env)
    operator = env.user("tinh", ("operator",), areas=("Tỉnh Mẫu",))
    top = areas_of(env, operator)
    assert [a["name"] for a in top["path"]] == ["Tỉnh Mẫu"]  # type: ignore[attr-defined]
    rows = by_name(top)
    assert list(rows) == ["Huyện Bắc", "Huyện Nam"]
    north = rows["Huyện Bắc"]
    # Six clusters: one silent, one playing, one switched off, one with an alarm on a weak link, two fine.
    assert (north["clusters"], north["offline"], north["playing"], north["off"], north["online"]) == (6, 1, 1, 1, 3)
    assert (north["alarms"], north["low_signal"], north["failed_today"]) == (1, 1, 0)
    assert north["emergency_reach"] == {"played": 4, "sent": 6}
    south = rows["Huyện Nam"]
    assert (south["clusters"], south["online"], south["failed_today"], south["emergency_reach"]) == (3, 3, 1, None)
    assert top["totals"]["clusters"] == 9 and top["totals"]["offline"] == 1  # type: ignore[index]

    communes = by_name(areas_of(env, operator, province["Huyện Bắc"]))
    assert list(communes) == ["Xã Đông", "Xã Tây"] and communes["Xã Đông"]["clusters"] == 5
    villages = areas_of(env, operator, province["Xã Đông"])
    assert [a["name"] for a in villages["path"]] == ["Tỉnh Mẫu", "Huyện Bắc", "Xã Đông"]  # type: ignore[attr-defined]
    assert by_name(villages)["Thôn Đông 1"]["offline"] == 1
    bottom = areas_of(env, operator, province["Thôn Đông 1"])
    assert bottom["children"] == [] and bottom["totals"]["clusters"] == 3  # type: ignore[index]
    listed = env.client.get(f"/api/v1/dashboard?area={province['Thôn Đông 1']}", headers=operator)
    assert [r["id"] for r in listed.get_json()] == ["dong1-1", "dong1-2", "dong1-3"]


def test_a_commune_officer_opens_at_the_commune_and_sees_nothing_above_or_beside_it(
        env: Env, province: dict[str, int]) -> None:
    officer = env.user("xadong", ("operator",), areas=("Xã Đông",))
    opened = areas_of(env, officer)
    assert opened["area"]["name"] == "Xã Đông"  # type: ignore[index]
    assert list(by_name(opened)) == ["Thôn Đông 1", "Thôn Đông 2"]
    for elsewhere in ("Huyện Nam", "Tỉnh Mẫu", "Thôn Hòa 1"):
        answer = env.client.get(f"/api/v1/dashboard/areas?area={province[elsewhere]}", headers=officer)
        assert answer.status_code == 404, elsewhere
    ids = [r["id"] for r in env.client.get("/api/v1/dashboard", headers=officer).get_json()]
    assert ids == ["dong1-1", "dong1-2", "dong1-3", "dong2-1", "dong2-2"]


def test_filters_search_and_pages_over_the_whole_area(env: Env, province: dict[str, int]) -> None:
    troubles(env)
    operator = env.user("tinh", ("operator",), areas=("Tỉnh Mẫu",))

    def ids(query: str) -> tuple[list[str], str]:
        response = env.client.get(f"/api/v1/dashboard?{query}", headers=operator)
        assert response.status_code == 200, response.get_json()
        return [r["id"] for r in response.get_json()], response.headers["X-Total-Count"]

    assert ids("state=offline") == (["dong1-1"], "1")
    assert ids("state=off") == (["dong2-1"], "1")
    assert ids("state=playing") == (["dong1-2"], "1")
    assert ids("state=alarms") == (["tay1-1"], "1")
    assert ids("state=low_signal") == (["tay1-1"], "1")
    assert ids("state=failed") == (["hoa1-1"], "1")
    assert ids(f"state=failed&area={province['Huyện Bắc']}") == ([], "0")
    assert ids("q=hòa") == (["hoa1-1", "hoa1-2", "hoa2-1"], "3"), "the name's words, accents and all"
    assert ids("q=dong 2") == (["dong2-1", "dong2-2"], "2"), "typed without accents on a phone: Thôn Đông 2"
    assert ids("q=DONG2") == (["dong2-1", "dong2-2"], "2"), "the id, in any case"
    assert ids("per_page=4&page=3") == (["tay1-1"], "9")
    refused = env.client.get("/api/v1/dashboard?state=sleeping", headers=operator)
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "state"


def test_the_page_rolls_up_drills_down_filters_and_pages(env: Env, province: dict[str, int]) -> None:
    troubles(env)
    env.user("tinh", ("operator",), areas=("Tỉnh Mẫu",))
    assert login(env, "tinh password 123", "tinh") == "/"
    page = env.client.get("/dashboard").get_data(as_text=True)
    assert "Tỉnh Mẫu" in page and 'id="areas"' in page
    link = re.search(r'href="(/dashboard\?area=\d+)">Huyện Bắc</a>', page)
    assert link, "each district is a link down"
    district = env.client.get(link.group(1)).get_data(as_text=True)
    assert re.search(r'href="/dashboard\?area=\d+">Tỉnh Mẫu</a>\s*›\s*<strong aria-current="page">Huyện Bắc',
                     district), "the way back up"
    assert 'data-device="hoa1-1"' not in district and 'data-device="dong1-1"' in district
    silent = env.client.get(f"/dashboard?area={province['Huyện Bắc']}&state=offline").get_data(as_text=True)
    assert re.findall(r'data-device="([^"]+)"', silent) == ["dong1-1"]
    nothing = env.client.get("/dashboard?q=không-có-cụm-này").get_data(as_text=True)
    assert "Không có cụm loa nào khớp." in nothing
    first = env.client.get("/dashboard?per_page=4").get_data(as_text=True)
    assert len(re.findall(r'<tr data-device=', first)) == 4 and "Trang 1/3" in first
    assert re.search(r'rel="next" href="/dashboard\?[^"]*page=2', first)


def test_a_volume_set_on_page_two_comes_back_to_page_two(env: Env, province: dict[str, int]) -> None:
    env.user("tinh", ("operator",), areas=("Tỉnh Mẫu",))
    assert login(env, "tinh password 123", "tinh") == "/"
    page = env.client.get("/dashboard?per_page=4&page=2").get_data(as_text=True)
    back = re.search(r'name="back" value="([^"]+)"', page)
    assert back and "page=2" in back.group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = env.client.post("/devices/dong2-2/volume", data={"volume": "70", "csrf_token": token.group(1),
                                                              "back": back.group(1)})
    assert answer.status_code == 302 and "page=2" in answer.headers["Location"]
    elsewhere = env.client.post("/devices/dong2-2/volume", data={"volume": "60", "csrf_token": token.group(1),
                                                                 "back": "//evil.example/dashboard"})
    assert elsewhere.headers["Location"] == "/dashboard", "never back to another site"


def test_the_stream_carries_only_the_clusters_on_screen(env: Env, province: dict[str, int],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    troubles(env)
    monkeypatch.setattr(dashboard, "TICK_S", 0.1)
    monkeypatch.setattr(dashboard, "STREAM_S", 0.5)
    collected: list[str] = []

    def listen() -> None:
        response = env.client.get(f"/api/v1/events?area={province['Xã Hòa']}", headers=env.auth, buffered=False)
        for chunk in response.response:  # type: ignore[attr-defined]
            collected.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        response.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    listener.join(timeout=20)
    text = "".join(collected)
    devices = set(re.findall(r'event: device\ndata: \{"id": "([^"]+)"', text))
    assert devices == {"hoa1-1", "hoa1-2", "hoa2-1"}
    areas = [json.loads(m) for m in re.findall(r"event: area\ndata: (.*)", text)]
    assert {a["name"]: a["failed_today"] for a in areas} == {"Thôn Hòa 1": 1, "Thôn Hòa 2": 0}


def test_counts_follow_a_change_within_the_summary_age(env: Env, province: dict[str, int],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Sixteen operators share one summary for SUMMARY_S; a change shows once it is older than that."""
    monkeypatch.setattr(rollup, "SUMMARY_S", 3600.0)
    before = by_name(areas_of(env, env.auth, province["Xã Hòa"]))["Thôn Hòa 2"]["offline"]
    with env.db.session() as session:
        session.get(Device, "hoa2-1").online = False  # type: ignore[union-attr]
    assert by_name(areas_of(env, env.auth, province["Xã Hòa"]))["Thôn Hòa 2"]["offline"] == before == 0
    monkeypatch.setattr(rollup, "SUMMARY_S", 0.0)
    assert by_name(areas_of(env, env.auth, province["Xã Hòa"]))["Thôn Hòa 2"]["offline"] == 1


def test_a_province_of_hundreds_of_clusters_is_chosen_by_area_not_by_checkbox(env: Env) -> None:
    from broadcaster.ops.province import seed_province

    with env.db.session() as session:
        ids = seed_province(session, 120)
    assert len(ids) == 120 and len(set(ids)) == 120
    env.user("tinh", ("editor",), areas=("Tỉnh Mẫu",))
    assert login(env, "tinh password 123", "tinh") == "/"
    front = env.client.get("/").get_data(as_text=True)
    assert "hãy chọn theo địa bàn hoặc nhóm" in front
    assert 'value="loa-00001"' not in front, "no checkbox per cluster"
    assert re.search(r'name="targets" value="area:\d+"[^>]*> Xã 1\.2<', front), "the communes are offered"
    assert re.search(r'href="/dashboard">Địa bàn có hơn 100 cụm loa', front)
    with env.db.session() as session:  # the commune's clusters are placed around it, for the map
        rows = session.query(Device.lat, Device.lon).filter(Device.id.in_(ids)).all()
    assert all(15 < lat < 17 and 107 < lon < 110 for lat, lon in rows)


def test_a_page_past_the_end_is_empty_not_an_error(env: Env, province: dict[str, int]) -> None:
    for page in ("99999999999999999999", "-3", "abc", "100001"):
        answer = env.client.get(f"/api/v1/dashboard?page={page}", headers=env.auth)
        assert answer.status_code == 200, page
    assert env.client.get("/api/v1/dashboard?page=100001", headers=env.auth).get_json() == []
