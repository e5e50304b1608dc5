"""Speaking live: a microphone (ffmpeg encoding a real voice recording, sent at its natural pace through the
worker's WebSocket) to real receivers over a real mosquitto. What each loudspeaker wrote is compared with what
was said; forged, replayed and foreign packets are refused and reported; an emergency session takes the air;
a receiver whose link drops comes back into the stream; a stop ends it everywhere."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from broadcaster.db import Bulletin, LiveSession, RefusalRecord
from broadcaster.ops.microphone import Speaking, encoded
from edge_agent.config import MqttSettings
from edge_agent.protocol import Topics
from edge_agent.protocol.live import LivePacket
from edge_agent.protocol.signing import Signer
from tests.support.audio import likeness, probe_duration
from tests.support.env import Env, server_client, wait_until
from tests.support.faults import CutLink

SPEECH = ("Bà con thôn Đông chú ý. Chiều nay có mưa to và gió mạnh. Đề nghị bà con chằng chống nhà cửa, "
          "không ra sông suối. Xin cảm ơn bà con.")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the speaker says: a real voice recording (espeak-ng reading a warning, about 8 s)."""
    path = tmp_path_factory.mktemp("voice") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(path), SPEECH], check=True)
    return path


def ready(env: Env, *devices: str) -> None:
    """The receivers are connected and know their groups (where live sessions come)."""
    wait_until(lambda: all(env.agents[d].groups and env.agents[d].link.ready.is_set() for d in devices), 30)


def go_live(env: Env, headers: dict[str, str] | None = None, **fields: Any) -> tuple[int, dict[str, Any]]:
    response = env.client.post("/api/v1/live", json={"targets": ["all"], "priority": "normal", **fields},
                               headers=headers or env.auth)
    return response.status_code, response.get_json()


def speak(body: dict[str, Any], voice: Path, limit_s: float | None = None) -> Speaking:
    speaking = Speaking(body["ws_url"], body["ticket"])
    speaking.open()
    speaking.send(encoded(str(voice)), limit_s)
    return speaking


def live_file(env: Env, device: str, broadcast_id: int) -> Path:
    files = [p for p in env.played_files(device) if p.name.endswith(f"-b{broadcast_id}-live.wav")]
    assert len(files) == 1, files
    return files[0]


def states(env: Env, broadcast_id: int) -> dict[str, str]:
    live = env.client.get(f"/api/v1/live/{broadcast_id}", headers=env.auth).get_json()
    return {d["device_id"]: d["state"] for d in live["devices"]}


def test_what_is_said_is_heard_on_every_loudspeaker_and_kept(env: Env, voice: Path) -> None:
    env.start_worker()
    for device in ("loa-01", "loa-02"):
        env.start_agent(device)
    ready(env, "loa-01", "loa-02")
    status, body = go_live(env, title="Chủ tịch xã nói trực tiếp")
    assert status == 201, body
    assert body["live"]["state"] == "ready" and body["ws_url"].startswith("ws://")
    speaking = speak(body, voice)
    broadcast_id = body["live"]["broadcast_id"]
    assert [a["type"] for a in speaking.answers] == ["started", "ended"]
    wait_until(lambda: {states(env, broadcast_id)[d] for d in ("loa-01", "loa-02")} == {"played"}, 30)
    spoken_s = probe_duration(voice)
    for device in ("loa-01", "loa-02"):
        heard = live_file(env, device, broadcast_id)
        similar, lag = likeness(heard, voice)
        assert similar > 0.8, f"{device} played something else than was said ({similar:.2f})"
        assert abs(probe_duration(heard) - spoken_s) < 0.08, "all of it, not a frame more or less than two"
        assert abs(lag) < 0.05
    live = env.client.get(f"/api/v1/live/{broadcast_id}", headers=env.auth).get_json()
    assert live["state"] == "ended" and live["speaker"] == "admin" and live["seconds"] >= spoken_s - 0.5
    played = {d["device_id"]: d for d in live["devices"] if d["state"] == "played"}
    for device in ("loa-01", "loa-02"):
        span = played[device]
        assert span["started_at"] and span["finished_at"] and span["finished_at"] > span["started_at"]
    assert {d["state"] for d in live["devices"] if d["device_id"] not in played} <= {"pending", "missed"}, \
        "receivers that were off are not counted as played"

    def kept() -> Bulletin | None:
        with env.db.session() as session:
            row = session.get(LiveSession, broadcast_id)
            if row is None or row.asset_id is None:
                return None
            bulletin = session.get(Bulletin, env.status(broadcast_id)["bulletin_id"])
            assert bulletin is not None and bulletin.recording is not None
            session.expunge_all()
            return bulletin

    bulletin = wait_until(kept, 30)
    assert isinstance(bulletin, Bulletin) and bulletin.state == "submitted", "it airs again only once approved"


