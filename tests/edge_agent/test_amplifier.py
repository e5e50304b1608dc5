"""The amplifier relay: the GPIO implementation (on the kernel's sysfs file layout) and the simulated one
pass the same tests; the receiver switches it on ahead of an item and off after a quiet while."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from edge_agent.amplifier import Amplifier, AmplifierError, GpioAmplifier, SimulatedAmplifier
from edge_agent.config import AmplifierSettings
from edge_agent.sinks import FileSink
from tests.support.env import Env, wait_until


def fake_sysfs(root: Path, pin: int) -> Path:
    """The files the kernel shows for an exported GPIO (what GpioAmplifier writes to)."""
    folder = root / f"gpio{pin}"
    folder.mkdir(parents=True)
    (root / "export").write_text("")
    (folder / "direction").write_text("in")
    (folder / "value").write_text("0")
    return folder


@pytest.fixture(params=["gpio", "simulated"])
def amplifier(request: pytest.FixtureRequest, tmp_path: Path) -> Amplifier:
    if request.param == "gpio":
        fake_sysfs(tmp_path, 17)
        return GpioAmplifier(17, root=tmp_path)
    return SimulatedAmplifier()


def test_starts_off_and_switches(amplifier: Amplifier) -> None:
    assert amplifier.state == "off" and not amplifier.is_on
    amplifier.switch(True)
    amplifier.switch(True)
    assert amplifier.state == "on"
    amplifier.switch(False)
    assert [on for _, on in amplifier.switches] == [True, False], "one switch per change, none repeated"


def test_gpio_drives_the_pin_level(tmp_path: Path) -> None:
    folder = fake_sysfs(tmp_path / "high", 17)
    relay = GpioAmplifier(17, root=tmp_path / "high")
    assert (folder / "direction").read_text() == "out" and relay.level() == "0"
    relay.switch(True)
    assert relay.level() == "1"
    low_folder = fake_sysfs(tmp_path / "low", 27)
    inverted = GpioAmplifier(27, active_high=False, root=tmp_path / "low")
    assert (low_folder / "value").read_text() == "1", "an active-low relay board is off at a high level"
    inverted.switch(True)
    assert inverted.level() == "0"


def test_gpio_numbers_follow_the_kernels_controller_base(tmp_path: Path) -> None:
    # Raspberry Pi OS Bookworm (kernel 6.6+) numbers the Pi 4's GPIOs from 512: BCM 17 is gpio529.
    for name, label, base in (("gpiochip512", "pinctrl-bcm2711", 512), ("gpiochip570", "raspberrypi-exp-gpio", 570)):
        chip = tmp_path / name
        chip.mkdir(parents=True)
        (chip / "label").write_text(label + "\n")
        (chip / "base").write_text(f"{base}\n")
    folder = fake_sysfs(tmp_path, 529)
    relay = GpioAmplifier(17, root=tmp_path)
    relay.switch(True)
    assert (folder / "value").read_text() == "1"
    assert not (tmp_path / "gpio17").exists()


def test_a_gpio_that_cannot_be_driven_says_why(tmp_path: Path) -> None:
    with pytest.raises(AmplifierError, match="cannot drive GPIO 5"):
        GpioAmplifier(5, root=tmp_path / "no-gpio-here")


@pytest.mark.parametrize("kind", ["gpio", "simulated"])
def test_the_amplifier_is_on_ahead_of_an_item_and_off_after_a_quiet_while(env: Env, tmp_path: Path,
                                                                          kind: str) -> None:
    from edge_agent.agent import Agent

    relay: Amplifier
    if kind == "gpio":
        fake_sysfs(tmp_path / "sys", 22)
        relay = GpioAmplifier(22, root=tmp_path / "sys")
    else:
        relay = SimulatedAmplifier()
    config = env.agent_config("loa-01", amplifier=AmplifierSettings(kind=kind, lead_s=1.0, hold_s=1.0))
    sink = FileSink(config.played_dir)
    started: list[float] = []
    ended: list[float] = []
    real_play = sink.play

    def play(path: Path, label: str, cancel: threading.Event | None = None) -> bool:
        started.append(time.monotonic())
        try:
            return real_play(path, label, cancel)
        finally:
            ended.append(time.monotonic())

    sink.play = play  # type: ignore[method-assign]
    agent = Agent(config, sink, amplifier=relay)
    agent.start()
    env.agents["loa-01"] = agent
    env.start_worker()
    broadcast = env.broadcast("Loa bật trước khi phát.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    wait_until(lambda: len(relay.switches) == 2, timeout=10)
    (on_at, on), (off_at, off) = relay.switches
    assert on and not off
    assert started[0] - on_at >= 0.95, "on for the lead time before the sound starts"
    assert off_at - ended[0] >= 0.95, "kept on for the hold time after the sound ends"
    if isinstance(relay, GpioAmplifier):
        assert relay.level() == "0"
