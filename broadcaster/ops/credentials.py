"""Receivers' identities: each device gets its own MQTT password, and the broker's password file and ACL are
generated from the database, so adding or retiring a loudspeaker cluster is one command and a reload.

Only a hash of each device password is stored: the broker's own format (mosquitto's ``$7$``:
PBKDF2-HMAC-SHA512), so the password file is written from the database without ever keeping the password.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from broadcaster.db import Device, DeviceCredential, utcnow
from broadcaster.ops.bootstrap import ensure_area
from broadcaster.ops.broker import ACL, acl_text, mosquitto_hash, write_password_files
from edge_agent.protocol.topics import valid_device_id
from edge_agent.settings import dump_toml


class DeviceError(Exception):
    pass


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


def device_hashes(session: Session) -> dict[str, str]:
    """Device id -> its password's hash, for every device that has one."""
    return {c.device_id: c.mqtt_hash for c in session.query(DeviceCredential)}


def write_broker_files(session: Session, folder: Path, root: str, server_user: str, server_password: str) -> None:
    """Both listeners' password files and the ACL, from the database."""
    write_password_files(folder, server_user, mosquitto_hash(server_password), device_hashes(session))
    (folder / ACL).write_text(acl_text(root, server_user))


def agent_config_text(device_id: str, host: str, port: int, root: str, trusted_keys: list[str],
                      ca_file: str | None = None) -> str:
    mqtt: dict[str, object] = {"host": host, "port": port, "password_file": "mqtt-password", "topic_root": root}
    if ca_file:
        mqtt["ca_file"] = ca_file
    header = (f"# Receiver {device_id}: copy to /etc/edge-agent/agent.toml, and mqtt-password beside it\n"
              "# (0600; the edge-agent unit passes it as a systemd credential).\n")
    return header + dump_toml({"device_id": device_id, "cache_dir": "/var/lib/edge-agent/cache",
                               "trusted_keys": trusted_keys, "mqtt": mqtt, "audio": {"sink": "alsa"}})
