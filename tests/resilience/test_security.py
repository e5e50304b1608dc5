"""What an attacker tries: default passwords, stolen hashes, forms posted from another site, password spraying,
secrets in logs, a device speaking for another or forging reports, forged and replayed commands."""

from __future__ import annotations

import logging
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.cli import main
from broadcaster.config import WebSettings
from broadcaster.database import Database
from broadcaster.db import ApiToken, Bulletin, DeviceCredential, RefusalRecord, User
from broadcaster.ops.credentials import set_password
from broadcaster.web import create_app
from edge_agent.protocol import Command, Playback, Topics
from edge_agent.protocol.signing import Signer
from tests.support import ROOT
from tests.support.env import Env, wait_until
from tests.support.faults import Tally
from tests.support.web import csrf, login

COMMON_PASSWORDS = ["admin", "123456", "password", "12345678", "admin123", "loaxa", "root", ""]


def test_no_default_credentials_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for example in (p for p in (ROOT / "config").rglob("*") if p.is_file()):
        text = example.read_text()
        assert not re.search(r'^\s*password\s*=\s*"[^"]+"', text, re.M), f"{example.name} holds a password"
    mosquitto = (ROOT / "config" / "mosquitto.example.conf").read_text()
    assert re.search(r"^allow_anonymous false", mosquitto, re.M)

    # A new deployment: init-db makes no account; the first admin gets a generated password.
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["init-db", "--config", str(config)]) == 0
    db = Database(f"sqlite:///{tmp_path / 'broadcaster.db'}")
    with db.session() as session:
        assert session.query(User).count() == 0
    assert main(["users", "add", "admin", "--config", str(config)]) == 0
    password = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert len(password) >= 16
    assert main(["users", "add", "admin2", "--config", str(config)]) == 0
    assert capsys.readouterr().out.rsplit(": ", 1)[1].strip() != password, "every password is drawn anew"

    from broadcaster.config import ServerConfig
    client = create_app(ServerConfig(data_dir=str(tmp_path)), db, {"TESTING": True}).test_client()
    for guess in COMMON_PASSWORDS:
        page = client.get("/login").get_data(as_text=True)
        answer = client.post("/login", data={"username": "admin", "password": guess, "csrf_token": csrf(page)})
        assert answer.status_code != 302, f"'admin' / {guess!r} logged in"
    db.engine.dispose()


def test_passwords_tokens_and_device_secrets_are_stored_hashed(env: Env) -> None:
    env.user("bien-tap", ("editor",))
    with env.db.session() as session:
        device_password = set_password(session, "loa-01")
    with env.db.session() as session:
        for user in session.query(User):
            assert user.password_hash.startswith("scrypt:"), "a memory-hard KDF (scrypt)"
            assert "password" not in user.password_hash and "correct horse" not in user.password_hash
        assert all(len(t.token_hash) == 64 and env.token != t.token_hash for t in session.query(ApiToken))
        stored = session.get(DeviceCredential, "loa-01")
        assert stored is not None and stored.mqtt_hash.startswith("$7$"), "PBKDF2-SHA512, as mosquitto checks"
        assert device_password not in stored.mqtt_hash


def ui_posts(env: Env) -> list[str]:
    """Every page address that takes a POST, with ids of things that exist."""
    ids = {"bulletin_id": "1", "broadcast_id": "1", "alarm_id": "1", "entry_id": "1", "device_id": "loa-01",
           "alert_id": "1"}
    urls = []
    for rule in env.app.url_map.iter_rules():
        if rule.endpoint.startswith("ui.") and "POST" in (rule.methods or ()):
            urls.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], rule.rule))
    return sorted(urls)


def test_every_form_refuses_a_post_without_its_csrf_token(env: Env) -> None:
    env.broadcast("Có một bản tin.")
    assert login(env) == "/"
    urls = ui_posts(env)
    assert len(urls) >= 15
    with env.db.session() as session:
        before = (session.query(Bulletin).count(), session.query(User).count())
    for url in urls:
        for token in (None, "forged-" + secrets.token_hex(8)):
            form = {"title": "Giả mạo", "text": "Gửi từ trang khác.", "username": "ke-gian", "password": "x" * 12,
                    "name": "Giả", "kind": "village", "word": "GM", "reading": "giả mạo", "volume": "0"}
            if token:
                form["csrf_token"] = token
            answer = env.client.post(url, data=form)
            assert answer.status_code == 400, f"{url} without a valid CSRF token: {answer.status_code}"
    with env.db.session() as session:
        assert (session.query(Bulletin).count(), session.query(User).count()) == before, "nothing was changed"
    assert env.client.get("/dashboard").status_code == 200, "and the officer is still logged in"


def set_cookie(env: Env) -> str:
    page = env.client.get("/login").get_data(as_text=True)
    answer = env.client.post("/login", data={"username": "admin", "password": "correct horse battery",
                                             "csrf_token": csrf(page)})
    assert answer.status_code == 302
    return ";".join(answer.headers.getlist("Set-Cookie"))


def test_the_session_cookie_is_httponly_samesite_and_secure_behind_https(env: Env) -> None:
    cookie = set_cookie(env)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    env.config.web = WebSettings(secure_cookies=True)  # as config/server.example.toml has it
    env.app = create_app(env.config, env.db, {"TESTING": True})
    env.client = env.app.test_client()
    assert "Secure" in set_cookie(env)


