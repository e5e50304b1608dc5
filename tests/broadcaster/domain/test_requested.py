"""What a writer asks for with a bulletin (time, priority, clusters, weekly rule) is kept, shown to the leader
and becomes the broadcast on approval; a text too long to read aloud is refused with the estimate. Through the
API, as a script or the pages use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.env import Env

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def call(env: Env, method: str, url: str, auth: dict[str, str], json: Any = None) -> tuple[int, Any]:
    response = env.client.open(f"/api/v1{url}", method=method, json=json, headers=auth)
    return response.status_code, response.get_json(silent=True)


def tomorrow_at(hour: int, minute: int) -> datetime:
    day = datetime.now(VN).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


def test_the_writers_time_priority_and_clusters_become_the_broadcast_on_approval(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    leader = env.user("chu-tich", ("approver",))
    when = tomorrow_at(7, 30)
    status, bulletin = call(env, "POST", "/bulletins", editor, {
        "title": "Tiêm phòng", "text": "Sáng mai tiêm phòng dại cho chó mèo tại nhà văn hóa thôn.", "submit": True,
        "request": {"priority": "priority", "play_at": when.isoformat(), "targets": ["loa-01"]}})
    assert status == 201, bulletin
    assert bulletin["state"] == "submitted"
    assert bulletin["request"]["targets"] == ["loa-01"] and bulletin["request"]["priority"] == "priority"

    status, approved = call(env, "POST", f"/bulletins/{bulletin['id']}/approve", leader)
    assert status == 200 and approved["state"] == "approved" and approved["broadcast_id"]
    status, broadcast = call(env, "GET", f"/broadcasts/{approved['broadcast_id']}", leader)
    assert broadcast["priority"] == "priority"
    assert datetime.fromisoformat(broadcast["play_at"].replace("Z", "+00:00")) == when
    assert [d["device_id"] for d in broadcast["devices"]] == ["loa-01"], "only the cluster the writer chose"


def test_the_leader_changes_what_was_asked_or_only_approves(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    leader = env.user("chu-tich", ("approver",))
    asked = {"play_at": tomorrow_at(7, 0).isoformat(), "targets": ["loa-01"]}
    _, first = call(env, "POST", "/bulletins", editor, {"title": "A", "text": "Họp dân.", "submit": True,
                                                        "request": asked})
    weekly = {"weekdays": [1, 3], "times": ["06:30"]}
    _, approved = call(env, "POST", f"/bulletins/{first['id']}/approve", leader,
                       {"schedule": {"repeat": weekly, "targets": ["loa-02"]}})
    _, broadcast = call(env, "GET", f"/broadcasts/{approved['broadcast_id']}", leader)
    assert broadcast["repeat"]["weekdays"] == [1, 3] and broadcast["repeat"]["times"] == ["06:30"]
    assert broadcast["play_at"] is None and [d["device_id"] for d in broadcast["devices"]] == ["loa-02"]

    _, second = call(env, "POST", "/bulletins", editor, {"title": "B", "text": "Họp dân.", "submit": True,
                                                         "request": asked})
    status, only = call(env, "POST", f"/bulletins/{second['id']}/approve", leader, {"schedule": False})
    assert status == 200 and only["state"] == "approved" and only["broadcast_id"] is None
    assert [b for b in call(env, "GET", "/broadcasts", leader)[1] if b["bulletin_id"] == second["id"]] == []


def test_a_request_that_cannot_be_kept_is_refused_and_nothing_is_saved(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    before = call(env, "GET", "/bulletins", editor)[1]
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    for request, code in (({"play_at": past}, "play_at_in_past"),
                          ({"targets": ["loa-khong-co"]}, "unknown_target"),
                          ({"priority": "emergency"}, "invalid_priority"),
                          ({"repeat": {"weekdays": [], "times": ["06:30"]}}, "invalid_repeat"),
                          ({"when": "mai"}, "invalid_request")):
        status, body = call(env, "POST", "/bulletins", editor, {"title": "X", "text": "Họp dân.", "submit": True,
                                                                "request": request})
        assert status == 422 and body["error"]["code"] == code, (request, body)
    assert call(env, "GET", "/bulletins", editor)[1] == before


def test_approval_whose_asked_time_has_passed_is_refused_and_the_bulletin_still_waits(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    leader = env.user("chu-tich", ("approver",))
    soon = datetime.now(UTC) + timedelta(seconds=1)
    _, bulletin = call(env, "POST", "/bulletins", editor, {"title": "A", "text": "Họp dân.", "submit": True,
                                                           "request": {"play_at": soon.isoformat()}})
    with env.db.session() as session:  # the leader reads it two hours later
        from broadcaster.db import Bulletin

        row = session.get(Bulletin, bulletin["id"])
        row.request = row.request.replace(soon.isoformat()[:19], (soon - timedelta(hours=2)).isoformat()[:19])
    status, body = call(env, "POST", f"/bulletins/{bulletin['id']}/approve", leader)
    assert status == 422 and body["error"]["code"] == "play_at_in_past"
    assert call(env, "GET", f"/bulletins/{bulletin['id']}", leader)[1]["state"] == "submitted", \
        "not approved half-way: the leader picks a new time and approves again"


def test_a_text_too_long_to_read_aloud_is_refused_with_its_length(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    sentence = "Ủy ban nhân dân xã thông báo lịch tiêm phòng cho trẻ em dưới năm tuổi tại trạm y tế xã. "
    words = len(sentence.split())
    long = sentence * (6 * 140 // words)  # about six minutes at 140 words a minute
    status, body = call(env, "POST", "/bulletins", editor, {"title": "Dài", "text": long})
    assert status == 422 and body["error"]["code"] == "too_long_to_read"
    assert body["error"]["details"][0]["max_spoken_s"] == 300
    fits = sentence * (4 * 140 // words)  # four minutes
    assert call(env, "POST", "/bulletins", editor, {"title": "Vừa", "text": fits})[0] == 201
    # Read faster, the same long text fits no better than the limit says: 1.5 times as fast is four minutes.
    assert call(env, "POST", "/bulletins", editor, {"title": "Nhanh", "text": long, "speed": 1.5})[0] == 201
