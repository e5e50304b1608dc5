"""Run an MQTT broker for the demo and the tests: mosquitto with generated credentials and ACL."""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

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


def acl_text(root: str, server_user: str) -> str:
    """Devices reach only their own topics and read audio chunks; the server reaches everything."""
    return "\n".join([
        f"user {server_user}",
        f"topic readwrite {root}/#",
        "",
        "# Every other user is a device whose user name is its id (%u).",
        f"pattern read {root}/dev/%u/schedule",
        f"pattern read {root}/dev/%u/cmd",
        f"pattern write {root}/dev/%u/status",
        f"pattern write {root}/dev/%u/hb",
        f"pattern write {root}/dev/%u/evt/#",
        f"pattern write {root}/dev/%u/req",
        f"pattern read {root}/blob/#",
        f"pattern read {root}/grp/#",
        "",
    ])


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


class Mosquitto:
    """A mosquitto process with its own config folder, password file and ACL, on a loopback port."""

    def __init__(self, directory: Path, users: dict[str, str], root: str, server_user: str,
                 port: int | None = None, password_file: Path | None = None,
                 tls: tuple[Path, Path, Path] | None = None) -> None:
        self.directory = directory
        self.tls = tls
        """(CA, certificate, key) for a second, TLS listener on ``tls_port``."""
        self.tls_port = free_port() if tls else None
        self.users = users
        self.password_file = password_file
        """A password file written elsewhere (``broadcaster broker files``), used instead of ``users``."""
        self.root = root
        self.server_user = server_user
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        binary = mosquitto_path()
        if binary is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        d = self.directory
        (d / "data").mkdir(parents=True, exist_ok=True)
        passwd, acl, conf = d / "passwd", d / "acl", d / "mosquitto.conf"
        if self.password_file is not None:
            passwd = self.password_file
        else:
            self._hash_users(binary, passwd)
        acl.write_text(acl_text(self.root, self.server_user))
        tls_lines = []
        if self.tls is not None:
            ca, cert, key = self.tls
            tls_lines = [f"listener {self.tls_port} 127.0.0.1", f"cafile {ca}", f"certfile {cert}",
                         f"keyfile {key}", "tls_version tlsv1.2"]
        conf.write_text("\n".join([
            "# Generated; edits are overwritten at the next start.",
            "per_listener_settings false",
            *tls_lines,
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {acl}",
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
            "",
        ]))
        return conf

    def _hash_users(self, binary: str, passwd: Path) -> None:
        passwd.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        passwd.chmod(0o600)
        hasher = Path(binary).with_name("mosquitto_passwd")
        tool = str(hasher) if hasher.exists() else shutil.which("mosquitto_passwd")
        if tool is None:
            raise BrokerError("mosquitto_passwd is not installed (apt-get install mosquitto)")
        result = subprocess.run([tool, "-U", str(passwd)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"mosquitto_passwd failed: {result.stderr.strip()}")

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
        if not wait_for_port(self.port) or (self.tls_port is not None and not wait_for_port(self.tls_port)):
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
