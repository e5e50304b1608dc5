"""Per-device credentials: 'broadcaster devices add' and 'broadcaster broker files' against a real mosquitto."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.cli import main
from broadcaster.config import ServerConfig
from broadcaster.config import load_config as load_server_config
from broadcaster.database import Database
from broadcaster.db import Area, DeviceCredential
from broadcaster.delivery.worker import Worker
from broadcaster.ops.bootstrap import ensure_airtime, ensure_user, new_token
from broadcaster.ops.broker import Mosquitto, check_hash, mosquitto_hash
from broadcaster.web import create_app
from edge_agent.agent import Agent
from edge_agent.config import load_config as load_agent_config
from edge_agent.protocol.signing import Signer
from edge_agent.sinks import FileSink
from tests.support.env import wait_until

ROOT = "loaxa"


def test_hash_format_round_trips() -> None:
    stored = mosquitto_hash("mật khẩu", salt=b"0123456789ab", iterations=1000)
    assert stored.startswith("$7$1000$") and check_hash("mật khẩu", stored)
    assert not check_hash("sai", stored) and not check_hash("x", "$6$abc$def")


class Fleet:
    """A server config, its database, and a mosquitto fed only by files generated from that database."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "secrets").mkdir()
        (tmp / "secrets" / "mqtt").write_text("server-password-123\n")
        Signer.generate().save(tmp / "secrets" / "signing.key")
        self.config_path = tmp / "server.toml"
        self.config_path.write_text(
            f'data_dir = "{tmp / "server"}"\n'
            f'[mqtt]\nusername = "broadcaster"\npassword_file = "{tmp / "secrets" / "mqtt"}"\n'
            f'[signing]\nkey_file = "{tmp / "secrets" / "signing.key"}"\n')
        self.broker_dir = tmp / "broker-files"
        self.broker: Mosquitto | None = None

    def cli(self, *args: str) -> int:
        return main([*args, "--config", str(self.config_path)])

    def start_broker(self) -> Mosquitto:
        assert self.cli("broker", "files", "--out-dir", str(self.broker_dir)) == 0
        self.broker = Mosquitto(self.tmp / "mosquitto", {}, ROOT, "broadcaster",
                                files_dir=self.broker_dir)
        self.broker.start()
        return self.broker


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path)
    yield f
    if f.broker is not None:
        f.broker.stop()


def connects(port: int, user: str, password: str) -> bool:
    result: list[object] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-probe-{time.monotonic_ns()}")
    client.username_pw_set(user, password)
    client.on_connect = lambda c, u, f, rc, p: result.append(rc)
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_until(lambda: result, timeout=5)
    client.loop_stop()
    client.disconnect()
    return not result[0].is_failure  # type: ignore[attr-defined]


def test_devices_get_their_own_passwords_which_the_broker_accepts(fleet: Fleet, capsys) -> None:
    for device in ("thon-dong-01", "thon-doai-01"):
        assert fleet.cli("devices", "add", device, "--name", f"Cụm loa {device}", "--village", "Thôn Đông",
                         "--commune", "Xã Thử", "--broker-host", "127.0.0.1",
                         "--out-dir", str(fleet.tmp / device)) == 0
    secret = fleet.tmp / "thon-dong-01" / "mqtt-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = secret.read_text().strip()
    with Database(ServerConfig(data_dir=str(fleet.tmp / "server")).db_url).session() as session:
        stored = session.get(DeviceCredential, "thon-dong-01")
        assert stored is not None and password not in stored.mqtt_hash and check_hash(password, stored.mqtt_hash)

    broker = fleet.start_broker()
    passwd = (fleet.broker_dir / "passwd").read_text() + (fleet.broker_dir / "server-passwd").read_text()
    assert password not in passwd and "server-password-123" not in passwd
    assert connects(broker.port, "thon-dong-01", password)
    assert connects(broker.server_port, "broadcaster", "server-password-123")
    assert not connects(broker.port, "broadcaster", "server-password-123"), "the server has a door of its own"
    assert not connects(broker.server_port, "thon-dong-01", password), "and receivers may not use it"
    assert not connects(broker.port, "thon-dong-01", "đoán mò")
    other = (fleet.tmp / "thon-doai-01" / "mqtt-password").read_text().strip()
    assert not connects(broker.port, "thon-dong-01", other), "one device's password does not open another"

    # A new password: the old one stops working once the files are rewritten and the broker reloads.
    assert fleet.cli("devices", "add", "thon-dong-01", "--new-password", "--broker-host", "127.0.0.1",
                     "--out-dir", str(fleet.tmp / "thon-dong-01")) == 0
    assert fleet.cli("broker", "files", "--out-dir", str(fleet.broker_dir)) == 0
    broker.reload()
    fresh = secret.read_text().strip()
    wait_until(lambda: not connects(broker.port, "thon-dong-01", password), timeout=10)
    assert connects(broker.port, "thon-dong-01", fresh)

    capsys.readouterr()
    assert fleet.cli("devices", "add", "thon-dong-01", "--broker-host", "x") == 1
    assert "exists already" in capsys.readouterr().err
    assert fleet.cli("devices", "add", "Thôn Đông", "--broker-host", "x") == 1
    assert "not a valid device id" in capsys.readouterr().err


def test_a_receiver_set_up_by_the_commands_plays_a_broadcast(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    """devices add -> broker files -> mosquitto -> the agent.toml as written -> a signed broadcast plays."""
    out = fleet.tmp / "loa-moi"
    assert fleet.cli("devices", "add", "loa-moi", "--village", "Thôn Mới", "--broker-host", "127.0.0.1",
                     "--out-dir", str(out)) == 0
    broker = fleet.start_broker()
    monkeypatch.setenv("BROADCASTER_MQTT__PORT", str(broker.server_port))
    config = load_server_config(fleet.config_path)
    db = Database(config.db_url)
    token = new_token()
    with db.session() as session:
        ensure_user(session, "admin", "correct horse battery", token)
        # The default air-time rule (05:30-21:30) would refuse this broadcast when the suite runs at night.
        ensure_airtime(session, session.query(Area).filter_by(name="Thôn Mới").one(), "00:00", "24:00")
    worker = Worker(config, db)
    worker.start()

    # On the receiver: the files as written, the password passed as a systemd credential would be.
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(out))
    monkeypatch.setenv("EDGE_AGENT_MQTT__PORT", str(broker.port))
    monkeypatch.setenv("EDGE_AGENT_CACHE_DIR", str(fleet.tmp / "receiver" / "cache"))
    monkeypatch.setenv("EDGE_AGENT_AUDIO__SINK", "file")
    monkeypatch.setenv("EDGE_AGENT_AUDIO__PLAYED_DIR", str(fleet.tmp / "receiver" / "played"))
    agent_config = load_agent_config(out / "agent.toml")
    agent = Agent(agent_config, FileSink(agent_config.played_dir))
    agent.start()
    try:
        client = create_app(config, db).test_client()
        auth = {"Authorization": f"Bearer {token}"}
        bulletin = client.post("/api/v1/bulletins", json={"title": "Thử", "text": "Kiểm tra cụm loa mới."},
                               headers=auth).get_json()
        client.post(f"/api/v1/bulletins/{bulletin['id']}/approve", headers=auth)
        response = client.post("/api/v1/broadcasts", json={"bulletin_id": bulletin["id"], "targets": ["loa-moi"]},
                               headers=auth)
        assert response.status_code == 201, response.get_json()
        broadcast = response.get_json()

        def state() -> object:
            return client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=auth).get_json()["devices"][0]["state"]

        wait_until(lambda: state() == "played", timeout=60)
        assert len(list((fleet.tmp / "receiver" / "played").glob("*.wav"))) == 1
    finally:
        agent.stop()
        worker.stop()


def make_ca(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a broker certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (folder / "ca.pem", folder / "broker.pem", folder / "broker.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


# paho leaves the socket of a refused TLS handshake for the garbage collector (its bug, not ours).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_receivers_reach_the_broker_over_tls_and_only_with_its_ca(fleet: Fleet, tmp_path: Path) -> None:
    from edge_agent.link import Link

    assert fleet.cli("devices", "add", "loa-tls", "--broker-host", "127.0.0.1", "--ca-file", "/etc/ca.pem",
                     "--out-dir", str(tmp_path / "loa-tls")) == 0
    assert 'ca_file = "/etc/ca.pem"' in (tmp_path / "loa-tls" / "agent.toml").read_text()
    password = (tmp_path / "loa-tls" / "mqtt-password").read_text().strip()
    ca, cert, key = make_ca(tmp_path / "pki", "Loa xã")
    assert fleet.cli("broker", "files", "--out-dir", str(fleet.broker_dir)) == 0
    fleet.broker = Mosquitto(tmp_path / "mosquitto-tls", {}, ROOT, "broadcaster",
                             files_dir=fleet.broker_dir, tls=(ca, cert, key))
    fleet.broker.start()
    port = fleet.broker.tls_port
    assert port is not None

    def link(ca_file: str | None) -> Link:
        return Link("loa-tls", "127.0.0.1", port, "loa-tls", password, lambda t, p: None, ca_file=ca_file)

    good = link(str(ca))
    good.start()
    try:
        assert good.connected.wait(10), "a receiver trusting the broker's CA connects over TLS"
    finally:
        good.stop()
    other_ca, _, _ = make_ca(tmp_path / "other-pki", "Kẻ lạ")
    for ca_file in (str(other_ca), None):  # a broker it cannot verify; plain MQTT on the TLS port
        bad = link(ca_file)
        bad.start()
        try:
            assert not bad.connected.wait(3)
        finally:
            bad.stop()
