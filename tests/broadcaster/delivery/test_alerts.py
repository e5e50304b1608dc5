"""Emergencies to whole areas: one signed alert on the area's group topic, its audio behind it, over the
subscription every receiver of the area already holds; a real broker, worker and agents."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.assets import AssetStore
from broadcaster.db import Area, Device
from broadcaster.domain.areas import areas_covering, group_name, groups_of
from edge_agent.agent import Agent
from edge_agent.protocol import Alert, Message, Schedule, ScheduleEntry, Topics
from edge_agent.protocol.signing import Signer
from tests.support.env import SERVER_USER, Env, wait_until

EMERGENCY = "Khẩn cấp: nước sông đang lên nhanh, bà con vùng trũng sơ tán ngay."


class Watch:
    """Every message the broker passes on under some topic filters, seen as the server user."""

    def __init__(self, env: Env, *filters: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{env.config.mqtt.topic_root}")
        self.client.username_pw_set(SERVER_USER, env.broker.users[SERVER_USER])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", env.broker.server_port)
        for topic in filters:
            self.client.subscribe(f"{env.config.mqtt.topic_root}/{topic}", qos=1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def topics(self, part: str) -> list[str]:
        with self.lock:
            return [topic for topic, _ in self.messages if part in topic]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def watch(env: Env) -> Iterator[Watch]:
    seen = Watch(env, "grp/#", "dev/+/req", "dev/+/evt/#")
    yield seen
    seen.stop()


def area_id(env: Env, name: str) -> int:
    with env.db.session() as session:
        return session.query(Area).filter_by(name=name).one().id


def test_an_emergency_to_the_whole_commune_is_one_alert_that_every_receiver_plays(env: Env, watch: Watch) -> None:
    env.start_worker()
    agents = [env.start_agent(d) for d in ("loa-01", "loa-02", "loa-03")]
    commune = group_name(area_id(env, "Xã Thử"))
    # Coming online, each receiver is sent its schedule with its groups: its village and the commune.
    wait_until(lambda: all(commune in a.groups and len(a.groups) == 2 for a in agents))

    normal = env.broadcast("Thông báo họp thôn tối nay.")
    wait_until(lambda: {env.device_states(normal["id"])[a.id] for a in agents} == {"played"}, timeout=60)
    assert watch.topics("/alert") == [], "a normal bulletin goes by each receiver's schedule"

    emergency = env.broadcast(EMERGENCY, priority="emergency")
    wait_until(lambda: {env.device_states(emergency["id"])[a.id] for a in agents} == {"played"}, timeout=60)
    topics = Topics(env.config.mqtt.topic_root)
    assert watch.topics("/alert") == [topics.alert(commune)], "one alert for the commune, none per village"
    asset = str(env.status(emergency["id"])["asset"])
    chunks = AssetStore(env.config.asset_dir).chunks(asset, env.config.mqtt.chunk_kib * 1024)
    assert sorted(watch.topics(f"/grp/{commune}/blob/")) == sorted(
        topics.group_chunk(commune, asset, seq) for seq in range(len(chunks))), "its audio once, behind it"
    assert watch.topics("/req") == [], "no receiver had to ask for the audio"
    for agent in agents:
        assert len(env.played_files(agent.id)) == 2


def test_a_receiver_away_during_the_alert_plays_the_emergency_from_its_schedule(env: Env, watch: Watch) -> None:
    env.start_worker()
    present = env.start_agent("loa-01")
    wait_until(lambda: len(present.groups) == 2)
    emergency = env.broadcast(EMERGENCY, priority="emergency")
    wait_until(lambda: env.device_states(emergency["id"])["loa-01"] == "played", timeout=60)
    assert watch.topics("/alert"), "the commune was alerted while loa-02 was away"
    env.start_agent("loa-02")  # comes back within the emergency's grace: its retained schedule has it
    wait_until(lambda: env.device_states(emergency["id"])["loa-02"] == "played", timeout=60)
    assert len(env.played_files("loa-02")) == 1


def test_areas_whose_every_receiver_is_targeted_are_alerted_whole(env: Env) -> None:
    with env.db.session() as session:
        villages = {d.id: d.village_id for d in session.query(Device)}
        commune = session.query(Area).filter_by(name="Xã Thử").one().id
        everyone = sorted(villages)
        assert areas_covering(session, everyone) == {group_name(commune): set(everyone)}
        assert areas_covering(session, ["loa-01", "loa-02"]) == {group_name(villages[d]): {d}
                                                                  for d in ("loa-01", "loa-02")}
        assert groups_of(session, ["loa-01"]) == {"loa-01": [group_name(villages["loa-01"]), group_name(commune)]}
        # A second cluster in loa-01's village: loa-01 alone no longer makes the whole village.
        session.add(Device(id="loa-01b", name="Cụm loa 1b", village_id=villages["loa-01"]))
        session.flush()
        assert areas_covering(session, ["loa-01"]) == {}
        others = {group_name(v) for d, v in villages.items() if d != "loa-01"}
        assert set(areas_covering(session, everyone)) == others, \
            "the commune has a cluster not targeted now: its other villages are alerted, loa-01 by its schedule"


def test_a_moved_receiver_listens_for_its_new_villages_alerts(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-01")
    with env.db.session() as session:
        before = groups_of(session, ["loa-01"])["loa-01"]
    wait_until(lambda: agent.groups == before)
    with env.db.session() as session:
        device = session.get(Device, "loa-01")
        assert device is not None
        device.village_id = area_id(env, "Thôn 2")
    agent.stop()
    again = env.start_agent("loa-01")
    wait_until(lambda: again.groups == [group_name(area_id(env, "Thôn 2")), before[-1]])


def ogg(tmp: Path) -> bytes:
    path = tmp / "tone.ogg"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=500:duration=2",
                    "-c:a", "libopus", "-b:a", "24k", str(path)], check=True)
    return path.read_bytes()


class Server:
    """Alerts published by hand for one receiver, as the worker publishes them (no worker runs)."""

    def __init__(self, env: Env, watch: Watch, tmp: Path) -> None:
        self.env, self.watch = env, watch
        self.topics = Topics(env.config.mqtt.topic_root)
        store = AssetStore(tmp / "assets")
        self.asset = store.put(ogg(tmp))
        self.manifest = store.manifest(self.asset, 2.0, chunk_size=4096)
        self.chunks = store.chunks(self.asset, 4096)

    def join(self, agent: Agent, groups: list[str]) -> None:
        topic = self.topics.schedule(agent.id)
        schedule = Schedule(agent.id, datetime.now(UTC), [], groups=groups)
        self.watch.publish(topic, self.env.signed(topic, schedule), retain=True)
        wait_until(lambda: agent.groups == groups and agent.link.settled())

    def alert(self, group: str, broadcast_id: int, signed: bool = True, skip: tuple[int, ...] = ()) -> None:
        entry = ScheduleEntry(broadcast_id, self.asset, "Khẩn cấp", "emergency", None, datetime.now(UTC), 120)
        message: Message = Alert(group, entry, self.manifest)
        topic = self.topics.alert(group)
        payload = self.env.signed(topic, message) if signed else \
            Signer.generate().sign(topic, message.to_dict(), timedelta(days=1))
        self.watch.publish(topic, payload)
        for seq, chunk in enumerate(self.chunks):
            if seq not in skip:
                self.watch.publish(self.topics.group_chunk(group, self.asset, seq), chunk)


def test_a_receiver_plays_an_alert_for_its_group_once_without_any_schedule(
        env: Env, watch: Watch, tmp_path: Path) -> None:
    server = Server(env, watch, tmp_path)
    agent = env.start_agent("loa-01")
    server.join(agent, ["a7", "a1"])
    server.alert("a1", 41)
    wait_until(lambda: len(env.played_files("loa-01")) == 1, timeout=30)
    assert watch.topics("/req") == [], "the audio came behind the alert"
    wait_until(lambda: any(b'"played"' in p for t, p in watch.messages if t.endswith("/evt/playback")))
    server.alert("a7", 41)  # the same emergency for the village too, and the commune's alert again
    server.alert("a1", 41)
    wait_until(lambda: agent.inbox.empty())
    assert len(env.played_files("loa-01")) == 1, "an emergency plays once, however many of its alerts come"


def test_a_forged_alert_and_another_groups_alert_are_refused(env: Env, watch: Watch, tmp_path: Path) -> None:
    server = Server(env, watch, tmp_path)
    agent = env.start_agent("loa-01")
    server.join(agent, ["a1"])
    server.alert("a1", 42, signed=False)
    wait_until(lambda: any(t.endswith("/evt/refused") for t, _ in watch.messages))
    topic = server.topics.alert("a9")  # not a group of this receiver (it does not even subscribe to it)
    agent._handle(topic, env.signed(topic, Alert("a9", ScheduleEntry(
        43, server.asset, "Khẩn cấp", "emergency", None, datetime.now(UTC), 120), server.manifest)))
    wait_until(lambda: agent.inbox.empty())
    assert agent.store.of_broadcast(42) == [] and agent.store.of_broadcast(43) == []
    assert env.played_files("loa-01") == []


def test_an_alert_whose_audio_stalls_is_completed_from_the_assets_own_topics(
        env: Env, watch: Watch, tmp_path: Path) -> None:
    server = Server(env, watch, tmp_path)
    agent = env.start_agent("loa-01")
    server.join(agent, ["a1"])
    server.alert("a1", 44, skip=(1,))  # a chunk lost on the way
    wait_until(lambda: watch.topics("/req"), timeout=30)  # retry_s is 1 s in the tests
    server.watch.publish(server.topics.chunk(server.asset, 1), server.chunks[1], retain=True)
    wait_until(lambda: len(env.played_files("loa-01")) == 1, timeout=30)