def test_forged_replayed_and_foreign_packets_are_refused_and_reported(env: Env, voice: Path) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    ready(env, "loa-01")
    topics = Topics(env.config.mqtt.topic_root)
    group = env.agents["loa-01"].groups[-1]  # the commune's group: "all" goes there
    captured: list[bytes] = []
    spy = server_client(env, "spy")
    spy.on_message = lambda c, u, m: captured.append(m.payload)
    spy.subscribe(topics.live_audio(group), qos=0)
    spy.loop_start()
    status, body = go_live(env)
    assert status == 201
    speaking = Speaking(body["ws_url"], body["ticket"])
    speaking.open()
    sender = threading.Thread(target=speaking.send, args=(encoded(str(voice)),))
    sender.start()
    wait_until(lambda: len(captured) >= 5, 10)
    session = LivePacket.parse(captured[0])[0].session
    forger = Signer.generate()
    forged = LivePacket(session, 10_000, 0, int(time.time() * 1000), [captured[0][-70:-64]])
    for payload in (forger.sign_packet(topics.live_audio(group), forged),   # someone else's key
                    captured[0],                                            # a replay of a packet already played
                    env.config.signer().sign_packet(topics.live_audio(group),
                                                    LivePacket("b999-forged", 1, 0, 0, [b"\xfc"])),  # no such session
                    ):
        spy.publish(topics.live_audio(group), payload, qos=0)
    spy.publish(topics.live_audio("a99999"), captured[1], qos=0)  # moved to another group's topic: not held there
    sender.join(timeout=30)
    broadcast_id = body["live"]["broadcast_id"]
    wait_until(lambda: states(env, broadcast_id)["loa-01"] == "played", 30)

    def reasons() -> set[str]:
        with env.db.session() as s:
            return {r.reason for r in s.query(RefusalRecord).filter_by(device_id="loa-01")}

    wait_until(lambda: reasons() >= {"unknown_key", "replayed", "unknown_session"}, 20)
    similar, _ = likeness(live_file(env, "loa-01", broadcast_id), voice)
    assert similar > 0.8, "the forgeries changed nothing that was heard"
    spy.loop_stop()
    spy.disconnect()


def test_an_emergency_spoken_live_cuts_off_a_normal_bulletin(env: Env, voice: Path) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    ready(env, "loa-01")
    long_text = " ".join(["Thông báo lịch tiêm phòng cho trẻ em tại trạm y tế xã."] * 12)
    normal = env.broadcast(long_text, targets=["loa-01"])
    wait_until(lambda: env.device_states(normal["id"]) == {"loa-01": "playing"}, 60)
    status, body = go_live(env, priority="emergency", targets=["loa-01"])
    assert status == 201, body
    speak(body, voice)
    broadcast_id = body["live"]["broadcast_id"]
    wait_until(lambda: states(env, broadcast_id)["loa-01"] == "played", 30)
    bulletin = env.status(normal["id"])["devices"][0]  # type: ignore[index]
    assert bulletin["state"] == "interrupted" and "live broadcast" in bulletin["error"]
    assert likeness(live_file(env, "loa-01", broadcast_id), voice)[0] > 0.8


