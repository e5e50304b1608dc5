"""mosquitto's files (password files, ACL) and a mosquitto run for the demo and the tests.

A broker has two doors. Receivers come in through the **device listener**, where mosquitto replaces every
client id with the user name (``use_username_as_clientid``): one device's credentials can never connect as
another device, so they cannot close its connection or fire its Last Will. The server's own connections
(several per worker, each with a client id of its own) come in through the **server listener**, whose
password file holds the server's user alone.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from edge_agent.protocol.topics import Topics
from edge_agent.settings import write_secret

logger = logging.getLogger(__name__)


class BrokerError(Exception):
    """The broker could not be started; the text says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


HASH_ITERATIONS = 20_000
"""PBKDF2 rounds per password: device passwords are 32 random characters, so this guards against the
password file leaking without making a fleet's reconnection storm expensive for the broker."""

DEVICE_PASSWORDS, SERVER_PASSWORDS, ACL = "passwd", "server-passwd", "acl"
"""The file names ``broadcaster broker files`` writes: the device listener's password file, the server
listener's, and the ACL both listeners share."""


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """A password file entry's hash as mosquitto 2 writes it: ``$7$iterations$salt$hash`` (base64)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_hash(password: str, stored: str) -> bool:
    try:
        _, scheme, iterations, salt, digest = stored.split("$")
        if scheme != "7":
            return False
        expected = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
        return hmac.compare_digest(expected, base64.b64decode(digest))
    except ValueError:
        return False


def password_file_text(hashes: dict[str, str]) -> str:
    """A mosquitto password file: one ``user:hash`` line each."""
    return "".join(f"{user}:{hashed}\n" for user, hashed in sorted(hashes.items()))


def read_password_file(path: Path) -> dict[str, str]:
    """User -> hash from a mosquitto password file (what the embedded broker checks passwords against)."""
    entries = (line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
    return {user: hashed for user, hashed in entries}


def write_password_files(folder: Path, server_user: str, server_hash: str | None,
                         device_hashes: dict[str, str]) -> None:
    """Both listeners' password files, owner-only: the server's user never sits in the devices' file."""
    write_secret(folder / SERVER_PASSWORDS, password_file_text({server_user: server_hash} if server_hash else {}))
    write_secret(folder / DEVICE_PASSWORDS,
                 password_file_text({u: h for u, h in device_hashes.items() if u != server_user}))


def acl_text(root: str, server_user: str, bridges: Sequence[str] = ()) -> str:
    """Devices reach only their own topics and read audio and alerts (``Topics.device_access``); the server
    reaches everything, and so do the regional brokers' bridges (``bridges``, their user names on this one)."""
    return "\n".join([
        *(line for user in (server_user, *bridges) for line in (f"user {user}", f"topic readwrite {root}/#", "")),
        "# Every other user is a device whose user name is its id (%u).",
        *(f"pattern {access} {topic}" for access, topic in Topics(root).device_access("%u")),
        "",
    ])


def bridge_lines(root: str, name: str, address: str, port: int, username: str, password: str,
                 restart: tuple[int, int] = (5, 60)) -> list[str]:
    """A regional broker's bridge to the central one (config/mosquitto-region.example.conf): towards the
    region what a device may read, towards the centre what a device may write (``Topics.device_access``, so
    the bridge carries exactly the receivers' topics), one persistent session on the central broker."""
    directions = {"read": "in", "write": "out"}
    return [
        f"connection {name}",
        f"address {address}:{port}",
        f"remote_username {username}",
        f"remote_password {password}",
        f"remote_clientid {username}",
        "cleansession false",
        "try_private true",
        f"restart_timeout {restart[0]} {restart[1]}",
        "notifications true",
        f"notification_topic {root}/bridge/{name}/state",
        *(f"topic {topic} {directions[access]} 1" for access, topic in Topics(root).device_access("+")),
    ]


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


