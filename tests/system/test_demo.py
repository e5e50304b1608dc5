"""The README's demo, as a user runs it: `broadcaster demo`, a script drives the API, Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from broadcaster.ops.broker import free_port
from tests.support.env import wait_until


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_demo_runs_the_whole_system_and_stops_cleanly(tmp_path: Path, broker: str) -> None:
    data_dir = tmp_path / "demo-data"
    port = free_port()
    demo, banner = start_demo(data_dir, port, broker, agents=2)
    try:
        creds_file = data_dir / "credentials.json"
        assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600, "credentials are readable by the owner only"
        creds = json.loads(creds_file.read_text())
        assert set(creds) == {"url", "username", "password", "token", "officers"}
        assert set(creds["officers"]) == {"bientap", "chutich", "vanhanh"} and "chutich (approver)" in banner
        leader = requests.Session()  # the commune leader can log in to approve
        page = leader.get(creds["url"] + "/login", timeout=5).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        answer = leader.post(creds["url"] + "/login", allow_redirects=False, timeout=5, data={
            "username": "chutich", "password": creds["officers"]["chutich"], "csrf_token": token.group(1)})
        assert answer.status_code == 302
        assert creds["password"] in banner and creds["url"] == f"http://127.0.0.1:{port}"
        assert len(creds["password"]) >= 12

        api = creds["url"] + "/api/v1"
        auth = {"Authorization": f"Bearer {creds['token']}"}
        wait_until(lambda: all(d["online"] for d in requests.get(f"{api}/devices", headers=auth, timeout=5).json()))
        devices = requests.get(f"{api}/devices", headers=auth, timeout=5).json()
        assert [d["id"] for d in devices] == ["loa-01", "loa-02"]
        assert len({d["village"] for d in devices}) == 2, "each agent has its own village"

        bulletin = requests.post(f"{api}/bulletins", headers=auth, timeout=5,
                                 json={"title": "Thử", "text": "Ủy ban nhân dân xã thông báo lịch họp dân."}).json()
        requests.post(f"{api}/bulletins/{bulletin['id']}/approve", headers=auth, timeout=5).raise_for_status()
        created = requests.post(f"{api}/broadcasts", headers=auth, timeout=5, json={
            "bulletin_id": bulletin["id"], "targets": ["all"], "priority": "normal", "play_at": None})
        assert created.status_code == 201

        def states() -> set[str]:
            body = requests.get(f"{api}/broadcasts/{created.json()['id']}", headers=auth, timeout=5).json()
            return {d["state"] for d in body["devices"]}

        wait_until(lambda: states() == {"played"}, timeout=60)
        for device_id in ("loa-01", "loa-02"):
            wavs = list((data_dir / "agents" / device_id / "played").glob("*.wav"))
            assert len(wavs) == 1 and wavs[0].stat().st_size > 50_000
        # Speaking live to the demo's receivers (the desk microphone's command, with a recorded voice).
        voice = tmp_path / "voice.wav"
        subprocess.run(["espeak-ng", "-v", "vi", "-w", str(voice), "Bà con chú ý, chủ tịch xã nói trực tiếp."],
                       check=True)
        spoken = subprocess.run([sys.executable, "-m", "broadcaster.cli", "live", "speak", "--api", api, "--token",
                                 creds["token"], "--input", str(voice)], capture_output=True, text=True, timeout=120)
        assert spoken.returncode == 0, spoken.stderr
        live = requests.get(f"{api}/broadcasts", headers=auth, timeout=5).json()[0]["id"]
        wait_until(lambda: {d["state"] for d in requests.get(f"{api}/live/{live}", headers=auth, timeout=5)
                            .json()["devices"]} == {"played"}, timeout=60)
        for device_id in ("loa-01", "loa-02"):
            heard = list((data_dir / "agents" / device_id / "played").glob(f"*-b{live}-live.wav"))
            assert len(heard) == 1 and heard[0].stat().st_size > 50_000, "every receiver played the voice"
        # The web page a person would open answers too.
        assert "Đăng nhập" in requests.get(creds["url"] + "/login", timeout=5).text
        # And the commune's public page the banner names, with what just aired, for anyone without an account.
        public = re.search(r"Public: +(\S+)", banner)
        assert public, banner
        assert "Ủy ban nhân dân xã thông báo lịch họp dân." in requests.get(public.group(1), timeout=5).text
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
        finally:
            if demo.stdout is not None:
                demo.stdout.close()
    assert demo.returncode == 0
    deadline = time.monotonic() + 5
    while processes_mentioning(str(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(str(data_dir)) == [], "every child process was stopped"
    assert os.path.exists(data_dir / "broadcaster.db")


def start_demo(data_dir: Path, port: int, broker: str, agents: int = 1) -> tuple[subprocess.Popen[str], str]:
    demo = subprocess.Popen(
        [sys.executable, "-m", "broadcaster.cli", "demo", "--data-dir", str(data_dir), "--port", str(port),
         "--agents", str(agents), "--broker", broker],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert demo.stdout is not None
    banner = ""
    while "Press Ctrl-C" not in banner:
        line = demo.stdout.readline()
        assert line, f"demo exited early:\n{banner}"
        banner += line
    return demo, banner


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_a_receiver_added_to_the_running_demo_joins_it_and_keeps_working_after_a_restart(
        tmp_path: Path, broker: str) -> None:
    """The README's steps: `broadcaster devices add` against the running demo, then run the receiver with the
    agent.toml it wrote. The demo's broker learns the new receiver without losing its own, and keeps its port
    when the demo restarts, so that agent.toml stays right."""
    data_dir, port = tmp_path / "demo-data", free_port()
    demo, _ = start_demo(data_dir, port, broker)
    receiver: subprocess.Popen[str] | None = None
    try:
        creds = json.loads((data_dir / "credentials.json").read_text())
        api, auth = creds["url"] + "/api/v1", {"Authorization": f"Bearer {creds['token']}"}
        out = tmp_path / "loa-moi"
        added = subprocess.run(
            [sys.executable, "-m", "broadcaster.cli", "devices", "add", "loa-moi", "--name", "Cụm loa Thôn Mới",
             "--village", "Thôn Mới", "--commune", "Xã Hòa Bình", "--config", str(data_dir / "server.toml"),
             "--out-dir", str(out)], capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr
        agent_toml = (out / "agent.toml").read_text()
        ports = json.loads((data_dir / "broker" / "ports.json").read_text())
        assert f"port = {ports['devices']}" in agent_toml and 'host = "127.0.0.1"' in agent_toml
        environment = {**os.environ, "EDGE_AGENT_CACHE_DIR": str(out / "cache"), "EDGE_AGENT_AUDIO__SINK": "file",
                       "EDGE_AGENT_AUDIO__PLAYED_DIR": str(out / "played")}
        receiver = subprocess.Popen([sys.executable, "-m", "edge_agent.cli", "--config", str(out / "agent.toml")],
                                    cwd=out, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                    text=True)

        def online() -> set[str]:
            devices = requests.get(f"{api}/devices", headers=auth, timeout=5).json()
            return {d["id"] for d in devices if d["online"]}

        def broadcast(targets: list[str]) -> int:
            bulletin = requests.post(f"{api}/bulletins", headers=auth, timeout=5,
                                     json={"title": "Thử", "text": "Loa mới của thôn đã nối mạng."}).json()
            requests.post(f"{api}/bulletins/{bulletin['id']}/approve", headers=auth, timeout=5).raise_for_status()
            created = requests.post(f"{api}/broadcasts", headers=auth, timeout=5, json={
                "bulletin_id": bulletin["id"], "targets": targets, "priority": "normal", "play_at": None})
            assert created.status_code == 201, created.text
            return int(created.json()["id"])

        def played(broadcast_id: int) -> set[str]:
            body = requests.get(f"{api}/broadcasts/{broadcast_id}", headers=auth, timeout=5).json()
            return {d["device_id"] for d in body["devices"] if d["state"] == "played"}

        wait_until(lambda: online() == {"loa-01", "loa-moi"}, timeout=60)
        first = broadcast(["all"])
        wait_until(lambda: played(first) == {"loa-01", "loa-moi"}, timeout=60)
        assert len(list((out / "played").glob("*.wav"))) == 1

        stop(demo)
        demo, _ = start_demo(data_dir, port, broker)
        assert json.loads((data_dir / "broker" / "ports.json").read_text()) == ports, "the same broker ports"
        wait_until(lambda: online() == {"loa-01", "loa-moi"}, timeout=90)
        second = broadcast(["loa-moi"])
        wait_until(lambda: played(second) == {"loa-moi"}, timeout=60)
        assert len(list((out / "played").glob("*.wav"))) == 2
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(timeout=30)
        stop(demo)


def test_the_demo_has_its_commune_on_the_map(tmp_path: Path) -> None:
    """Prepared twice (as a restarted demo is): the commune's outline and every cluster placed inside it, and a
    cluster an operator moved stays where they put it."""
    from broadcaster.database import Database
    from broadcaster.db import Device, User
    from broadcaster.domain.fleetmap import map_data
    from broadcaster.ops.demo import prepare

    prepare(tmp_path, free_port(), 4, one_port=True)
    db = Database(f"sqlite:///{tmp_path / 'broadcaster.db'}")
    with db.session() as session:
        data = map_data(session, session.query(User).filter_by(username="admin").one())
        assert len(data["outlines"]) == 1 and len(data["clusters"]) == 4
        (ring,) = data["outlines"][0]["geometry"]["coordinates"]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        for _, _, lat, lon, _ in data["clusters"]:
            assert min(lats) < lat < max(lats) and min(lons) < lon < max(lons)
        moved = session.query(Device).order_by(Device.id).first()
        assert moved is not None
        moved.lat, moved.lon = 21.5, 105.5
    db.engine.dispose()
    prepare(tmp_path, free_port(), 4, one_port=True)
    with db.session() as session:
        assert (moved.id, 21.5, 105.5) in [(d.id, d.lat, d.lon) for d in session.query(Device)]
    db.engine.dispose()
