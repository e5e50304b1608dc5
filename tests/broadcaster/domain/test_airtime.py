"""Air-time rules: allowed hours (default 05:30-21:30, local), minutes per broadcast, broadcasts per day;
refused with every breach named, overridden only by an emergency; overlaps shown before saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from broadcaster.ops.bootstrap import ensure_area, ensure_device
from tests.support.env import Env

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def night(env: Env) -> dict[str, int]:
    """A commune without a rule of its own (so the default hours hold), two villages, a device in each."""
    with env.db.session() as session:
        commune = ensure_area(session, "Xã Đêm", "commune")
        east = ensure_area(session, "Thôn Đông", "village", commune)
        west = ensure_area(session, "Thôn Tây", "village", commune)
        ensure_device(session, "loa-dong", "Cụm loa Thôn Đông", east)
        ensure_device(session, "loa-tay", "Cụm loa Thôn Tây", west)
        return {"commune": commune.id, "east": east.id, "west": west.id}


def tomorrow_at(hour: int, minute: int = 0) -> str:
    day = datetime.now(VN).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN).isoformat()


def approved(env: Env, text: str = "Thông báo họp dân.") -> int:
    bid = env.client.post("/api/v1/bulletins", json={"title": "Họp", "text": text}, headers=env.auth).get_json()["id"]
    env.client.post(f"/api/v1/bulletins/{bid}/approve", headers=env.auth)
    return int(bid)


def send(env: Env, bulletin: int, targets: list[str], **fields: Any) -> tuple[int, Any]:
    response = env.client.post("/api/v1/broadcasts", headers=env.auth,
                               json={"bulletin_id": bulletin, "targets": targets, **fields})
    return response.status_code, response.get_json()


def test_default_hours_keep_the_village_asleep_unless_it_is_an_emergency(env: Env, night: dict[str, int]) -> None:
    bulletin = approved(env)
    status, body = send(env, bulletin, ["loa-dong"], play_at=tomorrow_at(22, 0))
    assert status == 422 and body["error"]["code"] == "outside_airtime"
    assert "05:30-21:30" in body["error"]["message"] and "loa-dong" in body["error"]["message"]
    [breach] = body["error"]["details"]
    assert breach["rule"] == "hours" and breach["device_id"] == "loa-dong" and breach["value"].startswith("22:00")
    assert send(env, bulletin, ["loa-dong"], play_at=tomorrow_at(5, 0))[0] == 422, "before 05:30 too"
    minute_long = approved(env, "Bà con chú ý lịch tiêm phòng. " * 30)  # 180 words: over a minute
    assert send(env, minute_long, ["loa-dong"], play_at=tomorrow_at(21, 29))[0] == 422, "it would end after 21:30"
    assert send(env, minute_long, ["loa-dong"], play_at=tomorrow_at(21, 27))[0] == 201
    assert send(env, bulletin, ["loa-dong"], play_at=tomorrow_at(8, 0))[0] == 201
    assert send(env, bulletin, ["loa-dong"], play_at=tomorrow_at(3, 0), priority="emergency")[0] == 201, \
        "a storm at 3 a.m. is announced at 3 a.m."
    status, body = send(env, bulletin, ["loa-dong"],
                        repeat={"weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["04:45", "17:00"]})
    assert status == 422 and body["error"]["details"][0]["value"].startswith("04:45")


def test_the_nearest_rule_up_the_tree_governs(env: Env, night: dict[str, int]) -> None:
    put = env.client.put(f"/api/v1/areas/{night['commune']}/airtime", headers=env.auth,
                         json={"allowed_from": "06:00", "allowed_to": "20:00"})
    assert put.status_code == 200 and put.get_json()["airtime"]["set_on_area"] == night["commune"]
    env.client.put(f"/api/v1/areas/{night['east']}/airtime", headers=env.auth,
                   json={"allowed_from": "07:00", "allowed_to": "11:00"})
    areas = {a["id"]: a["airtime"] for a in env.client.get("/api/v1/areas", headers=env.auth).get_json()}
    assert areas[night["west"]]["allowed_to"] == "20:00" and areas[night["west"]]["set_on_area"] == night["commune"]
    assert areas[night["east"]]["allowed_to"] == "11:00"
    bulletin = approved(env)
    status, body = send(env, bulletin, ["loa-dong", "loa-tay"], play_at=tomorrow_at(12, 0))
    assert status == 422 and [b["device_id"] for b in body["error"]["details"]] == ["loa-dong"]
    assert send(env, bulletin, ["loa-tay"], play_at=tomorrow_at(12, 0))[0] == 201


def test_minutes_per_broadcast_and_broadcasts_per_day(env: Env, night: dict[str, int]) -> None:
    env.client.put(f"/api/v1/areas/{night['commune']}/airtime", headers=env.auth,
                   json={"allowed_from": "05:30", "allowed_to": "21:30", "max_session_min": 2,
                         "max_sessions_per_day": 2})
    long_text = "Bà con chú ý lịch tiêm phòng cho đàn gia súc trong xã. " * 40  # about 440 words: 3 minutes
    status, body = send(env, approved(env, long_text), ["loa-tay"], play_at=tomorrow_at(9, 0))
    assert status == 422 and body["error"]["details"][0]["rule"] == "session_length"
    assert "2 min per broadcast" in body["error"]["message"]

    short = approved(env)
    assert send(env, short, ["loa-tay"], play_at=tomorrow_at(7, 0))[0] == 201
    assert send(env, short, ["loa-tay"], play_at=tomorrow_at(10, 0))[0] == 201
    assert send(env, short, ["loa-tay"], play_at=tomorrow_at(11, 0), priority="emergency")[0] == 201
    status, body = send(env, short, ["loa-tay"], play_at=tomorrow_at(17, 0))
    assert status == 422 and body["error"]["details"][0]["rule"] == "sessions_per_day", \
        "the third normal broadcast of the day is refused (the emergency does not count)"
    assert send(env, short, ["loa-dong"], play_at=tomorrow_at(17, 0))[0] == 201, "each loudspeaker counts its own"


def test_overlaps_on_the_same_cluster_are_shown_before_saving(env: Env, night: dict[str, int]) -> None:
    bulletin = approved(env)
    status, first = send(env, bulletin, ["loa-dong"], play_at=tomorrow_at(8, 0))
    assert status == 201
    check = env.client.post("/api/v1/broadcasts/check", headers=env.auth, json={
        "bulletin_id": bulletin, "targets": ["loa-dong", "loa-tay"], "play_at": tomorrow_at(8, 0)}).get_json()
    assert check["allowed"] is True and check["devices"] == ["loa-dong", "loa-tay"]
    assert [(o["device_id"], o["broadcast_id"]) for o in check["overlaps"]] == [("loa-dong", first["id"])]
    later = env.client.post("/api/v1/broadcasts/check", headers=env.auth, json={
        "bulletin_id": bulletin, "targets": ["loa-dong"], "play_at": tomorrow_at(9, 0)}).get_json()
    assert later["overlaps"] == []
    night_check = env.client.post("/api/v1/broadcasts/check", headers=env.auth, json={
        "bulletin_id": bulletin, "targets": ["loa-dong"], "play_at": tomorrow_at(23, 0)}).get_json()
    assert night_check["allowed"] is False and night_check["breaches"][0]["rule"] == "hours"
    assert len(env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()) == 1, "checking saved nothing"


def test_rules_are_set_by_admins_and_checked(env: Env, night: dict[str, int]) -> None:
    url = f"/api/v1/areas/{night['commune']}/airtime"
    for bad in ({"allowed_from": "21:00", "allowed_to": "06:00"}, {"allowed_from": "5h30"},
                {"max_session_min": 0}, {"max_sessions_per_day": "3"}):
        response = env.client.put(url, headers=env.auth, json=bad)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_rule", bad
    editor = env.user("bien-tap", ("editor",), areas=("Xã Đêm",))
    assert env.client.put(url, headers=editor, json={"allowed_from": "00:00"}).status_code == 403
    log = env.client.get("/api/v1/audit?action=airtime.set", headers=env.auth).get_json()
    assert log == [], "nothing was set"


def test_a_programme_plays_its_items_back_to_back_and_counts_as_one_session(env: Env, night: dict[str, int]) -> None:
    env.client.put(f"/api/v1/areas/{night['commune']}/airtime", headers=env.auth,
                   json={"allowed_from": "05:30", "allowed_to": "21:30", "max_session_min": 3,
                         "max_sessions_per_day": 1})
    one, two = approved(env, "Tin thứ nhất."), approved(env, "Tin thứ hai.")
    body = {"title": "Chương trình sáng", "items": [{"bulletin_id": one}, {"bulletin_id": two}],
            "targets": ["loa-tay"], "play_at": tomorrow_at(6, 30)}
    response = env.client.post("/api/v1/programmes", headers=env.auth, json=body)
    assert response.status_code == 201, response.get_json()
    items = response.get_json()["broadcasts"]
    assert [b["bulletin_id"] for b in items] == [one, two] and items[0]["play_at"] == items[1]["play_at"]
    assert items[0]["programme_id"] == items[1]["programme_id"] == response.get_json()["id"]
    # One session a day: the programme took it, whatever number of items it has.
    status, refused = send(env, one, ["loa-tay"], play_at=tomorrow_at(9, 0))
    assert status == 422 and refused["error"]["details"][0]["rule"] == "sessions_per_day"
    # Three minutes a session: the items count together.
    long_item = approved(env, "Bà con chú ý. " * 120)  # 360 words: over two and a half minutes
    too_long = {**body, "items": [{"bulletin_id": one}, {"bulletin_id": long_item}], "targets": ["loa-dong"]}
    answer = env.client.post("/api/v1/programmes", headers=env.auth, json=too_long)
    assert answer.status_code == 422 and answer.get_json()["error"]["details"][0]["rule"] == "session_length"


def test_a_receiver_plays_a_programme_in_its_order(env: Env) -> None:
    from tests.support.env import wait_until

    env.start_worker()
    env.start_agent("loa-01")
    first, second, third = (approved(env, text) for text in ("Mở đầu chương trình.", "Bản tin chính hôm nay "
                                                               "dài hơn một chút để phát lâu hơn.", "Kết thúc."))
    response = env.client.post("/api/v1/programmes", headers=env.auth, json={
        "title": "Buổi sáng", "targets": ["loa-01"],
        "items": [{"bulletin_id": first}, {"bulletin_id": second}, {"bulletin_id": third}]})
    assert response.status_code == 201, response.get_json()
    ids = [b["id"] for b in response.get_json()["broadcasts"]]
    wait_until(lambda: all(env.device_states(i) == {"loa-01": "played"} for i in ids), timeout=90)
    starts = [env.status(i)["devices"][0]["started_at"] for i in ids]  # type: ignore[index]
    ends = [env.status(i)["devices"][0]["finished_at"] for i in ids]  # type: ignore[index]
    assert starts == sorted(starts) and all(e <= s for e, s in zip(ends, starts[1:], strict=False)), \
        "back to back, in the programme's order"
    assert [p.name.split("-", 1)[1] for p in env.played_files("loa-01")] == [f"b{i}.wav" for i in ids]


def test_what_already_played_today_counts_towards_the_days_sessions(env: Env, night: dict[str, int]) -> None:
    from broadcaster.db import Broadcast, Delivery, utcnow

    now_local = datetime.now(VN)
    if (now_local + timedelta(minutes=35)).date() != now_local.date() or now_local.hour == 0:
        pytest.skip("needs half an hour before and after now within one local day")
    env.client.put(f"/api/v1/areas/{night['commune']}/airtime", headers=env.auth,
                   json={"allowed_from": "00:00", "allowed_to": "24:00", "max_sessions_per_day": 1})
    bulletin = approved(env)
    with env.db.session() as session:  # this morning's broadcast, already played
        earlier = Broadcast(bulletin_id=bulletin, priority="normal", play_at=utcnow() - timedelta(minutes=30),
                            state="sent", created_by=1)
        session.add(earlier)
        session.flush()
        session.add(Delivery(broadcast_id=earlier.id, device_id="loa-dong", state="played"))
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    status, body = send(env, bulletin, ["loa-dong"], play_at=later)
    assert status == 422 and body["error"]["details"][0]["rule"] == "sessions_per_day"
    assert send(env, bulletin, ["loa-tay"], play_at=later)[0] == 201, "the other cluster played nothing today"