def test_a_receiver_whose_link_drops_comes_back_into_the_stream(env: Env, voice: Path) -> None:
    env.start_worker()
    link = CutLink(env.broker.port)
    env.start_agent("loa-01", mqtt=MqttSettings(host="127.0.0.1", port=link.port, password=env.broker.users["loa-01"],
                                                topic_root=env.config.mqtt.topic_root, keepalive_s=5))
    ready(env, "loa-01")
    status, body = go_live(env, targets=["loa-01"])
    assert status == 201
    speaking = Speaking(body["ws_url"], body["ticket"])
    speaking.open()
    sender = threading.Thread(target=speaking.send, args=(encoded(str(voice)),))
    sender.start()
    time.sleep(2.0)
    link.cut()
    time.sleep(2.0)
    link.mend()
    sender.join(timeout=30)
    broadcast_id = body["live"]["broadcast_id"]
    wait_until(lambda: states(env, broadcast_id)["loa-01"] == "played", 30)
    heard = live_file(env, "loa-01", broadcast_id)
    assert abs(probe_duration(heard) - probe_duration(voice)) < 0.3, "the gap kept its place in time"
    tail = heard.with_name("tail.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "5", "-i", str(heard), str(tail)], check=True)
    similar, lag = likeness(tail, voice)
    assert similar > 0.6 and 4.5 < lag * -1 < 5.5, "after the link came back, the rest was heard in its place"
    link.close()


def test_a_stop_ends_it_everywhere_and_who_may_speak(env: Env, voice: Path) -> None:
    editor = env.user("bientap", ("editor",))
    operator = env.user("vanhanh", ("operator",))
    assert go_live(env, headers=editor)[0] == 403, "an editor writes; approvers and operators speak live"
    env.start_worker()
    env.start_agent("loa-01")
    ready(env, "loa-01")
    status, body = go_live(env, headers=operator, targets=["loa-01"])
    assert status == 201
    assert go_live(env, targets=["loa-01"])[0] == 409, "one live session at a time on a loudspeaker"
    speaking = Speaking(body["ws_url"], body["ticket"])
    speaking.open()
    sender = threading.Thread(target=speaking.send, args=(encoded(str(voice)),))
    sender.start()
    broadcast_id = body["live"]["broadcast_id"]
    wait_until(lambda: states(env, broadcast_id)["loa-01"] == "playing", 10)
    response = env.client.post(f"/api/v1/live/{broadcast_id}/stop", headers=operator)
    assert response.status_code == 200
    sender.join(timeout=10)
    assert any(a.get("type") == "ended" and a.get("reason") == "stopped by an operator" for a in speaking.answers)
    wait_until(lambda: states(env, broadcast_id)["loa-01"] == "played", 20)
    assert probe_duration(live_file(env, "loa-01", broadcast_id)) < probe_duration(voice) - 2
    again = Speaking(body["ws_url"], body["ticket"])
    with pytest.raises(Exception, match="refused the microphone"):
        again.open()


def test_a_desk_microphone_speaks_through_the_command(env: Env, site: str, voice: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from broadcaster.cli import main

    env.start_worker()
    env.start_agent("loa-01")
    ready(env, "loa-01")
    assert main(["live", "speak", "--api", f"{site}/api/v1", "--token", "wrong", "--input", str(voice)]) == 1
    assert "refused the session (401)" in capsys.readouterr().err
    code = main(["live", "speak", "--api", f"{site}/api/v1", "--token", env.token, "--targets", "loa-01",
                 "--priority", "priority", "--title", "Trưởng thôn nói", "--input", str(voice)])
    assert code == 0
    assert "ended: stopped" in capsys.readouterr().err
    broadcast_id = env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()[0]["id"]
    wait_until(lambda: states(env, broadcast_id)["loa-01"] == "played", 30)
    assert likeness(live_file(env, "loa-01", broadcast_id), voice)[0] > 0.8


def test_a_fleet_of_simulated_receivers_hears_the_whole_session() -> None:
    """bench/live.py's run, small: the web and worker as processes, 20 simulated receivers checking every
    signature and holding the frames in the receiver's own jitter buffer, and one real receiver."""
    from bench import live as live_bench

    result = live_bench.run(receivers=20, seconds=8)
    assert result["refused"] == 0
    assert result["speech_s"] >= 7.5
    assert result["frames_missing_per_receiver"] <= 0.05 * result["speech_s"] * 50, "each heard the whole of it"



def squat(host: str, port: int) -> socket.socket:
    """Another program listening on the live port."""
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind((host, port))
    squatter.listen()
    return squatter


def test_a_taken_live_port_is_tried_again_and_stopping_never_fails(env: Env, voice: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A leader whose live port is held by another program (a restart while the old socket lingers) says so and
    keeps trying: once the port is free, a microphone speaks. Stepping down while the port is taken is clean."""
    host, port = env.config.live.host, env.config.live.port
    squatter = squat(host, port)
    worker = env.start_worker()
    env.start_agent("loa-01")
    ready(env, "loa-01")
    wait_until(lambda: "cannot listen" in caplog.text, 10)
    status, body = go_live(env, targets=["loa-01"])
    assert status == 201
    squatter.close()
    wait_until(lambda: worker.live._server is not None, 15)
    speak(body, voice, limit_s=2)
    wait_until(lambda: states(env, body["live"]["broadcast_id"])["loa-01"] == "played", 30)

    worker.live.stop()  # a step down, then leading again while the port is taken
    squatter = squat(host, port)
    worker.live.start()
    worker.live.stop()  # once raised "Event loop is closed" and left the worker half stopped
    squatter.close()
