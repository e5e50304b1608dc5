"""Emergencies cut in, operators stop broadcasts and set volumes: real worker, broker, agent and file sink."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.db import Device
from broadcaster.speech.audio import duration_of
from tests.support.env import Env, wait_until

LONG = ("Thông báo về kế hoạch tiêm chủng mở rộng cho trẻ em dưới năm tuổi tại trạm y tế xã. Phụ huynh mang theo "
        "sổ tiêm chủng và giấy khai sinh của trẻ. Trẻ đang sốt hoặc đang ốm cần báo cho cán bộ y tế để hẹn lịch "
        "khác. Việc tiêm chủng là hoàn toàn miễn phí.")


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def device_row(env: Env, broadcast_id: object, device_id: str) -> dict[str, object]:
    devices = env.status(broadcast_id)["devices"]
    assert isinstance(devices, list)
    return next(d for d in devices if d["device_id"] == device_id)


def full_length(env: Env, broadcast_id: object) -> float:
    return duration_of(env.audio_of(broadcast_id))


def test_an_emergency_cuts_off_what_is_playing(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    normal = env.broadcast(LONG, targets=["loa-01"])
    wait_until(lambda: env.device_states(normal["id"]) == {"loa-01": "playing"}, timeout=60)
    emergency = env.broadcast("Khẩn cấp: lũ đang lên, bà con sơ tán ngay.", targets=["loa-01"],
                              priority="emergency")
    wait_until(lambda: env.device_states(emergency["id"]) == {"loa-01": "played"}, timeout=60)

    cut = device_row(env, normal["id"], "loa-01")
    assert cut["state"] == "interrupted"
    assert f"interrupted by emergency broadcast {emergency['id']}" in str(cut["error"])
    # What villagers heard of the normal item is shorter than the item, and the emergency was heard whole.
    normal_wav, emergency_wav = env.played_files("loa-01")
    assert seconds(normal_wav) < full_length(env, normal["id"]) - 3
    assert abs(seconds(emergency_wav) - full_length(env, emergency["id"])) < 0.5


def test_an_operator_stops_a_broadcast_playing_on_one_speaker_and_waiting_on_another(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    env.start_agent("loa-02")
    later = (datetime.now(UTC) + timedelta(seconds=40)).isoformat()
    playing = env.broadcast(LONG, targets=["loa-01"])
    waiting = env.broadcast(LONG, targets=["loa-02"], play_at=later)
    wait_until(lambda: env.device_states(playing["id"]) == {"loa-01": "playing"}, timeout=60)
    wait_until(lambda: env.device_states(waiting["id"]) == {"loa-02": "delivered"}, timeout=60)

    for broadcast in (playing, waiting):
        response = env.client.post(f"/api/v1/broadcasts/{broadcast['id']}/stop", headers=env.auth)
        assert response.status_code == 200 and response.get_json()["state"] == "stopping"
    wait_until(lambda: env.device_states(playing["id"]) == {"loa-01": "interrupted"}, timeout=30)
    wait_until(lambda: env.device_states(waiting["id"]) == {"loa-02": "cancelled"}, timeout=30)
    assert "stopped by the operator" in str(device_row(env, playing["id"], "loa-01")["error"])
    assert env.status(playing["id"])["state"] == "stopped"
    assert env.played_files("loa-02") == []
    assert len(env.played_files("loa-01")) == 1


def test_a_receiver_offline_when_a_broadcast_is_stopped_learns_it_when_it_returns(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-03")
    later = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    waiting = env.broadcast("Họp dân lúc chín giờ.", targets=["loa-03"], play_at=later)
    wait_until(lambda: env.device_states(waiting["id"]) == {"loa-03": "delivered"}, timeout=60)
    agent.stop()
    assert env.client.post(f"/api/v1/broadcasts/{waiting['id']}/stop", headers=env.auth).status_code == 200
    wait_until(lambda: env.status(waiting["id"])["state"] == "stopped", timeout=10)
    env.start_agent("loa-03")
    wait_until(lambda: env.device_states(waiting["id"]) == {"loa-03": "cancelled"}, timeout=30)


def test_stopping_a_broadcast_not_yet_sent_cancels_it_everywhere(env: Env) -> None:
    queued = env.broadcast("Chưa gửi.", targets=["loa-01", "loa-02"])  # no worker runs: it stays queued
    response = env.client.post(f"/api/v1/broadcasts/{queued['id']}/stop", headers=env.auth)
    assert response.get_json()["state"] == "stopped"
    assert env.device_states(queued["id"]) == {"loa-01": "cancelled", "loa-02": "cancelled"}
    missing = env.client.post("/api/v1/broadcasts/999999/stop", headers=env.auth)
    assert missing.status_code == 404


def test_volume_set_remotely_is_applied_reported_and_kept_across_a_reboot(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-02")
    for bad in (101, -1, "to", True, None):
        response = env.client.put("/api/v1/devices/loa-02/volume", json={"volume": bad}, headers=env.auth)
        assert response.status_code == 422, bad
    assert env.client.put("/api/v1/devices/nope/volume", json={"volume": 5}, headers=env.auth).status_code == 404
    assert env.client.put("/api/v1/devices/loa-02/volume", json={"volume": 30}, headers=env.auth).status_code == 200
    wait_until(lambda: agent.sink.volume == 30, timeout=15)

    def reported() -> int | None:
        with env.db.session() as session:
            device = session.get(Device, "loa-02")
            return device.volume if device else None

    wait_until(lambda: reported() == 30, timeout=15)
    agent.stop()
    again = env.start_agent("loa-02")  # its config says 80; the operator's setting wins
    assert again.sink.volume == 30


def test_a_cluster_switched_off_stays_silent_but_for_emergencies_and_the_volume_is_kept(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-03", heartbeat_s=0.5)
    env.client.put("/api/v1/devices/loa-03/volume", json={"volume": 25}, headers=env.auth)
    wait_until(lambda: agent.sink.volume == 25, timeout=15)
    assert env.client.put("/api/v1/devices/loa-03/power", json={"on": "no"}, headers=env.auth).status_code == 422
    assert env.client.put("/api/v1/devices/loa-03/power", json={"on": False}, headers=env.auth).status_code == 200
    wait_until(lambda: not agent.enabled, timeout=15)
    assert agent.sink.volume == 25, "switching off and on travels with the volume, not instead of it"

    quiet = env.broadcast("Thông báo thường khi loa tắt.", targets=["loa-03"])
    wait_until(lambda: env.device_states(quiet["id"]) == {"loa-03": "cancelled"}, timeout=60)
    assert "switched off" in str(env.status(quiet["id"])["devices"][0]["error"])  # type: ignore[index]
    urgent = env.broadcast("Khẩn cấp: lũ quét.", targets=["loa-03"], priority="emergency")
    wait_until(lambda: env.device_states(urgent["id"]) == {"loa-03": "played"}, timeout=60)
    wait_until(lambda: {r["id"]: r for r in env.client.get("/api/v1/dashboard", headers=env.auth).get_json()}
               ["loa-03"]["state"] == "off", timeout=15)  # the dashboard shows what the receiver reports

    agent.stop()
    again = env.start_agent("loa-03")
    assert again.enabled is False, "still off after a reboot"
    env.client.put("/api/v1/devices/loa-03/power", json={"on": True}, headers=env.auth)
    wait_until(lambda: again.enabled, timeout=15)
    back = env.broadcast("Loa bật lại.", targets=["loa-03"])
    wait_until(lambda: env.device_states(back["id"]) == {"loa-03": "played"}, timeout=60)


def test_an_emergency_during_the_amplifier_warm_up_goes_first(env: Env) -> None:
    from edge_agent.agent import Agent
    from edge_agent.amplifier import SimulatedAmplifier
    from edge_agent.config import AmplifierSettings
    from edge_agent.sinks import FileSink

    config = env.agent_config("loa-02", amplifier=AmplifierSettings(kind="simulated", lead_s=8.0, hold_s=60.0))
    agent = Agent(config, FileSink(config.played_dir), amplifier=SimulatedAmplifier())
    agent.start()
    env.agents["loa-02"] = agent
    env.start_worker()
    normal = env.broadcast("Thông báo thường.", targets=["loa-02"])
    wait_until(lambda: env.device_states(normal["id"]) == {"loa-02": "playing"}, timeout=60)  # warming up
    emergency = env.broadcast("Khẩn cấp: sơ tán ngay.", targets=["loa-02"], priority="emergency")
    wait_until(lambda: env.device_states(emergency["id"]) == {"loa-02": "played"}, timeout=60)
    assert env.device_states(normal["id"]) == {"loa-02": "interrupted"}
    (heard,) = env.played_files("loa-02")
    assert heard.name.endswith(f"-b{emergency['id']}.wav"), "the normal item never sounded"
