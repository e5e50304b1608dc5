"""Receivers' identities: each device gets its own MQTT password, and the broker's password file and ACL are
generated from the database, so adding or retiring a loudspeaker cluster is one command and a reload.

Only a hash of each device password is stored: the broker's own format (mosquitto's ``$7$``:
PBKDF2-HMAC-SHA512), so the password file is written from the database without ever keeping the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from broadcaster.bootstrap import ensure_area
from broadcaster.broker import acl_text
from broadcaster.db import Device, DeviceCredential, utcnow
from edge_agent.protocol.topics import valid_device_id
from edge_agent.settings import dump_toml, write_secret

ITERATIONS = 20_000
"""PBKDF2 rounds per password: device passwords are 32 random characters, so this guards against the
password file leaking without making a fleet's reconnection storm expensive for the broker."""


class DeviceError(Exception):
    pass


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
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


def new_device_password() -> str:
    return secrets.token_urlsafe(24)


def add_device(session: Session, device_id: str, name: str, village: str | None = None,
               commune: str | None = None) -> tuple[Device, str]:
    """Create a device with a fresh password; returns it and the password (shown once, stored hashed)."""
    if not valid_device_id(device_id):
        raise DeviceError(f"{device_id!r} is not a valid device id: 1-63 characters of a-z, 0-9 and -")
    if session.get(Device, device_id) is not None:
        raise DeviceError(f"device {device_id} exists already (give it a new password with --new-password)")
    village_area = None
    if village:
        parent = ensure_area(session, commune, "commune") if commune else None
        village_area = ensure_area(session, village, "village", parent)
    device = Device(id=device_id, name=name or device_id, village_id=village_area.id if village_area else None)
    session.add(device)
    session.flush()
    return device, set_password(session, device_id)


def set_password(session: Session, device_id: str) -> str:
    """A new password for an existing device (the old one stops working at the broker's next reload)."""
    if session.get(Device, device_id) is None:
        raise DeviceError(f"no device {device_id}")
    password = new_device_password()
    credential = session.get(DeviceCredential, device_id)
    if credential is None:
        credential = DeviceCredential(device_id=device_id, mqtt_hash="")
        session.add(credential)
    credential.mqtt_hash = mosquitto_hash(password)
    credential.changed_at = utcnow()
    session.flush()
    return password


def password_file_text(session: Session, server_user: str, server_password: str) -> str:
    """mosquitto's password file: the server's user and every device that has a password."""
    lines = [f"{server_user}:{mosquitto_hash(server_password)}"]
    for credential in session.query(DeviceCredential).order_by(DeviceCredential.device_id):
        if credential.device_id == server_user:
            continue
        lines.append(f"{credential.device_id}:{credential.mqtt_hash}")
    return "\n".join(lines) + "\n"


def write_broker_files(session: Session, folder: Path, root: str, server_user: str, server_password: str) -> None:
    write_secret(folder / "passwd", password_file_text(session, server_user, server_password))
    (folder / "acl").write_text(acl_text(root, server_user))


def agent_config_text(device_id: str, host: str, port: int, root: str, trusted_keys: list[str],
                      ca_file: str | None = None) -> str:
    mqtt: dict[str, object] = {"host": host, "port": port, "password_file": "mqtt-password", "topic_root": root}
    if ca_file:
        mqtt["ca_file"] = ca_file
    header = (f"# Receiver {device_id}: copy to /etc/edge-agent/agent.toml, and mqtt-password beside it\n"
              "# (0600; the edge-agent unit passes it as a systemd credential).\n")
    return header + dump_toml({"device_id": device_id, "cache_dir": "/var/lib/edge-agent/cache",
                               "trusted_keys": trusted_keys, "mqtt": mqtt, "audio": {"sink": "alsa"}})
