"""Hosts of their own on this machine: network namespaces joined by veth pairs or a shared bridge, with links
that can be cut, restored and shaped (rate, loss, and delay where the kernel has netem).

Everything lives inside namespaces this module creates (named ``lx<pid>-<n>-<host>``) and uses private
addresses of 10.77.0.0/16 there; the machine's own interfaces, routes and firewall are never touched. A
``Network`` is a context manager: leaving it (a failed test, Ctrl-C) stops the processes it started and
deletes its namespaces, which takes their veths, bridges, queueing disciplines and packet filters with them.
Namespaces a killed test process left behind are removed by the next ``Network`` (``sweep_orphans``).

Shaping uses what the kernel offers: ``tc ... tbf`` for the rate (always built in where ``tc`` works), ``tc
... netem`` for delay and loss where ``sch_netem`` exists, else loss through nftables (``numgen random``) on
the link's receiving ends, and delay is then unavailable (``Link.shape`` raises ``Unsupported``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from types import TracebackType

PREFIX = f"lx{os.getpid()}"
"""Every namespace this process makes starts with this: unique per test process, so parallel tests never meet."""

NETWORKS = itertools.count(1)


class Unsupported(Exception):
    """The kernel or the tools here cannot do what was asked; the text says what is missing."""


def _run(args: Sequence[str], check: bool = True, timeout: float = 20.0,
         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, list(args), result.stdout, result.stderr)
    return result


@cache
def unavailable_reason() -> str | None:
    """Why namespaces cannot be built here (for ``pytest.skip``), or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (or CAP_NET_ADMIN and CAP_SYS_ADMIN): not running as root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"'{tool}' is missing (apt-get install iproute2)"
    probe = f"{PREFIX}-probe"
    made = _run(["ip", "netns", "add", probe], check=False)
    if made.returncode != 0:
        return f"'ip netns add' fails here: {made.stderr.strip()}"
    try:
        veth = _run(["ip", "-n", probe, "link", "add", "name", "a", "type", "veth", "peer", "name", "b"], check=False)
        if veth.returncode != 0:
            return f"veth pairs cannot be made here: {veth.stderr.strip()}"
    finally:
        _run(["ip", "netns", "del", probe], check=False)
    return None


@cache
def netem_available() -> bool:
    """Whether ``tc qdisc ... netem`` works (the kernel has ``sch_netem``)."""
    return _qdisc_works(["netem", "delay", "1ms"])


@cache
def nft_available() -> bool:
    return shutil.which("nft") is not None