def test_password_spraying_from_one_address_is_stopped(env: Env, tally: Tally) -> None:
    names = [f"can-bo-{n}" for n in range(25)]
    for name in names:
        env.user(name, ("editor",))
    attacker = env.app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    statuses = []
    for name in names:  # one guess per account: no account reaches its own lockout
        page = attacker.get("/login").get_data(as_text=True)
        statuses.append(attacker.post("/login", data={"username": name, "password": "Mat-khau-2026",
                                                      "csrf_token": csrf(page)}).status_code)
    page = attacker.get("/login").get_data(as_text=True)
    right = attacker.post("/login", data={"username": "admin", "password": "correct horse battery",
                                          "csrf_token": csrf(page)})
    tally(tried=f"{len(names)} accounts x 1 guess from one address, then the right password", lost=0,
          server_errors=sum(s >= 500 for s in statuses))
    assert statuses.count(429) >= 5 and 429 not in statuses[:20], statuses
    assert right.status_code == 429, "even the right password waits: the address is throttled"
    assert "too many failed logins" in right.get_data(as_text=True) or "thử lại" in right.get_data(as_text=True)
    assert login(env) == "/", "an officer at another address logs in as usual"


def test_secrets_never_reach_the_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env.start_worker()
    agent = env.spawn_agent("loa-01")
    broadcast = env.broadcast("Kiểm tra nhật ký.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    assert login(env) == "/"
    login(env, password="a wrong password 123")
    agent.terminate()
    agent.wait()
    logs = caplog.text + (env.root / "agents" / "loa-01.log").read_text()
    signing_key = Path(env.config.signing.key_file or "").read_text().strip()
    secrets_used = {"admin password": "correct horse battery", "wrong password": "a wrong password 123",
                    "API token": env.token, "worker's MQTT password": env.config.mqtt.password or "",
                    "device MQTT password": env.broker.users["loa-01"], "signing key": signing_key}
    for line in ("worker started", "playing broadcast", "login"):  # the logs cover the whole path
        assert line in logs, line
    leaked = [name for name, value in secrets_used.items() if value and value in logs]
    assert not leaked, f"in the logs: {leaked}"


def device_client(env: Env, device_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id)
    client.username_pw_set(device_id, env.broker.users[device_id])
    client.connect("127.0.0.1", env.broker.port)
    client.loop_start()
    return client


def test_a_device_can_neither_speak_for_another_nor_forge_reports(env: Env, tally: Tally) -> None:
    env.start_worker()
    target = env.broadcast("Chỉ gửi cho cụm loa 2.", targets=["loa-02"])
    wait_until(lambda: env.status(target["id"])["state"] == "sent", timeout=60)
    topics = Topics(env.config.mqtt.topic_root)
    now = datetime.now(UTC)
    forged = Playback(int(target["id"]), "played", now, now - timedelta(seconds=5), now).to_bytes()  # type: ignore[call-overload]
    rogue = device_client(env, "loa-01")
    attempts = [
        (topics.event("loa-02", "playback"), forged),  # as loa-02: the broker's ACL drops it
        (topics.event("loa-01", "playback"), forged),  # as itself, about a broadcast it was never sent
        (topics.status("loa-02"), b'{"v":1,"type":"status","state":"online","ts":null,"version":"x"}'),
        (topics.schedule("loa-02"), b"{}"),  # and it may not write another device's schedule either
    ]
    for topic, payload in attempts:
        rogue.publish(topic, payload, qos=1).wait_for_publish(5)
    time.sleep(3)
    rogue.loop_stop()
    rogue.disconnect()
    states = env.device_states(target["id"])
    devices = {d["id"]: d for d in env.client.get("/api/v1/devices", headers=env.auth).get_json()}
    accepted = int(states != {"loa-02": "pending"}) + int(devices["loa-02"]["online"])
    tally(tried=f"{len(attempts)} forged reports and statuses from one device's own credentials", lost=0,
          accepted_forgeries=accepted)
    assert states == {"loa-02": "pending"}, "no forged report was taken"
    assert devices["loa-02"]["online"] is False


def settings_command(env: Env, volume: int, signer: Signer | None = None) -> bytes:
    topic = Topics(env.config.mqtt.topic_root).command("loa-03")
    message = Command("settings", datetime.now(UTC), volume=volume, enabled=True).to_dict()
    return (signer or env.config.signer()).sign(topic, message, timedelta(hours=1))


def test_forged_unsigned_and_replayed_commands_are_refused(env: Env, tally: Tally) -> None:
    from tests.support.env import server_client

    env.start_worker()
    agent = env.start_agent("loa-03")
    wait_until(lambda: agent.link.ready.is_set(), timeout=30)
    topic = Topics(env.config.mqtt.topic_root).command("loa-03")
    old = settings_command(env, 20)  # genuine, signed first
    new = settings_command(env, 70)
    net = server_client(env, "attacker")
    sends = [(new, 70), (settings_command(env, 5, Signer.generate()), 70),  # forged: another key
             (b'{"v":1,"type":"command","action":"settings","issued_at":"2026-12-01T00:00:00Z","volume":1}', 70),
             (old, 70)]  # replayed: older than the one applied
    for payload, expected in sends:
        net.publish(topic, payload, qos=1).wait_for_publish(5)
        time.sleep(1)
        assert agent.sink.volume == expected, f"volume {agent.sink.volume} after {payload[:60]!r}"
    net.loop_stop()
    net.disconnect()
    def reasons() -> set[str]:
        with env.db.session() as session:
            return {r.reason for r in session.query(RefusalRecord).filter_by(device_id="loa-03")}

    wait_until(lambda: reasons() >= {"unknown_key", "unsigned", "replayed"}, timeout=20)
    tally(tried="a genuine command, then one signed with another key, one unsigned, and the older genuine one "
                "replayed", accepted_forgeries=int(agent.sink.volume != 70), lost=0)
