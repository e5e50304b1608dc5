"""The conformance kit: a receiver under test (ours or anyone's, in any language) against a real server and broker.

    python -m broadcaster.ops.conformance --receiver 'python -m edge_agent.cli --config {config}'

The kit sets up, in a work folder of its own, a mosquitto with one device (``kit-01``), a SQLite database, a
signing key, the server's worker and its web API; starts the receiver command; and then drives the public API
as an operator would, watching what the receiver reports over MQTT and what the server stores. It prints one
``PASS <check>`` or ``FAIL <check>: <expected, seen>`` line per check, then ``N passed, M failed``; the exit
code is 0 only when every check passed. docs/conformance.md is the guide for third parties.

The receiver command is a template, split like a shell would (``shlex``), each argument then filled in with
``str.format``: {host} {port} {device_id} {password} {password_file} {root} {trusted_key} {config} {workdir}
(see PLACEHOLDERS). ``{config}`` is an agent.toml in our edge agent's format, for convenience.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import logging
import os
import queue
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.config import MqttSettings, ServerConfig, SigningSettings, WebSettings
from broadcaster.db import Database, RefusalRecord
from broadcaster.delivery.worker import Worker
from broadcaster.domain.areas import groups_of
from broadcaster.domain.lifecycle import NO_REPORT
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_password, new_token
from broadcaster.ops.broker import Mosquitto
from broadcaster.web import create_app
from edge_agent.config import AgentConfig, AudioSettings
from edge_agent.config import MqttSettings as AgentMqtt
from edge_agent.link import Link
from edge_agent.protocol import (
    Delivery,
    Heartbeat,
    Manifest,
    Playback,
    ProtocolError,
    Refused,
    Schedule,
    ScheduleEntry,
    Status,
    Topics,
)
from edge_agent.protocol.fields import format_time, load_object, utcnow
from edge_agent.protocol.signing import SignatureError, Signer, Verifier, canonical_json, key_id
from edge_agent.settings import dump_toml, write_secret

logger = logging.getLogger("broadcaster.ops.conformance")
T = TypeVar("T")

HOST = "127.0.0.1"
ROOT = "loaxa"
DEVICE = "kit-01"
OTHER_DEVICE = "kit-02"
"""A device id that is not the receiver's: forged schedules name it or its topic."""
SERVER_USER = "broadcaster"
PLACEHOLDERS = ("host", "port", "device_id", "password", "password_file", "root", "trusted_key", "config",
                "workdir")

SHORT_TEXT = "Loa xã kiểm tra hệ thống phát thanh."
LONG_TEXT = ("Thông báo của ủy ban xã về lịch thu gom rác thải trong tháng. Xe thu gom sẽ đi qua các thôn vào sáng "
             "thứ hai, thứ tư và thứ sáu hằng tuần. Bà con để rác đã phân loại trước cổng nhà trước bảy giờ sáng, "
             "không đổ rác xuống kênh mương và ven đường. Mọi thắc mắc xin liên hệ trưởng thôn.")
EMERGENCY_TEXT = "Khẩn cấp: nước lũ đang lên, đề nghị bà con di chuyển ngay lên chỗ cao."

POLL_S = 0.1
DURATION_TOLERANCE_S = 1.5
"""How far the reported play time (finished_at - started_at) may be from the manifest's duration_s."""
ON_TIME_S = 1.5
"""How late after its play_at a scheduled item may start."""
PRIORITY_LEAD_S = 8.0
"""How far ahead the priority-order check schedules its two items (their audio is cached by then)."""
FINAL = ("played", "interrupted", "failed", "missed", "cancelled")
"""Playback states after which a receiver reports nothing more on an item."""
FORGED_BASE_ID = 990_000
"""Broadcast ids of the forged entries (the server never numbers that high in a kit run)."""
FORGERIES = (
    ("unknown_key", "refuses a schedule signed by a key it does not trust (unknown_key)"),
    ("bad_signature", "refuses a schedule signed for another device's topic (bad_signature)"),
    ("expired", "refuses an expired schedule (expired)"),
    ("replayed", "refuses an old schedule replayed (replayed)"),
    ("unsigned", "refuses an unsigned schedule (unsigned)"),
    ("wrong_device", "refuses a schedule addressed to another device (wrong_device)"),
)
"""One forged schedule per refusal reason: a receiver reports a topic and reason at most once a minute, so
each case must have a reason of its own to be seen."""


class CheckFailed(Exception):
    """A check did not pass; the text says what was expected and what was seen."""


@dataclass
class Seen:
    """One message the kit's observer received from the broker."""

    at: float
    """time.monotonic() on arrival."""
    topic: str
    payload: bytes


