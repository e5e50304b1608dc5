"""The calendar: one-off and weekly broadcasts (each occurrence, skip dates honoured) in the window, with their
state, end and clusters; an overlap on a shared cluster listed once on each item, with the clusters' names;
only what the user's areas cover."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from broadcaster.db import Broadcast, Bulletin, Delivery, User, utcnow
from broadcaster.domain.calendar import Calendar, Item, calendar
from broadcaster.domain.errors import Refusal
from broadcaster.ops.bootstrap import ensure_area, ensure_device
from tests.support.env import Env

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def approved(env: Env, title: str, text: str = "Thông báo của xã về lịch họp dân.") -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": title, "text": text}, headers=env.auth)
    assert response.status_code == 201, response.get_json()
    bulletin_id: int = response.get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth).status_code == 200
    return bulletin_id


def schedule(env: Env, title: str, targets: list[str], **fields: Any) -> int:
    body = {"bulletin_id": approved(env, title), "targets": targets, **fields}
    response = env.client.post("/api/v1/broadcasts", json=body, headers=env.auth)
    assert response.status_code == 201, response.get_json()
    broadcast_id: int = response.get_json()["id"]
    return broadcast_id


def week(env: Env, username: str = "admin", area_id: int | None = None) -> Calendar:
    today = datetime.now(VN).date()
    with env.db.session() as session:
        user = session.query(User).filter_by(username=username).one()
        return calendar(session, user, today, today + timedelta(days=6), VN, area_id=area_id)


def on(result: Calendar, day: date, title: str) -> list[Item]:
    return [i for d in result.days if d.day == day for i in d.items if i.title == title]


def test_one_off_and_weekly_with_a_skip_date_and_an_overlap_listed_once_per_item(env: Env) -> None:
    today = datetime.now(VN).date()
    tomorrow, skipped = today + timedelta(days=1), today + timedelta(days=2)
    at_eight = datetime.combine(tomorrow, time(8, 0), VN)
    schedule(env, "Họp dân thôn", ["loa-01", "loa-02"], play_at=at_eight.isoformat())
    schedule(env, "Bản tin sáng", ["loa-01", "loa-03"], repeat={
        "weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["08:00"], "start": today.isoformat(),
        "skip": [skipped.isoformat()]})

    relay_at = datetime.combine(tomorrow, time(10, 0), VN)
    schedule(env, "Tiếp sóng đài tỉnh", ["loa-03"], play_at=relay_at.isoformat(),
             relay={"url": "https://dai.example/live", "window_s": 900})

    result = week(env)
    [relay] = on(result, tomorrow, "Tiếp sóng đài tỉnh")
    assert relay.kind == "relay" and relay.start == relay_at and relay.end == relay_at + timedelta(minutes=15)
    assert [d.day for d in result.days] == [today + timedelta(days=n) for n in range(7)]
    [meeting] = on(result, tomorrow, "Họp dân thôn")
    assert meeting.kind == "one-off" and meeting.state == "scheduled"
    assert meeting.start == at_eight and meeting.end > meeting.start, "its end is estimated from its length"
    assert meeting.clusters == {"loa-01": "Cụm loa 1", "loa-02": "Cụm loa 2"}
    [morning] = on(result, tomorrow, "Bản tin sáng")
    assert morning.kind == "weekly" and morning.start == at_eight and morning.state == "scheduled"

    # Once on each item, naming the shared cluster (not loa-02 nor loa-03, which only one of them plays on).
    assert [(o.title, o.clusters) for o in meeting.overlaps] == [("Bản tin sáng", ["Cụm loa 1"])]
    assert [(o.title, o.clusters) for o in morning.overlaps] == [("Họp dân thôn", ["Cụm loa 1"])]

    weekly_days = [d.day for d in result.days if on(result, d.day, "Bản tin sáng")]
    assert skipped not in weekly_days, "the skip date has no occurrence"
    assert set(weekly_days) >= {today + timedelta(days=n) for n in (1, 3, 4, 5, 6)}
    for day in (today + timedelta(days=n) for n in (3, 6)):
        [item] = on(result, day, "Bản tin sáng")
        assert item.start.astimezone(VN).strftime("%H:%M") == "08:00" and item.overlaps == []
    assert all(b.allowed_from == "00:00" and b.allowed_to == "24:00" and b.areas == ["Xã Thử"]
               for b in result.days[0].bands), "the air-time band of the commune's rule"

    api = env.client.get(f"/api/v1/calendar?from={tomorrow}&to={tomorrow}", headers=env.auth).get_json()
    [day] = api["days"]
    titles = {i["title"]: i for i in day["items"]}
    assert titles["Họp dân thôn"]["state"] == "scheduled"
    assert titles["Họp dân thôn"]["overlaps"][0]["clusters"] == ["Cụm loa 1"]


def test_states_of_what_aired_failed_and_was_stopped(env: Env) -> None:
    now = utcnow()
    with env.db.session() as session:
        for title, state, delivery in (("Đã phát xong", "sent", "played"), ("Không phát được", "sent", "failed"),
                                       ("Đã dừng", "stopped", "cancelled")):
            bulletin = Bulletin(title=title, text="Nội dung.", state="approved", created_by=1)
            session.add(bulletin)
            session.flush()
            broadcast = Broadcast(bulletin_id=bulletin.id, priority="normal", play_at=now - timedelta(minutes=30),
                                  state=state, created_by=1)
            session.add(broadcast)
            session.flush()
            session.add(Delivery(broadcast_id=broadcast.id, device_id="loa-01", state=delivery))
    result = week(env)
    today = datetime.now(VN).date()
    day = (now - timedelta(minutes=30)).astimezone(VN).date()
    if day < today:  # just after midnight: it aired yesterday, outside this window
        pytest.skip("the items aired on the previous local day")
    states = {i.title: i.state for d in result.days for i in d.items}
    assert states == {"Đã phát xong": "played", "Không phát được": "failed", "Đã dừng": "cancelled"}
    assert all(not i.overlaps for d in result.days for i in d.items), \
        "what failed or was stopped took no air time, so nothing overlaps it"


def test_only_what_the_users_areas_cover(env: Env) -> None:
    with env.db.session() as session:
        other = ensure_area(session, "Xã Bên", "commune")
        ensure_device(session, "loa-b", "Cụm loa bên", ensure_area(session, "Thôn Bên", "village", other))
        other_id = other.id
    env.user("can-bo-ben", ("operator",), areas=("Xã Bên",))
    env.user("truong-thon-2", ("operator",), areas=("Thôn 2",))
    tomorrow = datetime.now(VN).date() + timedelta(days=1)
    schedule(env, "Họp dân thôn", ["loa-01", "loa-02"],
             play_at=datetime.combine(tomorrow, time(9, 0), VN).isoformat())

    assert not [i for d in week(env, "can-bo-ben").days for i in d.items], "nothing in another commune"
    [item] = [i for d in week(env, "truong-thon-2").days for i in d.items]
    assert item.clusters == {"loa-02": "Cụm loa 2"}, "only the clusters of the user's village"
    with pytest.raises(Refusal) as refused:
        week(env, "truong-thon-2", area_id=other_id)
    assert refused.value.status == 404
    outsider = env.client.get(f"/api/v1/calendar?area={other_id}",
                              headers=env.user("truong-thon-2b", ("operator",), areas=("Thôn 2",)))
    assert outsider.status_code == 404
