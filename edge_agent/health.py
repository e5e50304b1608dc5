"""What a receiver can tell about its own health, read from Linux without extra packages.

Every reading is optional: a value the platform does not expose is None, never a guess.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STA_UNSYNC = 0x0040
"""adjtimex status bit: the kernel clock is not synchronized (no NTP daemon has disciplined it)."""
STA_NANO = 0x2000
"""adjtimex status bit: ``offset`` is in nanoseconds rather than microseconds."""


@dataclass
class Health:
    load_1m: float | None = None
    cpu_temp_c: float | None = None
    mem_available_mb: int | None = None
    disk_free_mb: int | None = None
    ntp_synced: bool | None = None
    clock_offset_ms: float | None = None
    """The offset the kernel is still correcting towards NTP time (adjtimex), when an NTP daemon disciplines it."""
    clock_error_ms: float | None = None
    """The kernel's estimate of its clock error (adjtimex esterror)."""
    link_quality: int | None = None
    """Wi-Fi link quality (0-100) from /proc/net/wireless, when the uplink is Wi-Fi."""


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def load_1m() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def cpu_temp_c(root: str = "/sys/class/thermal") -> float | None:
    """The CPU's temperature (the Raspberry Pi's thermal_zone0), in degrees Celsius."""
    for zone in sorted(Path(root).glob("thermal_zone*")):
        kind = (_read(str(zone / "type")) or "").strip()
        raw = _read(str(zone / "temp"))
        if raw and raw.strip().lstrip("-").isdigit() and kind in ("cpu-thermal", "x86_pkg_temp", "soc_thermal", ""):
            return round(int(raw) / 1000, 1)
    return None


def mem_available_mb() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return None


def disk_free_mb(path: Path) -> int | None:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize // (1024 * 1024)


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux, 64-bit and 32-bit alike: longs and ints in this order).
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("padding", ctypes.c_int * 11)]


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once (find_library runs ldconfig: not something to do every heartbeat)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


@dataclass
class Clock:
    synced: bool | None = None
    offset_ms: float | None = None
    error_ms: float | None = None


def clock() -> Clock:
    """What the kernel knows about its clock's synchronization (adjtimex, read-only); all None where unknown."""
    libc = _libc()
    if libc is None:
        return Clock()
    try:
        timex = _Timex()  # modes = 0: read only
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return Clock()
    return _clock_of(state, timex)


def _clock_of(state: int, timex: _Timex) -> Clock:
    if state < 0:
        return Clock()
    synced = not (timex.status & STA_UNSYNC) and state != 5  # 5 = TIME_ERROR: the clock is not synchronized
    if not synced:
        return Clock(synced=False)
    offset_ms = timex.offset / (1e6 if timex.status & STA_NANO else 1e3)
    return Clock(synced=True, offset_ms=round(offset_ms, 3), error_ms=round(timex.esterror / 1e3, 3))


def link_quality() -> int | None:
    lines = (_read("/proc/net/wireless") or "").splitlines()[2:]
    for line in lines:
        parts = line.split()
        if len(parts) > 2:
            try:
                return min(100, int(float(parts[2].rstrip("."))) * 100 // 70)
            except ValueError:
                continue
    return None


def read(cache_dir: Path) -> Health:
    kernel = clock()
    return Health(load_1m=load_1m(), cpu_temp_c=cpu_temp_c(), mem_available_mb=mem_available_mb(),
                  disk_free_mb=disk_free_mb(cache_dir), ntp_synced=kernel.synced, clock_offset_ms=kernel.offset_ms,
                  clock_error_ms=kernel.error_ms, link_quality=link_quality())
