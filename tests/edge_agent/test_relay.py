"""Relaying a live stream: a local HTTP server streams MP3 in real time, like an Icecast mount."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from broadcaster.ops.broker import free_port
from edge_agent.sinks import AlsaSink, AudioSink, FileSink
from tests.support.audio import wav_stats
from tests.support.env import Env, wait_until

BYTES_PER_S = 4000  # MP3 at 32 kbit/s


def mp3(tmp: Path, name: str, source: str) -> bytes:
    out = tmp / f"{name}.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", source, "-ac", "1", "-ar", "22050",
                    "-c:a", "libmp3lame", "-b:a", "32k", str(out)], check=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("station")
    streams = {
        "/live.mp3": mp3(tmp, "live", "sine=frequency=440:duration=40"),
        "/dead.mp3": mp3(tmp, "dead", "sine=frequency=440:duration=1,apad=whole_dur=40"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = streams.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.end_headers()
            try:  # as a live mount does: in real time, never faster
                for start in range(0, len(body), BYTES_PER_S // 5):
                    self.wfile.write(body[start:start + BYTES_PER_S // 5])
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["file", "alsa"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> AudioSink:
    return FileSink(tmp_path / "played") if request.param == "file" else AlsaSink("null")


def test_a_stream_plays_for_its_window(sink: AudioSink, station: str, tmp_path: Path) -> None:
    result = sink.relay(f"{station}/live.mp3", 3, "r1", dead_air_s=2)
    assert result.error is None and not result.stopped and result.dead_air_s == []
    assert 2.5 < result.heard_s < 8
    if isinstance(sink, FileSink):
        (wav,) = (tmp_path / "played").glob("*-r1.wav")
        duration, level = wav_stats(wav)
        assert duration == pytest.approx(3, abs=0.2) and level > -30


def test_dead_air_is_noticed(sink: AudioSink, station: str) -> None:
    result = sink.relay(f"{station}/dead.mp3", 5, "r2", dead_air_s=2)
    assert result.dead_air_s and sum(result.dead_air_s) > 2


def test_a_stream_that_cannot_be_opened_says_why(sink: AudioSink, station: str) -> None:
    result = sink.relay(f"{station}/nothing-here.mp3", 5, "r3")
    assert result.error and "404" in result.error and result.heard_s < 3


def test_a_relay_can_be_cut_off(station: str, tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    threading.Timer(1.0, sink.stop).start()
    result = sink.relay(f"{station}/live.mp3", 20, "r4")
    assert result.stopped and result.heard_s < 5


def test_a_relay_broadcast_plays_the_stream_or_its_fallback(env: Env, station: str) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    env.start_agent("loa-02")
    live = env.broadcast("Chương trình tiếp sóng đài tỉnh.", targets=["loa-01"],
                         relay={"url": f"{station}/live.mp3", "window_s": 10})
    broken = env.broadcast("Tiếp sóng gián đoạn, xin quý vị thông cảm.", targets=["loa-02"],
                           relay={"url": f"{station}/gone.mp3", "window_s": 10})
    assert env.status(live["id"])["relay"] == {"url": f"{station}/live.mp3", "window_s": 10}
    wait_until(lambda: env.device_states(live["id"]) == {"loa-01": "played"}, timeout=60)
    wait_until(lambda: env.device_states(broken["id"]) == {"loa-02": "played"}, timeout=60)
    (relayed,) = env.played_files("loa-01")
    assert relayed.name.endswith("-relay.wav") and wav_stats(relayed)[0] == pytest.approx(10, abs=0.5)
    (fallback,) = env.played_files("loa-02")
    assert fallback.name.endswith("-fallback.wav")
    devices = env.status(broken["id"])["devices"]
    assert isinstance(devices, list) and "the fallback item played instead" in devices[0]["error"]


def test_an_emergency_pauses_a_relay_which_then_takes_up_the_rest_of_its_window(env: Env, station: str) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    relay = env.broadcast("Tiếp sóng đài tỉnh.", targets=["loa-01"],
                          relay={"url": f"{station}/live.mp3", "window_s": 20})
    wait_until(lambda: env.device_states(relay["id"]) == {"loa-01": "playing"}, timeout=60)
    time.sleep(3)
    emergency = env.broadcast("Khẩn cấp: bão số 9 đổ bộ.", targets=["loa-01"], priority="emergency")
    wait_until(lambda: env.device_states(emergency["id"]) == {"loa-01": "played"}, timeout=60)
    assert env.device_states(relay["id"]) == {"loa-01": "playing"}, "the relay is paused, not cut off"
    wait_until(lambda: env.device_states(relay["id"]) == {"loa-01": "played"}, timeout=40)

    files = env.played_files("loa-01")
    assert [f.name.split("-", 1)[1] for f in files] == [
        f"b{relay['id']}-relay.wav", f"b{emergency['id']}.wav", f"b{relay['id']}-relay.wav"]
    before, urgent, after = (wav_stats(f)[0] for f in files)
    assert before >= 2.5 and after >= 3, "the station was heard before and after the emergency"
    assert before + urgent + after == pytest.approx(20, abs=3), "the relay kept to its window, not 20 s more"
    device = env.status(relay["id"])["devices"][0]  # type: ignore[index]
    assert device["error"] is None


def test_bad_relays_are_refused(env: Env) -> None:
    bulletin = env.client.post("/api/v1/bulletins", json={"title": "x", "text": "Dự phòng."}, headers=env.auth)
    bulletin_id = bulletin.get_json()["id"]
    env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth)
    for relay in ("http://x", {"url": "file:///etc/passwd", "window_s": 60}, {"url": "http://a b", "window_s": 60},
                  {"url": "https://radio.example/live", "window_s": 5}, {"url": "https://r.example/l"}):
        response = env.client.post("/api/v1/broadcasts", headers=env.auth,
                                   json={"bulletin_id": bulletin_id, "targets": ["all"], "relay": relay})
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_relay", relay


def test_a_live_session_pauses_a_relay_which_then_takes_up_its_window(env: Env, station: str,
                                                                      tmp_path: Path) -> None:
    from broadcaster.ops.microphone import Speaking, encoded

    voice = tmp_path / "voice.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(voice), "Bà con chú ý, chủ tịch xã nói trực tiếp."],
                   check=True)
    env.start_worker()
    agent = env.start_agent("loa-01")
    wait_until(lambda: agent.groups and agent.link.ready.is_set(), 30)
    relay = env.broadcast("Tiếp sóng đài tỉnh.", targets=["loa-01"],
                          relay={"url": f"{station}/live.mp3", "window_s": 20})
    wait_until(lambda: env.device_states(relay["id"]) == {"loa-01": "playing"}, timeout=60)
    time.sleep(3)
    body = env.client.post("/api/v1/live", json={"targets": ["loa-01"], "priority": "priority"},
                           headers=env.auth).get_json()
    speaking = Speaking(body["ws_url"], body["ticket"])
    speaking.open()
    speaking.send(encoded(str(voice)))
    live_id = body["live"]["broadcast_id"]
    wait_until(lambda: env.device_states(live_id) == {"loa-01": "played"}, timeout=30)
    assert env.device_states(relay["id"]) == {"loa-01": "playing"}, "the relay is paused, not cut off"
    wait_until(lambda: env.device_states(relay["id"]) == {"loa-01": "played"}, timeout=40)
    names = [f.name.split("-", 1)[1] for f in env.played_files("loa-01")]
    assert names == [f"b{relay['id']}-relay.wav", f"b{live_id}-live.wav", f"b{relay['id']}-relay.wav"], \
        "the station, the leader's voice, the station again"
