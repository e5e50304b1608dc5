"""Recurring broadcasts: the rule (weekdays, times of day in a zone, dates, exceptions), the API that takes
it, and a receiver that expands it into occurrences itself and plays each exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge_agent.agent import Agent
from edge_agent.protocol import ProtocolError, Repeat
from edge_agent.sinks import FileSink
from tests.support.env import Env, wait_until

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_occurrences_follow_local_weekdays_times_dates_and_exceptions() -> None:
    repeat = Repeat.from_dict({"weekdays": [1, 3, 5], "times": ["17:00", "06:30"], "start": "2026-11-23",
                               "until": "2026-11-30", "skip": ["2026-11-25"]})
    since = datetime(2026, 11, 20, tzinfo=UTC)
    local = [at.astimezone(VN).strftime("%a %d %H:%M") for at in repeat.occurrences(since, since + timedelta(days=30))]
    # Monday 23, (Wednesday 25 skipped), Friday 27, Monday 30 (the last day, included); 06:30 before 17:00.
    assert local == ["Mon 23 06:30", "Mon 23 17:00", "Fri 27 06:30", "Fri 27 17:00", "Mon 30 06:30", "Mon 30 17:00"]
    assert repeat.occurrences(since, since + timedelta(days=30))[0] == datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    # The rule ends at local midnight after its last day, not UTC midnight.
    assert not repeat.ends_before(datetime(2026, 11, 30, 16, 59, tzinfo=UTC))
    assert repeat.ends_before(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    assert not Repeat.from_dict({"weekdays": [7], "times": ["08:00"], "start": "2026-01-01"}).ends_before(
        datetime(2099, 1, 1, tzinfo=UTC)), "no end date: never ends"


def test_a_zone_with_summer_time_keeps_the_local_hour() -> None:
    repeat = Repeat.from_dict({"weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["08:00"], "start": "2026-03-28",
                               "until": "2026-03-30", "tz": "Europe/Berlin"})
    hours = [at.hour for at in repeat.occurrences(datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))]
    assert hours == [7, 6, 6], "08:00 in Berlin is 07:00 UTC in winter, 06:00 after the clocks change"


@pytest.mark.parametrize("bad, message", [
    ({"weekdays": [0], "times": ["06:30"], "start": "2026-11-23"}, "weekdays"),
    ({"weekdays": [], "times": ["06:30"], "start": "2026-11-23"}, "weekdays"),
    ({"weekdays": [1], "times": ["6:30"], "start": "2026-11-23"}, "times"),
    ({"weekdays": [1], "times": ["24:00"], "start": "2026-11-23"}, "times"),
    ({"weekdays": [1], "times": ["06:30"], "start": "23/11/2026"}, "start"),
    ({"weekdays": [1], "times": ["06:30"], "start": "2026-11-23", "until": "2026-11-01"}, "until"),
    ({"weekdays": [1], "times": ["06:30"], "start": "2026-11-23", "tz": "Asia/Hanoi_City"}, "tz"),
    ({"weekdays": [True], "times": ["06:30"], "start": "2026-11-23"}, "weekdays"),
])
def test_bad_rules_are_refused_with_the_field_named(bad: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        Repeat.from_dict(bad)


def approved_bulletin(env: Env, text: str) -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": "Phát thanh hằng ngày", "text": text},
                               headers=env.auth)
    bulletin_id: int = response.get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth).status_code == 200
    return bulletin_id


def test_the_api_takes_a_rule_and_refuses_a_bad_one_clearly(env: Env) -> None:
    bulletin_id = approved_bulletin(env, "Bản tin sáng.")
    today = datetime.now(VN).date()
    good = {"weekdays": [1, 2, 3, 4, 5], "times": ["06:30"], "until": (today + timedelta(days=30)).isoformat()}
    response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
        "bulletin_id": bulletin_id, "targets": ["all"], "repeat": good})
    assert response.status_code == 201, response.get_json()
    repeat = response.get_json()["repeat"]
    assert repeat["start"] == today.isoformat() and repeat["tz"] == "Asia/Ho_Chi_Minh"
    assert repeat["weekdays"] == [1, 2, 3, 4, 5] and repeat["times"] == ["06:30"]
    for rule, extra in (({"weekdays": [8], "times": ["06:30"]}, {}),
                        ({"weekdays": [1], "times": ["06:30"], "until": "2020-01-01", "start": "2019-12-01"}, {}),
                        ("every day", {}),
                        (good, {"play_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})):
        response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
            "bulletin_id": bulletin_id, "targets": ["all"], "repeat": rule, **extra})
        assert response.status_code == 422, rule
        assert response.get_json()["error"]["code"] == "invalid_repeat"


def test_a_receiver_plays_each_occurrence_once_by_itself_and_stops_when_told(env: Env) -> None:
    """Two occurrences one minute apart. The receiver's clock is set a little before the first (and later
    moved on a minute) so the test does not wait for real minutes; the server only sends the rule."""
    env.start_worker()
    now = datetime.now(UTC)
    first = (now + timedelta(minutes=2)).astimezone(VN).replace(second=0, microsecond=0)
    second = first + timedelta(minutes=1)
    offset = [first - (now + timedelta(seconds=8))]
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            return datetime.now(UTC) + offset[0]

    config = env.agent_config("loa-01")
    agent = Agent(config, FileSink(config.played_dir), clock=clock)
    agent.start()
    env.agents["loa-01"] = agent
    bulletin_id = approved_bulletin(env, "Bản tin phát lặp lại.")
    response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
        "bulletin_id": bulletin_id, "targets": ["loa-01"],
        "repeat": {"weekdays": [1, 2, 3, 4, 5, 6, 7],
                   "times": [first.strftime("%H:%M"), second.strftime("%H:%M")],
                   "start": first.date().isoformat(), "until": (first.date() + timedelta(days=1)).isoformat()}})
    assert response.status_code == 201, response.get_json()
    broadcast_id = response.get_json()["id"]

    def plays() -> dict[datetime, str]:
        return {datetime.fromisoformat(p["occurrence"]): p["state"]
                for p in env.status(broadcast_id)["plays"]}  # type: ignore[union-attr]

    first_key, second_key = first, second
    wait_until(lambda: plays().get(first_key) == "played", timeout=60)
    assert second_key not in plays(), "the second occurrence waits for its time"
    assert env.device_states(broadcast_id) == {"loa-01": "delivered"}, "the broadcast itself goes on"
    with lock:
        offset[0] += timedelta(minutes=1)  # a minute later on the receiver
    wait_until(lambda: plays().get(second_key) == "played", timeout=60)
    started = [p["started_at"] for p in env.status(broadcast_id)["plays"]]  # type: ignore[union-attr]
    assert all(started), "each play carries its real start time"

    agent.stop()  # a reboot: nothing already played plays again
    agent = Agent(config, FileSink(config.played_dir), clock=clock)
    agent.start()
    env.agents["loa-01"] = agent
    wait_until(lambda: agent.link.ready.is_set(), timeout=20)
    threading.Event().wait(3)
    assert len(env.played_files("loa-01")) == 2

    # Tomorrow's occurrences are already on the device (expanded a week ahead); a stop cancels them all.
    tomorrow = [e for e in agent.store.of_broadcast(broadcast_id) if e.occurrence and e.occurrence > clock()]
    assert tomorrow and all(e.state == "delivered" for e in tomorrow)
    assert env.client.post(f"/api/v1/broadcasts/{broadcast_id}/stop", headers=env.auth).status_code == 200
    wait_until(lambda: env.device_states(broadcast_id) == {"loa-01": "cancelled"}, timeout=30)
    assert all(e.state == "cancelled" for e in agent.store.of_broadcast(broadcast_id) if e.occurrence in tomorrow)
    assert set(plays().values()) == {"played"}, "future occurrences are not reported one by one"


def test_a_recurring_entry_past_its_last_day_ends_on_the_device_and_the_server(env: Env) -> None:
    env.start_worker()
    yesterday = datetime.now(VN).date() - timedelta(days=1)
    config = env.agent_config("loa-02")
    # The receiver lives two days ahead: for it, the rule's last day (today) is already over.
    agent = Agent(config, FileSink(config.played_dir), clock=lambda: datetime.now(UTC) + timedelta(days=2))
    agent.start()
    env.agents["loa-02"] = agent
    bulletin_id = approved_bulletin(env, "Lịch cũ.")
    response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
        "bulletin_id": bulletin_id, "targets": ["loa-02"],
        "repeat": {"weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["23:59"], "start": yesterday.isoformat(),
                   "until": (yesterday + timedelta(days=1)).isoformat()}})
    assert response.status_code == 201, response.get_json()
    broadcast_id = response.get_json()["id"]
    wait_until(lambda: [e.state for e in agent.store.of_broadcast(broadcast_id)] == ["ended"], timeout=60)
    assert env.played_files("loa-02") == [], "nothing from an ended rule plays"


def test_the_server_closes_a_recurring_broadcast_after_its_last_day(env: Env) -> None:
    import json

    from broadcaster.db import Delivery, Recurrence

    worker = env.start_worker()
    bulletin_id = approved_bulletin(env, "Lịch tuần.")
    response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
        "bulletin_id": bulletin_id, "targets": ["loa-01", "loa-02"],
        "repeat": {"weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["06:30"]}})
    broadcast_id = response.get_json()["id"]
    wait_until(lambda: env.status(broadcast_id)["state"] == "sent", timeout=30)
    worker.sweep()
    assert env.device_states(broadcast_id) == {"loa-01": "pending", "loa-02": "pending"}, "no end date: open"

    last_week = datetime.now(VN).date() - timedelta(days=7)
    with env.db.session() as session:  # the rule as it would stand a week after its last day
        rule = session.get(Recurrence, broadcast_id)
        assert rule is not None
        rule.rule = json.dumps({**json.loads(rule.rule), "start": (last_week - timedelta(days=7)).isoformat(),
                                "until": last_week.isoformat()})
        delivery = session.get(Delivery, (broadcast_id, "loa-01"))
        assert delivery is not None
        delivery.state = "delivered"
    worker.sweep()
    devices = {d["device_id"]: d for d in env.status(broadcast_id)["devices"]}  # type: ignore[union-attr]
    assert devices["loa-01"]["state"] == "ended" and devices["loa-01"]["error"] is None
    assert devices["loa-02"]["state"] == "missed", "a receiver that never got the audio missed all of it"