def sign_as(key: Ed25519PrivateKey, topic: str, message: dict[str, Any], seq: int, expires: datetime) -> bytes:
    """``message`` signed for ``topic`` by ``key`` as docs/protocol.md says, with a ``seq`` and ``exp`` of the
    caller's choice (a Signer picks a fresh, growing seq itself, so it cannot forge a replay)."""
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data = {**message, "sig": {"kid": key_id(public), "seq": seq, "exp": format_time(expires)}}
    signature = key.sign(topic.encode("utf-8") + b"\n" + canonical_json(data))
    data["sig"]["value"] = base64.b64encode(signature).decode("ascii")
    return canonical_json(data)


def now_seq() -> int:
    """A sequence number as the server makes them: microseconds since the epoch."""
    return time.time_ns() // 1000


def at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def describe(reports: list[Delivery | Playback]) -> str:
    return ", ".join(f"{type(r).__name__.lower()} {r.state}" for r in reports) or "no report"


class Kit:
    """The server, the broker, the receiver under test, and the checks run against it, in order."""

    def __init__(self, template: list[str], workdir: Path, step_timeout: float) -> None:
        self.template = template
        self.workdir = workdir
        self.step_timeout = step_timeout
        self.topics = Topics(ROOT)
        self.log_path = workdir / "receiver.log"
        self.broker: Mosquitto | None = None
        self.db: Database | None = None
        self.worker: Worker | None = None
        self.observer: Link | None = None
        self.receiver: subprocess.Popen[bytes] | None = None
        self.seen: list[Seen] = []
        self._seen_lock = threading.Lock()
        self.fatal: str | None = None
        """Set when going on is pointless (the receiver never came online, or exited): later checks fail at
        once with this."""
        self.stopping = False
        """The kit stops the receiver on purpose (the last check): its exit is no failure then."""
        self.passed = self.failed = 0
        self.short_bulletin: int | None = None
        """The short bulletin most checks broadcast: rendered once, its audio cached on the receiver."""
        self.short_asset: str | None = None
        self.first: int | None = None
        """The first broadcast (check_plays), whose timing check_duration reads."""
        self.forged: dict[int, str] = {}
        """Forged broadcast id -> the refusal reason its schedule should get."""
        self.forged_at = 0.0
        self.replay_seq = 0

    # setting up ----------------------------------------------------------------------------------

    def setup(self) -> None:
        """Broker, database, key, server config, an admin, a commune with one village and the device, the
        worker and the API client; then the observer (the server's user, watching the device's topics) and
        the receiver itself."""
        passwords = {SERVER_USER: secrets.token_urlsafe(24), DEVICE: secrets.token_urlsafe(24)}
        self.broker = Mosquitto(self.workdir / "broker", passwords, root=ROOT, server_user=SERVER_USER)
        self.broker.start()
        self.key = Ed25519PrivateKey.generate()
        signer = Signer(self.key)
        signer.save(self.workdir / "signing.key")
        self.public = signer.public_text
        self.stranger = Ed25519PrivateKey.generate()
        self.config = ServerConfig(
            data_dir=str(self.workdir / "server"),
            mqtt=MqttSettings(host=HOST, port=self.broker.server_port, username=SERVER_USER,
                              password=passwords[SERVER_USER], topic_root=ROOT, client_id="conformance-worker",
                              device_host=HOST, device_port=self.broker.port),
            web=WebSettings(),
            signing=SigningSettings(key_file=str(self.workdir / "signing.key")),
        ).check()
        self.db = Database(self.config.db_url)
        self.db.create_all()
        self.token = new_token()
        with self.db.session() as session:
            ensure_user(session, "kit-admin", new_password(), self.token)
            commune = ensure_area(session, "Xã Kiểm thử", "commune")
            ensure_airtime(session, commune, "00:00", "24:00")  # the kit runs at any hour
            village = ensure_area(session, "Thôn Kiểm thử", "village", commune)
            ensure_device(session, DEVICE, "Cụm loa kiểm thử", village)
            self.groups = groups_of(session, [DEVICE])[DEVICE]
        self.client = create_app(self.config, self.db).test_client()
        self.observer = Link("conformance-observer", HOST, self.broker.server_port, SERVER_USER,
                             passwords[SERVER_USER], self._observe)
        self.observer.subscribe(f"{ROOT}/dev/{DEVICE}/#")
        self.observer.subscribe(f"{ROOT}/blob/+/manifest")
        self.observer.start()
        if not self.observer.ready.wait(10):
            raise RuntimeError("the kit's own MQTT client could not connect to the broker")
        self.worker = Worker(self.config, self.db)
        self.worker.start()
        self.values = self._placeholders(passwords[DEVICE])
        self.start_receiver()

    def _placeholders(self, password: str) -> dict[str, str]:
        """What the receiver command's placeholders stand for; writes the password file and agent.toml."""
        assert self.broker is not None
        folder = self.workdir / "receiver"
        folder.mkdir(parents=True, exist_ok=True)
        password_file = folder / "password"
        write_secret(password_file, password + "\n")
        agent = AgentConfig(
            device_id=DEVICE, cache_dir=str(folder / "cache"), heartbeat_s=2.0, retry_s=1.0,
            trusted_keys=[self.public],
            mqtt=AgentMqtt(host=HOST, port=self.broker.port, password_file=str(password_file), topic_root=ROOT),
            audio=AudioSettings(sink="file", played_dir=str(folder / "played")),
        ).check()
        config = folder / "agent.toml"
        config.write_text(dump_toml(asdict(agent)), encoding="utf-8")
        return {"host": HOST, "port": str(self.broker.port), "device_id": DEVICE, "password": password,
                "password_file": str(password_file), "root": ROOT, "trusted_key": self.public,
                "config": str(config), "workdir": str(self.workdir)}

    def start_receiver(self) -> None:
        """The receiver command, in a process group of its own (so Ctrl-C reaches the kit alone, and stopping
        it stops whatever it started), its output in receiver.log."""
        command = [part.format(**self.values) for part in self.template]
        with self.log_path.open("ab") as log:
            try:
                self.receiver = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True,
                                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})
            except OSError as exc:
                self.fatal = f"the receiver command could not be started: {exc}"

    def stop_receiver(self) -> int | None:
        """SIGTERM to the receiver's process group, SIGKILL after 10 s; its exit code."""
        process = self.receiver
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def close(self) -> None:
        """Stop everything this kit started, whatever state it is in."""
        self.stopping = True
        steps: list[tuple[str, Callable[[], object]]] = [("receiver", self.stop_receiver)]
        if self.observer is not None:
            steps.append(("observer", self.observer.stop))
        if self.worker is not None:
            steps.append(("worker", self.worker.stop))
        if self.broker is not None:
            steps.append(("broker", self.broker.stop))
        if self.db is not None:
            steps.append(("database", self.db.engine.dispose))
        for name, step in steps:
            try:
                step()
            except Exception:
                logger.exception("could not stop the %s", name)

    # watching ------------------------------------------------------------------------------------

    def _observe(self, topic: str, payload: bytes) -> None:
        with self._seen_lock:
            self.seen.append(Seen(time.monotonic(), topic, payload))

    def messages(self, suffix: str, since: float = 0.0) -> list[Seen]:
        """What the observer received on the device's topic ``<root>/dev/kit-01/<suffix>``."""
        topic = f"{ROOT}/dev/{DEVICE}/{suffix}"
        with self._seen_lock:
            return [s for s in self.seen if s.topic == topic and s.at >= since]

    def reports(self, broadcast_id: int) -> list[Delivery | Playback]:
        """The receiver's valid delivery and playback reports on one broadcast, in the order they arrived."""
        found: list[Delivery | Playback] = []
        with self._seen_lock:
            seen = list(self.seen)
        for item in seen:
            kind: type[Delivery] | type[Playback]
            if item.topic == self.topics.event(DEVICE, "delivery"):
                kind = Delivery
            elif item.topic == self.topics.event(DEVICE, "playback"):
                kind = Playback
            else:
                continue
            try:
                report = kind.from_bytes(item.payload)
            except ProtocolError:
                continue
            if report.broadcast_id == broadcast_id:
                found.append(report)
        return found

    def seen_reports(self, broadcast_id: int) -> str:
        return describe(self.reports(broadcast_id))

    def final_report(self, broadcast_id: int, timeout: float | None = None) -> Playback:
        """Wait for the receiver's final playback report on a broadcast (played, interrupted, failed...)."""

        def probe() -> Playback | None:
            return next((r for r in self.reports(broadcast_id) if isinstance(r, Playback) and r.state in FINAL), None)

        return self.until(f"a final playback report on broadcast {broadcast_id}", probe,
                          partial(self.seen_reports, broadcast_id), timeout)

    def playback(self, broadcast_id: int, state: str) -> Playback | None:
        return next((r for r in self.reports(broadcast_id) if isinstance(r, Playback) and r.state == state), None)

    def heartbeats(self, since: float = 0.0) -> list[Heartbeat]:
        beats = []
        for item in self.messages("hb", since):
            try:
                beats.append(Heartbeat.from_bytes(item.payload))
            except ProtocolError:
                continue
        return beats

    def duration_of(self, asset: str) -> float | None:
        """``duration_s`` of the asset's manifest, as the server published it."""
        with self._seen_lock:
            payloads = [s.payload for s in self.seen if s.topic == self.topics.manifest(asset)]
        for payload in reversed(payloads):
            try:
                return Manifest.from_dict(load_object(payload)).duration_s
            except ProtocolError:
                continue
        return None

    def retained(self, topic: str, wait_s: float = 1.0) -> bytes | None:
        """The message the broker holds retained on ``topic`` now (None if none), read as the server's user
        with a fresh subscription, where MQTT marks it retained."""
        assert self.broker is not None
        got: queue.Queue[bytes] = queue.Queue()

        def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
            client.subscribe(topic, 1)

        def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            if message.retain and message.payload:
                got.put(bytes(message.payload))

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"conformance-probe-{secrets.token_hex(4)}",
                             protocol=mqtt.MQTTv311)
        client.username_pw_set(SERVER_USER, self.broker.users[SERVER_USER])
        client.on_connect = on_connect
        client.on_message = on_message
        client.connect(HOST, self.broker.server_port)
        client.loop_start()
        try:
            return got.get(timeout=wait_s)
        except queue.Empty:
            return None
        finally:
            client.disconnect()
            client.loop_stop()

    def until(self, what: str, probe: Callable[[], T | None], seen: Callable[[], object] | None = None,
              timeout: float | None = None, since: float | None = None) -> T:
        """Poll ``probe`` until it returns something (not None); CheckFailed after the step timeout (counted
        from ``since``, a time.monotonic(), when given), saying what was expected and (``seen``) what there was
        instead. Fails at once if the receiver exits."""
        limit = timeout if timeout is not None else self.step_timeout
        deadline = (since if since is not None else time.monotonic()) + limit
        while True:
            value = probe()
            if value is not None:
                return value
            self._check_alive()
            if time.monotonic() >= deadline:
                raise CheckFailed(f"expected {what} within {limit:g} s; saw {seen() if seen else 'nothing'}")
            time.sleep(POLL_S)

    def _check_alive(self) -> None:
        process = self.receiver
        if not self.stopping and process is not None and process.poll() is not None:
            self.fatal = f"skipped: the receiver exited with code {process.returncode}"
            raise CheckFailed(f"the receiver exited with code {process.returncode}")

    # the server's API ------------------------------------------------------------------------------

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = self.client.open(f"/api/v1{path}", method=method, json=body, headers=self.auth)
        if response.status_code != expect:
            raise CheckFailed(f"the server answered {method} /api/v1{path} with {response.status_code}: "
                              f"{response.get_data(as_text=True)[:300]}")
        return response.get_json()

    def bulletin(self, text: str, title: str) -> int:
        """An approved bulletin (POST /bulletins, then /bulletins/{id}/approve)."""
        bulletin_id = int(self.api("POST", "/bulletins", {"title": title, "text": text}, expect=201)["id"])
        self.api("POST", f"/bulletins/{bulletin_id}/approve")
        return bulletin_id

    def broadcast(self, bulletin_id: int, priority: str = "normal", play_at: datetime | None = None) -> int:
        """POST /broadcasts of the bulletin to the receiver; its broadcast id."""
        body = {"bulletin_id": bulletin_id, "targets": [DEVICE], "priority": priority,
                "play_at": format_time(play_at)}
        return int(self.api("POST", "/broadcasts", body, expect=201)["id"])

    def row(self, broadcast_id: int) -> dict[str, Any]:
        """The device's part of a broadcast as the server has it (GET /broadcasts/{id})."""
        devices = self.api("GET", f"/broadcasts/{broadcast_id}")["devices"]
        return next((d for d in devices if d["device_id"] == DEVICE), {"state": "absent"})

    def device(self) -> dict[str, Any]:
        """The device as GET /devices shows it."""
        return next((d for d in self.api("GET", "/devices") if d["id"] == DEVICE), {})

    def reached(self, broadcast_id: int, *states: str) -> dict[str, Any]:
        """Wait until the server stores one of ``states`` for the device's part of the broadcast; that part."""

        def probe() -> dict[str, Any] | None:
            row = self.row(broadcast_id)
            return row if row["state"] in states else None

        def seen() -> str:
            return f"state {self.row(broadcast_id)['state']!r}, reports: {self.seen_reports(broadcast_id)}"

        return self.until(f"broadcast {broadcast_id} {' or '.join(states)} on the server", probe, seen)

    def short_broadcast(self, priority: str = "normal", play_at: datetime | None = None) -> int:
        """A broadcast of the short bulletin (rendered once; its audio cached on the receiver after the
        first check)."""
        if self.short_bulletin is None:
            self.short_bulletin = self.bulletin(SHORT_TEXT, "Kiểm thử")
        return self.broadcast(self.short_bulletin, priority, play_at)

    # the checks ------------------------------------------------------------------------------------

    def checks(self) -> list[tuple[str, Callable[[], None]]]:
        """Every check, in the order it runs (later ones build on earlier ones)."""
        refusals: list[tuple[str, Callable[[], None]]] = [
            (name, partial(self.check_refusal, reason)) for reason, name in FORGERIES]
        return [
            ("comes online", self.check_online),
            ("sends heartbeats", self.check_heartbeats),
            ("plays a broadcast: delivered, playing, played", self.check_plays),
            ("plays for the audio's duration", self.check_duration),
            ("plays a priority item before a normal one due at the same time", self.check_priority_order),
            ("an emergency cuts off a normal broadcast", self.check_emergency),
            ("a broadcast stopped before it starts is cancelled", self.check_stop),
            ("applies a volume and reports it in its heartbeat", self.check_volume),
            *refusals,
            ("still plays a genuine broadcast after the forgeries", self.check_genuine_after_forgeries),
            ("acted on no forged schedule", self.check_no_forged_entry),
            ("goes offline when stopped", self.check_offline),
        ]

    def run(self) -> None:
        """Run every check, printing a line each and counting them in ``passed`` and ``failed``."""
        for name, check in self.checks():
            problem = self.fatal
            if problem is None:
                try:
                    check()
                except CheckFailed as exc:
                    problem = str(exc)
                except Exception as exc:
                    logger.exception("check %r broke", name)
                    problem = f"the kit itself failed ({exc.__class__.__name__}: {exc}); see server.log"
            if problem is None:
                self.passed += 1
                print(f"PASS {name}", flush=True)
            else:
                self.failed += 1
                print(f"FAIL {name}: {problem}", flush=True)

    def check_online(self) -> None:
        """The receiver connects and publishes a retained ``status`` ``online``, and the server takes the
        device for online."""
        try:
            self.until_status("online")
            self.until("the device online in GET /api/v1/devices",
                       lambda: True if self.device().get("online") is True else None, self.device)
        except CheckFailed:
            self.fatal = self.fatal or "skipped: the receiver never came online"
            raise

    def until_status(self, state: str) -> None:
        """Wait until the broker holds a valid ``status`` ``state`` retained on the device's status topic."""
        topic = self.topics.status(DEVICE)

        def probe() -> bool | None:
            payload = self.retained(topic, wait_s=0.5)
            try:
                return True if payload and Status.from_bytes(payload).state == state else None
            except ProtocolError:
                return None

        def seen() -> str:
            return (self.retained(topic, 0.5) or b"no retained status").decode("utf-8", "replace")

        self.until(f"a retained status {state!r} on {topic}", probe, seen)

    def check_heartbeats(self) -> None:
        """Two valid heartbeats reach the broker, the server stores the health they carry, and the receiver's
        clock agrees with the server's (a receiver off by more than 30 s plays at the wrong time)."""
        self.until("two valid heartbeats on dev/kit-01/hb",
                   lambda: True if len(self.heartbeats()) >= 2 else None,
                   lambda: f"{len(self.heartbeats())} valid of {len(self.messages('hb'))} received")
        self.until("health in GET /api/v1/devices", lambda: True if self.device().get("health") else None,
                   self.device)
        skew = self.device().get("clock_skew_s")
        if skew is not None and abs(skew) > 30:
            raise CheckFailed(f"expected the receiver's clock within 30 s of the server's; it is {skew:+.1f} s off")

    def check_plays(self) -> None:
        """A broadcast of a short text, to play at once, is reported ``delivered``, ``playing`` (with
        ``started_at``, no ``finished_at``) and ``played`` in that order, and the server stores ``played``."""
        broadcast_id = self.first = self.short_broadcast()
        self.reached(broadcast_id, "played", "failed", "missed", "interrupted", "cancelled")
        row = self.row(broadcast_id)
        reports = self.reports(broadcast_id)
        kinds = [(type(r).__name__, r.state) for r in reports]
        wanted = [("Delivery", "delivered"), ("Playback", "playing"), ("Playback", "played")]
        positions = [kinds.index(w) if w in kinds else -1 for w in wanted]
        if row["state"] != "played" or -1 in positions or positions != sorted(positions):
            raise CheckFailed(f"expected delivery delivered, playback playing, playback played in that order and "
                              f"'played' on the server; saw {describe(reports)} and {row['state']!r} "
                              f"({row.get('error')})")
        playing = reports[positions[1]]
        assert isinstance(playing, Playback)
        if playing.started_at is None or playing.finished_at is not None:
            raise CheckFailed(f"expected 'playing' with started_at and no finished_at; saw started_at "
                              f"{playing.started_at}, finished_at {playing.finished_at}")
        self.short_asset = self.api("GET", f"/broadcasts/{broadcast_id}")["asset"]

    def check_duration(self) -> None:
        """``played`` has started_at < finished_at, and the time between them is the audio's duration (the
        manifest's ``duration_s``) within 1.5 s: the receiver played it at real speed, to the end."""
        if self.first is None:
            raise CheckFailed("no broadcast was sent")
        played = self.playback(self.first, "played")
        if played is None or played.started_at is None or played.finished_at is None:
            raise CheckFailed(f"expected a 'played' report with started_at and finished_at; saw "
                              f"{self.seen_reports(self.first)}")
        assert self.short_asset is not None
        duration = self.duration_of(self.short_asset)
        if duration is None:
            raise CheckFailed(f"the kit saw no manifest for asset {self.short_asset}")
        took = (played.finished_at - played.started_at).total_seconds()
        if took <= 0 or abs(took - duration) > DURATION_TOLERANCE_S:
            raise CheckFailed(f"expected finished_at - started_at = {duration:.2f} s (duration_s) "
                              f"± {DURATION_TOLERANCE_S} s; saw {took:.2f} s")

    def check_priority_order(self) -> None:
        """A normal and then a priority broadcast, both due at the same play_at: the priority one starts on
        time (within 1.5 s) and plays first, the normal one after it, uncut."""
        play_at = utcnow() + timedelta(seconds=PRIORITY_LEAD_S)
        normal = self.short_broadcast("normal", play_at)
        urgent = self.short_broadcast("priority", play_at)
        wait = self.step_timeout + PRIORITY_LEAD_S
        first, second = self.final_report(urgent, wait), self.final_report(normal, wait)
        if (first.state, second.state) != ("played", "played"):
            raise CheckFailed(f"expected both played; saw the priority item {first.state} ({first.error}), the "
                              f"normal one {second.state} ({second.error})")
        if first.started_at is None or second.started_at is None or first.finished_at is None:
            raise CheckFailed("expected started_at and finished_at in both 'played' reports")
        late = (first.started_at - play_at).total_seconds()
        if not -0.5 <= late <= ON_TIME_S:
            raise CheckFailed(f"expected the priority item to start at its play_at (within {ON_TIME_S} s); it "
                              f"started {late:+.2f} s from it")
        if second.started_at < first.finished_at - timedelta(seconds=0.5):
            raise CheckFailed(f"expected the normal item to start after the priority one ended "
                              f"({format_time(first.finished_at)}); it started {format_time(second.started_at)}")

    def check_emergency(self) -> None:
        """While a long normal broadcast plays, an emergency comes: the normal one is cut off (``interrupted``,
        its error naming the emergency, heard for less than its length) and the emergency is ``played``."""
        normal = self.broadcast(self.bulletin(LONG_TEXT, "Kiểm thử dài"))
        self.reached(normal, "playing", "played", "failed", "missed", "interrupted")
        if self.row(normal)["state"] != "playing":
            raise CheckFailed(f"expected the long broadcast to be playing; it is {self.row(normal)['state']!r}")
        emergency = self.broadcast(self.bulletin(EMERGENCY_TEXT, "Khẩn cấp"), "emergency")
        cut = self.reached(normal, "interrupted", "played", "failed")
        done = self.reached(emergency, "played", "failed", "missed", "interrupted", "cancelled")
        if cut["state"] != "interrupted" or done["state"] != "played":
            raise CheckFailed(f"expected the normal broadcast interrupted and the emergency played; saw "
                              f"{cut['state']!r} ({cut.get('error')}) and {done['state']!r} ({done.get('error')})")
        if str(emergency) not in (cut.get("error") or ""):
            raise CheckFailed(f"expected the interruption's error to name emergency broadcast {emergency}; saw "
                              f"{cut.get('error')!r}")
        report = self.playback(normal, "interrupted")
        started, finished = (report.started_at, report.finished_at) if report else (None, None)
        if started is None or finished is None:
            raise CheckFailed("expected the 'interrupted' report to carry started_at and finished_at")
        asset = self.api("GET", f"/broadcasts/{normal}")["asset"]
        length = self.duration_of(asset) or 0.0
        if (finished - started).total_seconds() > length - 1:
            raise CheckFailed(f"expected the normal broadcast cut short of its {length:.1f} s; it played "
                              f"{(finished - started).total_seconds():.1f} s")

    def check_stop(self) -> None:
        """A broadcast scheduled 10 minutes ahead, delivered, then stopped by the operator (POST
        /broadcasts/{id}/stop): the receiver reports it ``cancelled`` (no started_at) and never plays it."""
        broadcast_id = self.short_broadcast(play_at=utcnow() + timedelta(minutes=10))
        row = self.reached(broadcast_id, "delivered", "playing", "played", "failed", "missed", "cancelled")
        if row["state"] != "delivered":
            raise CheckFailed(f"expected 'delivered' (it is due in 10 minutes); saw {row['state']!r}")
        self.api("POST", f"/broadcasts/{broadcast_id}/stop")
        row = self.reached(broadcast_id, "cancelled", "interrupted", "played", "failed", "missed")
        report = self.playback(broadcast_id, "cancelled")
        if row["state"] != "cancelled" or row.get("error") == NO_REPORT or report is None:
            raise CheckFailed(f"expected a 'cancelled' report from the receiver; saw "
                              f"{self.seen_reports(broadcast_id)} and {row['state']!r} ({row.get('error')})")
        if report.started_at is not None:
            raise CheckFailed(f"expected no started_at in 'cancelled'; saw {format_time(report.started_at)}")
        if self.playback(broadcast_id, "playing") is not None:
            raise CheckFailed("the stopped broadcast was reported playing")

    def check_volume(self) -> None:
        """PUT /devices/kit-01/volume: the receiver applies the signed command and its next heartbeat reports
        the new volume, which the server then shows."""
        current = self.device().get("volume")
        volume = 38 if current == 37 else 37
        asked = time.monotonic()
        self.api("PUT", f"/devices/{DEVICE}/volume", {"volume": volume})
        self.until(f"a heartbeat with volume {volume}",
                   lambda: True if any(b.volume == volume for b in self.heartbeats(asked)) else None,
                   lambda: f"volumes {[b.volume for b in self.heartbeats(asked)]} in heartbeats since")
        self.until(f"volume {volume} in GET /api/v1/devices",
                   lambda: True if self.device().get("volume") == volume else None,
                   lambda: self.device().get("volume"))

    def forge(self, reason: str, broadcast_id: int) -> bytes:
        """A schedule with one entry (an emergency, to play at once, of audio the receiver has) that a receiver
        must refuse for ``reason``; every other part of it is as the server would send it."""
        topic = self.topics.schedule(DEVICE)
        device = OTHER_DEVICE if reason in ("bad_signature", "wrong_device") else DEVICE
        entry = ScheduleEntry(broadcast_id, self.short_asset or "0" * 64, "Giả mạo", "emergency", None, utcnow(), 300)
        message = Schedule(device, utcnow(), [entry], [], self.groups).to_dict()
        later, seq = utcnow() + timedelta(days=1), now_seq()
        if reason == "unsigned":
            return canonical_json(message)
        if reason == "unknown_key":
            return sign_as(self.stranger, topic, message, seq, later)
        if reason == "bad_signature":  # another device's schedule, moved onto this device's topic
            return sign_as(self.key, self.topics.schedule(OTHER_DEVICE), message, seq, later)
        if reason == "expired":
            return sign_as(self.key, topic, message, seq, utcnow() - timedelta(minutes=1))
        if reason == "replayed":
            return sign_as(self.key, topic, message, self.replay_seq, later)
        if reason == "wrong_device":
            return sign_as(self.key, topic, message, seq, later)
        raise ValueError(reason)

    def oldest_genuine_seq(self) -> int:
        """The lowest seq of the server's schedules for this device the kit saw: the receiver has accepted a
        schedule at least that new, so one signed below it is a replay."""
        verifier, topic, seqs = Verifier([self.public]), self.topics.schedule(DEVICE), []
        for item in self.messages("schedule"):
            try:
                data = load_object(item.payload)
                seq = verifier.verify(topic, data, utcnow())
            except ProtocolError:
                continue
            if data.get("device") == DEVICE:
                seqs.append(seq)
        if not seqs:
            raise CheckFailed("the kit saw no schedule from the server, so it cannot replay one")
        return min(seqs)

    def send_forgeries(self) -> None:
        """Publish every forged schedule, once, as the server's user, on the receiver's schedule topic.

        Not retained: the broker hands them at once to the connected receiver and keeps the server's genuine
        retained schedule, so the worker never overwrites a forgery before it is read, and no forgery
        outlives the check."""
        if self.forged:
            return
        assert self.observer is not None
        self.replay_seq = self.oldest_genuine_seq() - 1  # before any forgery goes out: they come back here too
        self.forged_at = time.monotonic()  # before the first publish: a refusal may be reported at once
        for index, (reason, _) in enumerate(FORGERIES):
            broadcast_id = FORGED_BASE_ID + index
            payload = self.forge(reason, broadcast_id)
            self._verify_forgery(reason, payload)
            self.forged[broadcast_id] = reason
            self.observer.publish(self.topics.schedule(DEVICE), payload, qos=1, retain=False)

    def _verify_forgery(self, reason: str, payload: bytes) -> None:
        """The kit's own check that a forgery has the one defect it is meant to have (our verifier refuses it
        for that reason and no other)."""
        data = load_object(payload)
        try:
            Verifier([self.public]).verify(self.topics.schedule(DEVICE), data, utcnow(),
                                           self.replay_seq + 1 if reason == "replayed" else 0)
            got = "wrong_device" if data["device"] != DEVICE else "accept"
        except SignatureError as exc:
            got = exc.reason
        if got != reason:
            raise RuntimeError(f"the kit forged a {reason!r} case that a verifier takes for {got!r}")

    def check_refusal(self, reason: str) -> None:
        """The receiver reports the forgery refused for ``reason`` on its schedule topic, and the server stores
        that report in its ``refusals`` table. The forgeries all go out at once, so the checks share one
        deadline: a receiver that refuses none fails them all in one step timeout, not six."""
        self.send_forgeries()
        assert self.db is not None
        topic = self.topics.schedule(DEVICE)

        def refusals() -> list[Refused]:
            found = []
            for item in self.messages("evt/refused", since=self.forged_at):
                try:
                    found.append(Refused.from_bytes(item.payload))
                except ProtocolError:
                    continue
            return found

        self.until(f"a 'refused' report with reason {reason!r} for topic {topic}",
                   lambda: True if any(r.reason == reason and r.topic == topic for r in refusals()) else None,
                   lambda: [f"{r.reason} on {r.topic}" for r in refusals()] or "no refusal report",
                   since=self.forged_at)

        def stored() -> bool | None:
            assert self.db is not None
            with self.db.session() as session:
                row = session.query(RefusalRecord).filter_by(device_id=DEVICE, reason=reason, topic=topic).first()
                return True if row is not None else None

        self.until(f"the refusal ({reason}) in the server's refusals table", stored, timeout=10)

    def check_genuine_after_forgeries(self) -> None:
        """After the forgeries the broker still holds the server's own schedule, retained, and the receiver
        plays a new genuine broadcast: refusing forgeries did not break it."""
        topic = self.topics.schedule(DEVICE)
        payload = self.retained(topic)
        if payload is None:
            raise CheckFailed(f"expected the server's schedule retained on {topic}; there is none")
        try:
            data = load_object(payload)
            Verifier([self.public]).verify(topic, data, utcnow())
            if data.get("device") != DEVICE:
                raise ProtocolError("not this device's")
        except ProtocolError as exc:
            raise CheckFailed(f"expected the server's schedule retained on {topic}; saw {exc}") from None
        broadcast_id = self.short_broadcast()
        row = self.reached(broadcast_id, "played", "failed", "missed", "interrupted", "cancelled")
        if row["state"] != "played":
            raise CheckFailed(f"expected 'played'; saw {row['state']!r} ({row.get('error')})")

    def check_no_forged_entry(self) -> None:
        """No delivery or playback report, nor a heartbeat's now_playing, names a forged entry: the receiver
        did not act on any forgery (their audio was cached, so an accepted one would have played at once)."""
        if not self.forged:
            raise CheckFailed("no forgery was sent")
        time.sleep(max(0.0, self.forged_at + 3 - time.monotonic()))
        acted = {f"{self.forged[b]} (broadcast {b}): {describe(reports)}"
                 for b in self.forged if (reports := self.reports(b))}
        acted |= {f"{self.forged[b.now_playing]} (broadcast {b.now_playing}): now_playing in a heartbeat"
                  for b in self.heartbeats() if b.now_playing in self.forged}
        if acted:
            raise CheckFailed(f"expected no report on a forged entry; saw {'; '.join(sorted(acted))}")

    def check_offline(self) -> None:
        """The kit stops the receiver (SIGTERM to its process group): the device's retained status turns
        ``offline`` (published before a planned disconnect, or the broker's Last Will) and the server shows
        the device offline."""
        self.stopping = True
        self.stop_receiver()
        self.until_status("offline")
        self.until("the device offline in GET /api/v1/devices",
                   lambda: True if self.device().get("online") is False else None, self.device)


