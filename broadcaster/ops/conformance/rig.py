"""The conformance kit's rig: a mosquitto with one device, a SQLite database, a signing key, the server's worker
and web API, the receiver under test in a process of its own, and an observer that records everything the
receiver publishes. Checks (checks.py) drive the rig through the public API, as an operator would."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcaster.config import MqttSettings, ServerConfig, SigningSettings, WebSettings
from broadcaster.database import Database
from broadcaster.delivery.worker import Worker
from broadcaster.domain.areas import groups_of
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_password, new_token
from broadcaster.ops.broker import Mosquitto
from broadcaster.ops.conformance.common import (
    DEVICE,
    FINAL,
    HOST,
    POLL_S,
    ROOT,
    SERVER_USER,
    SHORT_TEXT,
    CheckFailed,
    Seen,
    T,
    describe,
    retained,
)
from broadcaster.web import create_app
from edge_agent.link import Link
from edge_agent.protocol import Delivery, Heartbeat, Manifest, Playback, ProtocolError, Topics
from edge_agent.protocol.fields import format_time, load_object
from edge_agent.protocol.signing import Signer
from edge_agent.settings import dump_toml, write_secret

logger = logging.getLogger("broadcaster.ops.conformance")


class Rig:
    """The server, the broker and the receiver under test; what the receiver was seen to publish; the API."""

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
        agent = {  # (the keys of docs/edge.md: the kit does not import the receiver's code)
            "device_id": DEVICE, "cache_dir": str(folder / "cache"), "heartbeat_s": 2.0, "retry_s": 1.0,
            "trusted_keys": [self.public],
            "mqtt": {"host": HOST, "port": self.broker.port, "password_file": str(password_file), "topic_root": ROOT},
            "audio": {"sink": "file", "played_dir": str(folder / "played")},
        }
        config = folder / "agent.toml"
        config.write_text(dump_toml(agent), encoding="utf-8")
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
        """The message the broker holds retained on ``topic`` now (None if none)."""
        assert self.broker is not None
        return retained(self.broker, topic, wait_s)

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