class Mosquitto:
    """A mosquitto process with its own config folder, password files and ACL, on loopback ports: ``port`` for
    devices (client id = user name), ``server_port`` for the server's user alone."""

    def __init__(self, directory: Path, users: dict[str, str], root: str, server_user: str,
                 port: int | None = None, files_dir: Path | None = None,
                 tls: tuple[Path, Path, Path] | None = None, server_port: int | None = None) -> None:
        self.directory = directory
        self.tls = tls
        """(CA, certificate, key) for a second device listener, with TLS, on ``tls_port``."""
        self.tls_port = free_port() if tls else None
        self.users = users
        self.files_dir = files_dir
        """A folder written by ``broadcaster broker files`` (both password files), used instead of ``users``."""
        self.root = root
        self.server_user = server_user
        self.port = port or free_port()
        self.server_port = server_port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.bind = "127.0.0.1"
        """The device listener's address (the server's stays on the loopback)."""
        self.bridges: tuple[str, ...] = ()
        """User names of regional brokers' bridges, allowed every topic under the root (``acl_text``)."""
        self.extra: list[str] = []
        """Lines appended to the configuration (a regional broker's ``bridge_lines``)."""

    def write_config(self) -> Path:
        if mosquitto_path() is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        d = self.directory
        (d / "data").mkdir(parents=True, exist_ok=True)
        files = self.files_dir or d
        if self.files_dir is None:
            hashes = {user: mosquitto_hash(password) for user, password in self.users.items()}
            write_password_files(d, self.server_user, hashes.get(self.server_user), hashes)
        acl, conf = d / ACL, d / "mosquitto.conf"
        acl.write_text(acl_text(self.root, self.server_user, self.bridges))

        def door(password_file: Path) -> list[str]:
            return ["allow_anonymous false", f"password_file {password_file}", f"acl_file {acl}"]

        device_door = ["use_username_as_clientid true", *door(files / DEVICE_PASSWORDS)]
        tls_lines = []
        if self.tls is not None:
            ca, cert, key = self.tls
            tls_lines = [f"listener {self.tls_port} 127.0.0.1", f"cafile {ca}", f"certfile {cert}",
                         f"keyfile {key}", "tls_version tlsv1.2", *device_door]
        conf.write_text("\n".join([
            "# Generated; edits are overwritten at the next start.",
            "per_listener_settings true",
            "# The server's connections: its user alone, any client id.",
            f"listener {self.server_port} 127.0.0.1",
            *door(files / SERVER_PASSWORDS),
            "# Receivers: the client id is replaced by the user name, so no device can connect as another.",
            f"listener {self.port} {self.bind}",
            *device_door,
            *tls_lines,
            "persistence true",
            f"persistence_location {d / 'data'}/",
            "autosave_interval 30",
            f"log_dest file {d / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            # What a client's session may hold beyond its in-flight window; over it mosquitto drops silently.
            # The workers' report sessions are the ones that fill up (a burst of reports, a worker away).
            "max_queued_messages 200000",
            # The in-flight window: unacknowledged QoS 1 messages sent to one client. A worker acknowledges a
            # report once it is stored, so it can store no more at once than this (the default, 20, capped it).
            "max_inflight_messages 1000",
            "max_packet_size 2097152",
            # Only honoured when started as root: stay the invoking user so our files stay readable.
            f"user {getpass.getuser()}",
            *self.extra,
            "",
        ]))
        return conf

    def reload(self) -> None:
        """Re-read the password file and ACL (what ``systemctl reload mosquitto`` does: SIGHUP)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def start(self) -> None:
        conf = self.write_config()
        binary = mosquitto_path()
        assert binary is not None
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        ports = [p for p in (self.port, self.server_port, self.tls_port) if p is not None]
        if not all(wait_for_port(p) for p in ports):
            self.stop()
            log = self.directory / "mosquitto.log"
            tail = log.read_text()[-500:] if log.exists() else ""
            raise BrokerError(f"mosquitto did not start on port {self.port}: {tail}")
        logger.info("mosquitto listening on 127.0.0.1:%d", self.port)

    def kill(self) -> None:
        """A crash: SIGKILL, so whatever the broker had not yet saved to disk is lost."""
        self.stop(crash=True)

    def stop(self, crash: bool = False) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.kill() if crash else proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()

    def command(self) -> list[str]:
        """The command line to run this broker in the foreground (used by the demo's supervisor)."""
        binary = mosquitto_path()
        assert binary is not None
        return [binary, "-c", str(self.directory / "mosquitto.conf")]
