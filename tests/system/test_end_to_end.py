"""The whole path: API call -> speech -> MQTT -> agents play it -> reports back in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcaster.assets import AssetStore
from broadcaster.db import Broadcast, Delivery
from broadcaster.speech.render import Speech
from tests.support.audio import voiced_seconds, wav_stats
from tests.support.env import DEVICES, Env, wait_until

SHORT = "Thông báo: UBND xã tổ chức tiêm phòng lúc 7h30 ngày 25/11."
LONG = SHORT + " Đề nghị các hộ gia đình đưa trẻ em đến trạm y tế đúng giờ. Xin cảm ơn bà con."


def test_bulletin_is_played_by_every_agent_and_reported(env: Env) -> None:
    env.start_worker()
    for device_id in DEVICES:
        env.start_agent(device_id)
    wait_until(lambda: all(d["online"] for d in env.client.get("/api/v1/devices", headers=env.auth).get_json()
                           if d["id"] in DEVICES))

    broadcast = env.broadcast(SHORT, targets=DEVICES)
    assert broadcast["state"] == "queued"
    assert env.device_states(broadcast["id"]) == dict.fromkeys(DEVICES, "pending")

    wait_until(lambda: set(env.device_states(broadcast["id"]).values()) == {"played"}, timeout=60)
    result = env.status(broadcast["id"])
    assert result["state"] == "sent"
    asset_duration = None
    for device in result["devices"]:  # type: ignore[union-attr]
        started = datetime.fromisoformat(device["started_at"])
        finished = datetime.fromisoformat(device["finished_at"])
        assert device["error"] is None
        files = env.played_files(device["device_id"])
        assert len(files) == 1, "each agent plays the bulletin exactly once"
        duration, rms = wav_stats(files[0])
        assert rms > -35, "the played file holds sound, not silence"
        # The real playing time the device reported matches the audio it wrote.
        assert abs((finished - started).total_seconds() - duration) < 1.5
        asset_duration = asset_duration or duration
        assert abs(duration - asset_duration) < 0.05, "every agent played the same audio"
        assert voiced_seconds(files[0]) > 3, "there is several seconds of speech after the chime"


def test_longer_text_gives_longer_speech(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    short = env.broadcast(SHORT, targets=["loa-01"])
    long = env.broadcast(LONG, targets=["loa-01"])
    wait_until(lambda: env.device_states(short["id"]) == {"loa-01": "played"}
               and env.device_states(long["id"]) == {"loa-01": "played"}, timeout=90)
    files = env.played_files("loa-01")
    assert len(files) == 2
    by_broadcast = {int(f.stem.rsplit("-b", 1)[1]): wav_stats(f)[0] for f in files}
    # The long text has about twice the words: its audio must be clearly longer, not the same clip.
    assert by_broadcast[long["id"]] > by_broadcast[short["id"]] * 1.5


def test_agent_offline_at_send_time_gets_the_retained_schedule_later(env: Env) -> None:
    env.start_worker()
    broadcast = env.broadcast(SHORT, targets=["loa-late"])
    wait_until(lambda: env.status(broadcast["id"])["state"] == "sent")
    env.start_agent("loa-late")
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-late": "played"}, timeout=60)
    assert len(env.played_files("loa-late")) == 1


def test_scheduled_broadcast_waits_for_play_at(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-02")
    env.prerender(SHORT)
    play_at = datetime.now(UTC) + timedelta(seconds=8)
    broadcast = env.broadcast(SHORT, targets=["loa-02"], play_at=play_at.astimezone().isoformat())
    # Delivered ahead of its time (on a loaded machine rendering may eat the margin: then it is checked below).
    def reached() -> str | None:
        state = env.device_states(broadcast["id"])["loa-02"]
        return state if state in ("delivered", "playing", "played") else None

    state = wait_until(reached, timeout=30)
    if state == "delivered" and datetime.now(UTC) < play_at - timedelta(seconds=1):
        assert env.played_files("loa-02") == [], "nothing plays before play_at"
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-02": "played"}, timeout=60)
    started = datetime.fromisoformat(env.status(broadcast["id"])["devices"][0]["started_at"])  # type: ignore[index]
    assert started >= play_at - timedelta(milliseconds=50)


def test_sent_broadcast_whose_schedule_never_reached_the_broker_still_plays(env: Env) -> None:
    # The worker rendered and marked the broadcast sent, then died before its queued publishes left.
    broadcast = env.broadcast(SHORT, targets=["loa-x"])
    with env.db.session() as session:
        row = session.get(Broadcast, broadcast["id"])
        assert row is not None
        speech = Speech(env.config.speech, AssetStore(env.config.asset_dir))
        asset = speech.render(session, row.bulletin.text)
        asset.published_at = row.created_at  # believed published; the broker never got it
        row.asset_id, row.state, row.sent_at = asset.id, "sent", row.created_at
        assert session.get(Delivery, (row.id, "loa-x")) is not None
    env.start_agent("loa-x")
    env.start_worker()  # the restarted worker
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-x": "played"}, timeout=60)
