"""The test hosts themselves: links carry traffic, a cut link carries none, shaping holds traffic back or drops
it, and nothing is left on the machine afterwards."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support.env import wait_until
from tests.support.hosts import (
    Host,
    Network,
    Unsupported,
    netem_available,
    nft_available,
    sweep_orphans,
    unavailable_reason,
)

SERVE = textwrap.dedent("""
    import socket, sys, time
    kind = socket.SOCK_DGRAM if sys.argv[2] == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("0.0.0.0", int(sys.argv[1])))
    print("ready", flush=True)
    if kind == socket.SOCK_DGRAM:
        s.settimeout(3)
        n = 0
        try:
            while True:
                s.recv(2048); n += 1
        except TimeoutError:
            print(n, flush=True)
    else:
        s.listen()
        while True:
            c, _ = s.accept()
            total = 0
            while chunk := c.recv(65536):
                total += len(chunk)
            c.sendall(str(total).encode()); c.close()
""")

SEND = textwrap.dedent("""
    import socket, sys, time
    host, port, kind, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(size):
            s.sendto(b"x" * 200, (host, port))
            time.sleep(0.0005)
    else:
        s = socket.create_connection((host, port), timeout=3)
        s.sendall(b"x" * size); s.shutdown(socket.SHUT_WR)
        print(s.recv(100).decode())
""")


def serve(host: Host, port: int, kind: str = "tcp") -> subprocess.Popen[bytes]:
    server = host.popen([sys.executable, "-c", SERVE, str(port), kind], stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    return server


def send(host: Host, to: str, port: int, size: int, kind: str = "tcp") -> subprocess.CompletedProcess[str]:
    return host.run([sys.executable, "-c", SEND, to, str(port), kind, str(size)], check=False, timeout=60)


def test_two_hosts_talk_over_a_link_and_not_once_it_is_cut(network: Network) -> None:
    a, b = network.host("a"), network.host("b")
    link = network.link(a, b)
    assert (a.address, b.address) == ("10.77.1.1", "10.77.1.2")
    serve(b, 7000)
    assert send(a, b.address, 7000, 100_000).stdout.strip() == "100000"
    crossed = link.counters()
    assert crossed["a_to_b_bytes"] > 100_000, "the veth's counters saw the transfer"

    link.down()
    assert send(a, b.address, 7000, 10).returncode != 0, "nothing crosses a cut link"
    link.up()
    assert send(a, b.address, 7000, 10).stdout.strip() == "10", "the restored link carries traffic again"


def test_hosts_joined_to_a_bridge_reach_each_other_and_nothing_else(network: Network) -> None:
    lan = network.bridge("lan")
    hosts = [network.host(f"h{i}") for i in range(3)]
    for host in hosts:
        network.join(host, lan)
    serve(hosts[2], 7001)
    assert send(hosts[0], hosts[2].address, 7001, 5000).stdout.strip() == "5000"
    assert send(hosts[1], hosts[2].address, 7001, 5000).stdout.strip() == "5000"
    routes = hosts[0].run(["ip", "route"]).stdout
    assert "default" not in routes, "a test host has no way out of its namespaces"


def test_a_rate_limited_link_holds_traffic_back_in_its_token_bucket(network: Network) -> None:
    a, b = network.host("a"), network.host("b")
    link = network.link(a, b)
    assert link.shape(rate_kbit=512, direction="a_to_b") == "tbf+nft" or netem_available()
    serve(b, 7002)
    assert send(a, b.address, 7002, 200_000).stdout.strip() == "200000", "a slow link still delivers everything"
    qdisc = a.run(["tc", "-s", "qdisc", "show", "dev", link.a_dev]).stdout
    assert "tbf" in qdisc and "rate 512Kbit" in qdisc, qdisc
    overlimits = int(qdisc.split("overlimits")[1].split()[0])
    assert overlimits > 0, f"the token bucket never held a packet back: {qdisc}"
    link.clear()
    assert "tbf" not in a.run(["tc", "qdisc", "show", "dev", link.a_dev]).stdout


def test_a_lossy_link_drops_a_share_of_packets_at_random(network: Network) -> None:
    if not (netem_available() or nft_available()):
        pytest.skip("neither sch_netem nor nft (apt-get install nftables) is available for loss")
    a, b = network.host("a"), network.host("b")
    link = network.link(a, b)
    link.shape(loss_pct=20, direction="a_to_b")
    counter = serve(b, 7003, "udp")
    send(a, b.address, 7003, 1000, "udp")
    out, _ = counter.communicate(timeout=20)
    received = int(out.strip())
    assert 650 <= received <= 900, f"{received} of 1,000 datagrams arrived through a link losing 20%"
    link.clear()
    counter = serve(b, 7004, "udp")
    send(a, b.address, 7004, 300, "udp")
    out, _ = counter.communicate(timeout=20)
    assert int(out.strip()) == 300, "with the shaping taken off nothing is lost"


def test_delay_is_added_where_the_kernel_has_netem_and_refused_plainly_where_not(network: Network) -> None:
    a, b = network.host("a"), network.host("b")
    link = network.link(a, b)
    if netem_available():
        assert link.shape(delay_ms=50) == "netem"
        assert "netem" in a.run(["tc", "qdisc", "show", "dev", link.a_dev]).stdout
    else:
        with pytest.raises(Unsupported, match="sch_netem"):
            link.shape(delay_ms=50)


def test_closing_removes_every_namespace_and_process_even_after_a_failure() -> None:
    if (reason := unavailable_reason()) is not None:
        pytest.skip(reason)
    with pytest.raises(RuntimeError), Network() as net:
        host = net.host("x")
        sleeper = host.popen(["sleep", "60"])
        names = [h.netns for h in net.hosts.values()]
        raise RuntimeError("a test failed here")
    assert sleeper.poll() is not None, "the process started in the host was stopped"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(name in listed for name in names)


def test_namespaces_of_a_killed_test_process_are_swept() -> None:
    if (reason := unavailable_reason()) is not None:
        pytest.skip(reason)
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = f"lx{gone.pid}-1-left"
    subprocess.run(["ip", "netns", "add", orphan], check=True)
    left = subprocess.Popen(["ip", "netns", "exec", orphan, "sleep", "60"])
    try:
        wait_until(lambda: str(left.pid) in subprocess.run(["ip", "netns", "pids", orphan], capture_output=True,
                                                            text=True).stdout.split(), timeout=5, interval=0.02)
        assert orphan in sweep_orphans()
        assert left.wait(timeout=5) != 0, "what the dead test left running in its host was killed"
    finally:
        left.kill()
        left.wait()
        subprocess.run(["ip", "netns", "del", orphan], capture_output=True)