def _qdisc_works(qdisc: list[str]) -> bool:
    if unavailable_reason() is not None:
        return False
    probe = f"{PREFIX}-qprobe"
    _run(["ip", "netns", "add", probe])
    try:
        _run(["ip", "-n", probe, "link", "add", "name", "a", "type", "veth", "peer", "name", "b"])
        return _run(["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "a", "root", *qdisc],
                    check=False).returncode == 0
    finally:
        _run(["ip", "netns", "del", probe], check=False)


def sweep_orphans() -> list[str]:
    """Delete the namespaces of ``lx<pid>`` test processes that no longer run (killed before cleaning up), and
    kill what still runs inside them."""
    removed = []
    for line in _run(["ip", "netns", "list"], check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        digits = name[2:].split("-", 1)[0]
        if not (name.startswith("lx") and digits.isdigit()) or int(digits) == os.getpid():
            continue
        try:
            os.kill(int(digits), 0)
        except ProcessLookupError:
            _kill_leftovers(name)  # its brokers and receivers would otherwise run on, unseen
            _run(["ip", "netns", "del", name], check=False)
            removed.append(name)
        except PermissionError:
            pass
    return removed


@dataclass
class Host:
    """One namespace: its own loopback, interfaces, addresses, routes and packet filters."""

    name: str
    netns: str
    network: Network
    addresses: list[str] = field(default_factory=list)
    """This host's addresses, in the order its links were made."""

    @property
    def address(self) -> str:
        """The host's first address (what others connect to)."""
        if not self.addresses:
            raise ValueError(f"host {self.name} has no link yet")
        return self.addresses[0]

    def command(self, args: Sequence[str]) -> list[str]:
        """``args`` run inside this host."""
        return ["ip", "netns", "exec", self.netns, *args]

    def run(self, args: Sequence[str], check: bool = True, timeout: float = 30.0,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return _run(self.command(args), check=check, timeout=timeout, stdin=stdin)

    def popen(self, args: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """A process inside this host, stopped when the network is closed (if it still runs then)."""
        process: subprocess.Popen[bytes] = subprocess.Popen(self.command(args), **kwargs)  # type: ignore[call-overload]
        self.network.processes.append(process)
        return process

    def listening(self, port: int) -> bool:
        """Whether something in this host listens on TCP ``port``."""
        out = self.run(["ss", "-Hltn", f"sport = :{port}"], check=False).stdout
        return bool(out.strip())

    def wait_listening(self, port: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.listening(port):
                return True
            time.sleep(0.05)
        return False

    def counters(self, device: str) -> dict[str, int]:
        """``ip -s link`` counters of one of this host's devices: rx/tx bytes and packets."""
        data = json.loads(self.run(["ip", "-s", "-j", "link", "show", "dev", device]).stdout)[0]["stats64"]
        return {"rx_bytes": data["rx"]["bytes"], "rx_packets": data["rx"]["packets"],
                "tx_bytes": data["tx"]["bytes"], "tx_packets": data["tx"]["packets"]}


@dataclass
class Shape:
    rate_kbit: float | None = None
    loss_pct: float = 0.0
    delay_ms: float = 0.0


@dataclass
class Link:
    """A veth pair: ``a_dev`` in host ``a``, ``b_dev`` in host ``b`` (a bridge host when joined to one)."""

    a: Host
    a_dev: str
    b: Host
    b_dev: str
    a_address: str = ""
    """The ``a`` end's address ("" for a bridge port's host end until it has one)."""
    b_address: str = ""

    def ends(self) -> tuple[tuple[Host, str], tuple[Host, str]]:
        return (self.a, self.a_dev), (self.b, self.b_dev)

    def down(self) -> None:
        """Cut the link (both ends down: nothing crosses, TCP connections across it stall, then time out)."""
        for host, dev in self.ends():
            host.run(["ip", "link", "set", "dev", dev, "down"])

    def up(self) -> None:
        for host, dev in self.ends():
            host.run(["ip", "link", "set", "dev", dev, "up"])

    def counters(self) -> dict[str, int]:
        """What crossed from a to b (``a_to_b_bytes``) and back, from the ``a`` end's counters."""
        c = self.a.counters(self.a_dev)
        return {"a_to_b_bytes": c["tx_bytes"], "a_to_b_packets": c["tx_packets"],
                "b_to_a_bytes": c["rx_bytes"], "b_to_a_packets": c["rx_packets"]}

    def shape(self, rate_kbit: float | None = None, loss_pct: float = 0.0, delay_ms: float = 0.0,
              direction: str = "both", burst_bytes: int | None = None, queue_ms: int = 400) -> str:
        """Make the link weak, each direction on its own sending end: a token-bucket ``rate_kbit``, random
        ``loss_pct`` (0-100) and ``delay_ms``. ``direction`` is "a_to_b", "b_to_a" or "both". Returns how it
        was done ("netem" or "tbf+nft"); raises ``Unsupported`` for what this kernel cannot do."""
        senders = {"a_to_b": [(self.a, self.a_dev)], "b_to_a": [(self.b, self.b_dev)],
                   "both": [(self.a, self.a_dev), (self.b, self.b_dev)]}[direction]
        if delay_ms and not netem_available():
            raise Unsupported("the kernel has no sch_netem: delay cannot be added with tc here")
        if loss_pct and not netem_available() and not nft_available():
            raise Unsupported("no sch_netem and no 'nft' (apt-get install nftables): loss cannot be added here")
        self.clear(direction)
        how = "netem" if netem_available() and (loss_pct or delay_ms) else "tbf+nft"
        for host, dev in senders:
            parent = ["root"]
            if how == "netem":
                netem = ["netem", *(["delay", f"{delay_ms}ms"] if delay_ms else []),
                         *(["loss", f"{loss_pct}%"] if loss_pct else [])]
                host.run(["tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", *netem])
                parent = ["parent", "1:1"]
            elif loss_pct:
                peer_host, peer_dev = (self.b, self.b_dev) if host is self.a else (self.a, self.a_dev)
                _drop_on_ingress(peer_host, peer_dev, loss_pct)
            if rate_kbit:
                burst = burst_bytes or max(1600, int(rate_kbit * 1000 / 8 / 50))  # 20 ms of the rate, >= 1 MTU
                host.run(["tc", "qdisc", "add", "dev", dev, *parent, "handle", "10:", "tbf", "rate",
                          f"{rate_kbit}kbit", "burst", str(burst), "latency", f"{queue_ms}ms"])
        return how

    def clear(self, direction: str = "both") -> None:
        """Take every shaping off (the link at full speed again)."""
        ends = {"a_to_b": [(self.a, self.a_dev, self.b, self.b_dev)],
                "b_to_a": [(self.b, self.b_dev, self.a, self.a_dev)],
                "both": [(self.a, self.a_dev, self.b, self.b_dev), (self.b, self.b_dev, self.a, self.a_dev)]}
        for host, dev, peer, peer_dev in ends[direction]:
            host.run(["tc", "qdisc", "del", "dev", dev, "root"], check=False)
            if nft_available():
                peer.run(["nft", "delete", "table", "netdev", _table(peer_dev)], check=False)


def _dev(peer: Host) -> str:
    """The name of a host's device towards ``peer``: "v-" and the peer's name (15 characters at most)."""
    return f"v-{peer.name}"[:15]


def _table(dev: str) -> str:
    return "lxloss_" + "".join(ch if ch.isalnum() else "_" for ch in dev)


def _drop_on_ingress(host: Host, dev: str, loss_pct: float) -> None:
    """Drop ``loss_pct`` % of the IP packets arriving on ``dev``, at random (nftables, inside ``host`` alone).
    ARP is spared: a mobile link has none, and a lost ARP request would stall the whole link for a second."""
    per_mille = max(1, round(loss_pct * 10))
    table = _table(dev)
    rules = (f"table netdev {table} {{\n chain loss {{\n  type filter hook ingress device \"{dev}\" priority 0;\n"
             f"  meta protocol {{ ip, ip6 }} numgen random mod 1000 < {per_mille} counter drop\n }}\n}}\n")
    host.run(["nft", "-f", "-"], stdin=rules)


class Network:
    """Hosts, links and bridges, all removed on ``close()`` (or leaving the ``with`` block)."""

    def __init__(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise Unsupported(reason)
        sweep_orphans()
        self.tag = f"{PREFIX}-{next(NETWORKS)}"
        self.hosts: dict[str, Host] = {}
        self.bridges: dict[str, str] = {}
        """Bridge host name -> its subnet's first three octets."""
        self.links: list[Link] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self._subnets = itertools.count(1)
        self._peers: dict[str, itertools.count[int]] = {}

    def __enter__(self) -> Network:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def host(self, name: str) -> Host:
        """A new namespace with its loopback up."""
        if name in self.hosts:
            raise ValueError(f"host {name} exists")
        netns = f"{self.tag}-{name}"
        _run(["ip", "netns", "add", netns])
        host = Host(name, netns, self)
        self.hosts[name] = host
        host.run(["ip", "link", "set", "lo", "up"])
        return host

    def _subnet(self) -> str:
        return f"10.77.{next(self._subnets)}"

    def link(self, a: Host, b: Host) -> Link:
        """A veth pair between two hosts, with a /24 of its own: ``a`` is .1, ``b`` is .2."""
        subnet = self._subnet()
        link = self._veth(a, b, _dev(b), _dev(a))
        link.a_address, link.b_address = f"{subnet}.1", f"{subnet}.2"
        self._address(a, link.a_dev, link.a_address)
        self._address(b, link.b_dev, link.b_address)
        return link

    def bridge(self, name: str) -> Host:
        """A host holding a bridge ``br0``; hosts ``join`` it and share its /24 (the bridge host has none)."""
        host = self.host(name)
        host.run(["ip", "link", "add", "br0", "type", "bridge"])
        host.run(["ip", "link", "set", "br0", "up"])
        self.bridges[name] = self._subnet()
        self._peers[name] = itertools.count(1)
        return host

    def join(self, host: Host, bridge: Host) -> Link:
        """Connect ``host`` to the bridge: a veth whose ``a`` end is in ``host``, ``b`` end a bridge port."""
        link = self._veth(host, bridge, _dev(bridge), _dev(host))
        bridge.run(["ip", "link", "set", "dev", link.b_dev, "master", "br0"])
        link.a_address = f"{self.bridges[bridge.name]}.{next(self._peers[bridge.name])}"
        self._address(host, link.a_dev, link.a_address)
        return link

    def _veth(self, a: Host, b: Host, a_dev: str, b_dev: str) -> Link:
        _run(["ip", "-n", a.netns, "link", "add", "name", a_dev, "type", "veth",
              "peer", "name", b_dev, "netns", b.netns])
        a.run(["ip", "link", "set", "dev", a_dev, "up"])
        b.run(["ip", "link", "set", "dev", b_dev, "up"])
        link = Link(a, a_dev, b, b_dev)
        self.links.append(link)
        return link

    def _address(self, host: Host, dev: str, address: str) -> None:
        host.run(["ip", "addr", "add", f"{address}/24", "dev", dev])
        host.addresses.append(address)

    def close(self) -> None:
        """Stop every process started in these hosts, then delete the hosts (their links go with them)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        for host in self.hosts.values():
            _kill_leftovers(host.netns)
            _run(["ip", "netns", "del", host.netns], check=False)
        self.hosts.clear()


def _kill_leftovers(netns: str) -> None:
    """Kill whatever still runs inside ``netns`` (children of processes we started, which outlived them)."""
    pids = _run(["ip", "netns", "pids", netns], check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