def parse_template(command: str) -> list[str]:
    """The receiver command split into arguments; ValueError naming a placeholder the kit does not know."""
    parts = shlex.split(command)
    if not parts:
        raise ValueError("the receiver command is empty")
    for part in parts:
        try:
            part.format(**dict.fromkeys(PLACEHOLDERS, ""))
        except (KeyError, IndexError) as exc:
            raise ValueError(f"unknown placeholder {exc} in {part!r}; known: "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (write {{{{ and }}}} for a brace)"
                             ) from None
    return parts


def work_folder(wanted: str | None) -> Path:
    """The run's folder: ``wanted`` (created; refused if it holds anything, so the kit never removes what it
    did not make), or a new temporary folder."""
    if wanted is None:
        return Path(tempfile.mkdtemp(prefix="loaxa-conformance-"))
    path = Path(wanted).resolve()
    if path.exists() and any(path.iterdir()):
        raise ValueError(f"--workdir {path} is not empty")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def tail(path: Path, lines: int = 20) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m broadcaster.ops.conformance",
                                     description="Check a receiver against a real server and broker "
                                                 "(docs/conformance.md).")
    parser.add_argument("--receiver", required=True, metavar="COMMAND",
                        help="the receiver to test, a command template with placeholders {host} {port} {device_id} "
                             "{password} {password_file} {root} {trusted_key} {config} {workdir}")
    parser.add_argument("--workdir", metavar="DIR", help="folder for this run (absent or empty); default: a new "
                                                         "temporary folder")
    parser.add_argument("--step-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long each step waits for the receiver (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder even when every check passed")
    args = parser.parse_args(argv)
    try:
        template = parse_template(args.receiver)
        workdir = work_folder(args.workdir)
    except ValueError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(filename=str(workdir / "server.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"# Loa xã conformance kit: receiver {args.receiver!r}", flush=True)
    print(f"# work folder {workdir}", flush=True)
    kit = Kit(template, workdir, args.step_timeout)
    interrupted = False
    started = time.monotonic()
    try:
        kit.setup()
        kit.run()
    except KeyboardInterrupt:
        interrupted = True
        print("# interrupted: stopping the receiver, the worker and the broker", flush=True)
    except Exception as exc:
        logger.exception("setup failed")
        kit.failed += 1
        print(f"FAIL set up the server and the broker: {exc}", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kit.close()
    passed, failed = kit.passed, kit.failed
    if failed or interrupted:
        print(f"# receiver output: {kit.log_path} (last lines below); server log: {workdir / 'server.log'}")
        for line in tail(kit.log_path):
            print(f"#   {line}")
    if args.keep or failed or interrupted:
        print(f"# work folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"# took {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed", flush=True)
    if interrupted:
        return 130
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
