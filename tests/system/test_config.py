"""Configuration: the shipped examples load, mistakes are refused with where and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broadcaster.config import load_config as load_server
from edge_agent.config import load_config as load_agent
from edge_agent.settings import ConfigError
from tests.support import ROOT

CONFIG = ROOT / "config"


def test_shipped_examples_are_valid() -> None:
    server = load_server(CONFIG / "server.example.toml")
    assert server.mqtt.password_file == "mqtt-password" and server.web.secure_cookies is True
    agent = load_agent(CONFIG / "agent.example.toml")
    assert agent.device_id == "thon-dong-01" and agent.audio.sink == "alsa"


def test_unknown_keys_are_refused_with_their_place(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('device_id = "loa-01"\n[mqtt]\nhots = "x"\n')
    with pytest.raises(ConfigError, match=r"mqtt: unknown setting\(s\) hots"):
        load_agent(path)


@pytest.mark.parametrize(("text", "message"), [
    ('device_id = "Loa 01"', "device_id"),
    ('device_id = "loa-01"\n[audio]\nsink = "hdmi"', "audio.sink"),
    ('device_id = "loa-01"\n[audio]\nvolume = 300', "audio.volume"),
    ('device_id = "loa-01"\nheartbeat_s = "often"', "heartbeat_s: expected a number"),
    ('device_id = "loa-01"\n[mqtt]\nport = true', "mqtt.port: expected a number"),
    ("device_id = ", "not valid TOML"),
    ('device_id = "loa-01"\ntrusted_keys = []', "trusted_keys: pin the server's public key"),
    ('device_id = "loa-01"\ntrusted_keys = ["not a key"]', "is not a base64 Ed25519 public key"),
    ('device_id = "loa-01"\ntrusted_keys = "x"', "expected a list|base64"),
])
def test_bad_agent_configs_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_agent(path)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "server.toml"
    path.write_text('data_dir = "/srv/x"\n[mqtt]\nport = 1883\n')
    monkeypatch.setenv("BROADCASTER_MQTT__PORT", "8883")
    monkeypatch.setenv("BROADCASTER_SPEECH__CHIME", "false")
    config = load_server(path)
    assert config.mqtt.port == 8883 and config.speech.chime is False and config.data_dir == "/srv/x"


def test_secret_files_come_from_the_systemd_credentials_folder(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mqtt-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert load_server(CONFIG / "server.example.toml").mqtt_password() == "s3cret"
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="cannot read secret file"):
        load_server(CONFIG / "server.example.toml").mqtt_password()


def test_check_config_commands_explain_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('device_id = "loa-01"\n[audio]\nsink = "hdmi"\n')
    result = subprocess.run([sys.executable, "-m", "edge_agent.cli", "--config", str(path), "--check-config"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "audio.sink" in result.stderr and "Traceback" not in result.stderr
    good = subprocess.run([sys.executable, "-m", "broadcaster.cli", "check-config", "--config",
                           str(CONFIG / "server.example.toml")], capture_output=True, text=True, check=False)
    assert good.returncode == 0 and "configuration OK" in good.stdout
    missing = subprocess.run([sys.executable, "-m", "broadcaster.cli", "check-config", "--config",
                              str(tmp_path / "none.toml")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr
