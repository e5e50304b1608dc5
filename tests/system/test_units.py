"""The systemd units run what exists, with the arguments the commands take, hardened, grouped by the target."""

from __future__ import annotations

import shlex

import pytest

from broadcaster.cli import build_parser
from tests.support import ROOT

UNITS = ROOT / "systemd"
SERVER_UNITS = ["broadcaster-broker.service", "broadcaster-web@.service", "broadcaster-worker@.service"]


def unit(name: str) -> dict[str, list[str]]:
    """Key to values (keys such as LoadCredential repeat), across the unit's sections."""
    values: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def template_of(name: str) -> str:
    stem, _dot, kind = name.rpartition(".")
    return f"{stem.split('@')[0]}@.{kind}" if "@" in stem else name


def test_the_target_starts_a_broker_a_web_process_and_a_worker_that_all_exist() -> None:
    wanted = unit("broadcaster.target")["Wants"][0].split()
    assert {template_of(w) for w in wanted} == set(SERVER_UNITS)
    for name in SERVER_UNITS:
        assert unit(name)["PartOf"] == ["broadcaster.target"], f"{name}: stopped and started with the target"
        assert unit(name)["WantedBy"] == ["broadcaster.target"]


@pytest.mark.parametrize("name, instance", [("broadcaster-web@.service", "8081"),
                                            ("broadcaster-worker@.service", "2")])
def test_the_server_units_run_commands_the_cli_accepts(name: str, instance: str) -> None:
    command = shlex.split(unit(name)["ExecStart"][0].replace("%i", instance))
    assert command[0] == "/opt/loaxa/.venv/bin/broadcaster"
    args = build_parser().parse_args(command[1:])
    assert str(args.config) == "/etc/broadcaster/server.toml"
    assert (args.port if args.command == "web" else args.name) in (8081, "2"), "the instance tells them apart"
    assert "MALLOC_ARENA_MAX=2" in unit(name)["Environment"]


@pytest.mark.parametrize("name", [*SERVER_UNITS, "edge-agent.service"])
def test_every_unit_restarts_and_is_hardened(name: str) -> None:
    values = unit(name)
    assert values["Restart"] == ["always"]
    assert values["NoNewPrivileges"] == ["yes"]
    assert values["ProtectSystem"][0] in ("full", "strict")
    assert values["ProtectHome"] == ["yes"] and values["PrivateTmp"] == ["yes"]
    assert values["User"][0] != "root"
    if name != "edge-agent.service":  # the receiver drives GPIO and sound devices
        assert values["PrivateDevices"] == ["yes"] and values["CapabilityBoundingSet"] == [""]
        assert values["ProtectSystem"] == ["strict"] and values["ReadWritePaths"], "writes only its own state"


def test_the_broker_unit_runs_mosquitto_on_the_deployments_config() -> None:
    command = shlex.split(unit("broadcaster-broker.service")["ExecStart"][0])
    assert command[0] == "/usr/sbin/mosquitto" and command[1:] == ["-c", "/etc/mosquitto/loaxa.conf"]
    assert int(unit("broadcaster-broker.service")["LimitNOFILE"][0]) >= 10_000, "one descriptor per receiver"


def test_the_nightly_backup_runs_a_backup_the_cli_accepts_and_keeps_some() -> None:
    values = unit("broadcaster-backup.service")
    command = shlex.split(values["ExecStart"][0])
    assert command[0] == "/opt/loaxa/.venv/bin/broadcaster"
    args = build_parser().parse_args(command[1:])
    assert args.command == "backup" and str(args.config) == "/etc/broadcaster/server.toml"
    assert args.out_dir is not None and args.keep > 0, "old backups are pruned"
    assert str(args.out_dir) in values["ReadWritePaths"][0], "it may write where it puts the archives"
    assert values["Type"] == ["oneshot"] and values["User"][0] != "root"
    assert values["NoNewPrivileges"] == ["yes"] and values["ProtectSystem"] == ["strict"]
    assert values["CapabilityBoundingSet"] == [""] and values["PrivateTmp"] == ["yes"]
    timer = unit("broadcaster-backup.timer")
    assert timer["Unit"] == ["broadcaster-backup.service"] and timer["OnCalendar"] and timer["Persistent"] == ["true"]
