"""The amplifier relay: switched on a little before an item plays and off a while after the last one.

``GpioAmplifier`` drives a relay through the Linux sysfs GPIO files (``/sys/class/gpio``, still present on
Raspberry Pi OS), so it needs no extra package; ``SimulatedAmplifier`` keeps the same state in memory and
a log of its switching, for the demo and for tests. Both satisfy the same tests.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

logger = logging.getLogger(__name__)


class AmplifierError(Exception):
    pass


class Amplifier(ABC):
    present = True
    """False when no relay is wired: nothing to warm up, nothing to report."""

    def __init__(self) -> None:
        self.is_on = False
        self.switches: list[tuple[float, bool]] = []
        """(monotonic time, on) of every change, newest last."""
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return "on" if self.is_on else "off"

    def switch(self, on: bool) -> None:
        with self._lock:
            if on == self.is_on:
                return
            self._set(on)
            self.is_on = on
            self.switches.append((time.monotonic(), on))
        logger.info("amplifier %s", "on" if on else "off")

    @abstractmethod
    def _set(self, on: bool) -> None: ...


class SimulatedAmplifier(Amplifier):
    def _set(self, on: bool) -> None:
        pass


class NoAmplifier(Amplifier):
    """No relay is wired: switching does nothing and no state is reported."""

    present = False

    def _set(self, on: bool) -> None:
        pass


PI_GPIO_CHIPS = ("pinctrl-bcm2835", "pinctrl-bcm2711", "pinctrl-bcm2712", "pinctrl-rp1")
"""Labels of the Raspberry Pi's main GPIO controller (Pi 1-3, Pi 4, Pi 5)."""


def sysfs_number(pin: int, root: Path) -> int:
    """The sysfs number of BCM GPIO ``pin``: the pin plus the base of the Pi's main GPIO controller. Kernels
    before 6.6 put that base at 0; newer ones at 512 or more, so GPIO 17 is ``gpio529`` on Raspberry Pi OS
    Bookworm. Where no Pi controller is listed the pin is taken as is."""
    for chip in sorted(root.glob("gpiochip*")):
        try:
            label = (chip / "label").read_text().strip()
            base = int((chip / "base").read_text())
        except (OSError, ValueError):
            continue
        if label in PI_GPIO_CHIPS:
            return base + pin
    return pin


class GpioAmplifier(Amplifier):
    """A relay on GPIO ``pin`` through sysfs; ``active_high`` false for boards that switch on a low level."""

    def __init__(self, pin: int, active_high: bool = True, root: Path = Path("/sys/class/gpio")) -> None:
        super().__init__()
        self.pin, self.active_high, self.root = pin, active_high, root
        number = sysfs_number(pin, root)
        self.folder = root / f"gpio{number}"
        try:
            if not self.folder.exists():
                (root / "export").write_text(str(number))
            (self.folder / "direction").write_text("out")
        except OSError as exc:
            raise AmplifierError(f"cannot drive GPIO {pin} under {root}: {exc.strerror} (is the agent in the "
                                 "gpio group, and the pin free?)") from None
        self._set(False)

    def _set(self, on: bool) -> None:
        level = on if self.active_high else not on
        try:
            (self.folder / "value").write_text("1" if level else "0")
        except OSError as exc:
            raise AmplifierError(f"cannot switch GPIO {self.pin}: {exc.strerror}") from None

    def level(self) -> str:
        return (self.folder / "value").read_text().strip()
