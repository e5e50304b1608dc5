"""Regional brokers for real: a central mosquitto, two regional ones bridged to it, each in a host of its own,
the worker on the central host and real receivers behind each region (tests/support/regions.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.ops.broker import bridge_lines
from tests.support.env import wait_until
from tests.support.hosts import Network, unavailable_reason
from tests.support.regions import REGIONS, Province, record

pytestmark = pytest.mark.xdist_group("regions")  # one province, built once, for the whole module

EMERGENCY = "Khẩn cấp: lũ quét trên sông Lô, bà con di chuyển lên vùng cao ngay."


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with Network() as network:
        built = Province(network, tmp_path_factory.mktemp("province"))
        try:
            wait_until(lambda: built.online() >= set(built.devices), timeout=60)
            yield built
        finally:
            built.close()


def test_an_emergency_to_the_province_plays_once_everywhere_and_crosses_each_bridge_once(province: Province) -> None:
    env = province.env
    before = {region: province.sent_to(region) for region in province.links}
    plays = province.plays()
    clicked = time.monotonic()
    emergency = env.broadcast(EMERGENCY, priority="emergency")
    wait_until(lambda: set(env.device_states(emergency["id"]).values()) == {"played"}, timeout=90)
    seconds = time.monotonic() - clicked
    sent = {region: province.sent_to(region) - before[region] for region in province.links}
    audio = len(env.audio_of(emergency["id"]))
    after = province.plays()
    assert {d: after[d] - plays[d] for d in after} == dict.fromkeys(province.devices, 1), "each receiver played it once"
    record(figure="emergency", audio_bytes=audio, seconds_to_all_played=round(seconds, 1),
           **{f"sent_to_{r}": n for r, n in sent.items()})
    for region, devices in (("a", 2), ("b", 3)):
        print(f"region {region}: {sent[region]} bytes for {audio} bytes of audio and {devices} receivers")
    # Per receiver, region b (3) would take half as much again as region a (2): per region, they take the same.
    assert sent["b"] < 1.25 * sent["a"], f"the centre's bytes to each region grew with its receivers: {sent}"
    # An emergency's audio goes out twice (the group's copy for the alert, the retained copy for receivers that
    # come later): two copies and the signed messages, never one per receiver.
    assert sent["b"] < 3 * audio, f"the centre sent region b {sent['b']} bytes for {audio} bytes of audio"


def test_a_bridge_cut_during_an_emergency_delivers_it_late_once_the_link_is_back(province: Province) -> None:
    env, link = province.env, province.links["a"]
    plays = province.plays()
    link.down()
    try:
        emergency = env.broadcast(EMERGENCY, priority="emergency")
        far, near = REGIONS["a"], REGIONS["b"]
        wait_until(lambda: {env.device_states(emergency["id"])[d] for d in near} == {"played"}, timeout=90)
        states = env.device_states(emergency["id"])
        assert {states[d] for d in far} == {"pending"}, f"nothing crossed the cut bridge: {states}"
    finally:
        link.up()
    every_receiver_plays_it_once(province, emergency["id"], plays, "bridge_cut",
                                 "seconds_from_link_up_to_all_played")


def test_a_regional_broker_killed_and_restarted_brings_its_region_the_broadcast_it_missed(
        province: Province) -> None:
    env, broker = province.env, province.regional["b"]
    plays = province.plays()
    broker.kill()
    try:
        sent = env.broadcast("Thông báo: họp thôn lúc 19 giờ tối nay tại nhà văn hoá.")
        wait_until(lambda: {env.device_states(sent["id"])[d] for d in REGIONS["a"]} == {"played"}, timeout=90)
        assert {env.device_states(sent["id"])[d] for d in REGIONS["b"]} == {"pending"}
    finally:
        broker.start()
    every_receiver_plays_it_once(province, sent["id"], plays, "regional_restart",
                                 "seconds_from_restart_to_all_played")


def test_with_the_central_broker_down_receivers_play_what_they_hold_and_report_it_later(
        province: Province) -> None:
    env = province.env
    plays = province.plays()
    play_at = datetime.now(UTC) + timedelta(seconds=20)
    sent = env.broadcast("Thông báo: sáng mai cắt điện từ 7 giờ đến 11 giờ.", play_at=play_at.isoformat())
    wait_until(lambda: set(env.device_states(sent["id"]).values()) == {"delivered"}, timeout=60)
    province.central.stop()
    try:
        wait_until(lambda: all(n > plays[d] for d, n in province.plays().items()), timeout=90)
        states = set(env.device_states(sent["id"]).values())
        assert states == {"delivered"}, f"no report can reach the server while the centre is down: {states}"
    finally:
        province.central.start()
    restarted = time.monotonic()
    wait_until(lambda: set(env.device_states(sent["id"]).values()) == {"played"}, timeout=120)
    record(figure="central_down", seconds_from_restart_to_all_reports=round(time.monotonic() - restarted, 1))
    after = province.plays()
    assert {d: after[d] - plays[d] for d in after} == dict.fromkeys(province.devices, 1), "played once each"


def test_the_regional_example_bridges_exactly_the_topics_the_tested_bridges_carry() -> None:
    """config/mosquitto-region.example.conf is what operators copy: its bridge must be the one tested here."""
    example = (Path(__file__).parents[2] / "config" / "mosquitto-region.example.conf").read_text().splitlines()
    generated = bridge_lines("loaxa", "loaxa-central", "central.loa.example.vn", 8883, "bridge-huyen-a", "x")
    topics = sorted(line for line in example if line.startswith("topic "))
    assert topics == sorted(line for line in generated if line.startswith("topic "))
    for setting in ("cleansession false", "try_private true"):
        assert setting in example and setting in generated


def every_receiver_plays_it_once(province: Province, broadcast_id: object, plays: dict[str, int], figure: str,
                                 measure: str) -> None:
    """From now on, every receiver plays the broadcast, each exactly once more than ``plays``; the wait is
    recorded as ``measure`` of ``figure``."""
    began = time.monotonic()
    wait_until(lambda: set(province.env.device_states(broadcast_id).values()) == {"played"}, timeout=120)
    record(figure=figure, **{measure: round(time.monotonic() - began, 1)})
    after = province.plays()
    assert {d: after[d] - plays[d] for d in after} == dict.fromkeys(province.devices, 1), "played once each"
