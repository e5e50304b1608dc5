"""A receiver on a weak mobile link: a real mosquitto, the real worker and a real receiver whose connection to
the broker goes through a token-bucket relay (128 kbit/s down, 64 kbit/s up) that can stall to 8 kbit/s. What a
listener notices is whether the emergency plays as soon as the link allows, and what the operator pays for is
the bytes the link carried: both are counted in bytes, never in seconds."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from edge_agent.agent import Agent
from edge_agent.sinks import FileSink
from tests.support.env import Env, wait_until
from tests.support.faults import CutLink

DOWN, UP = 16_000.0, 8_000.0
"""128 kbit/s down, 64 kbit/s up, in bytes per second."""
BULLETIN = ("Thông báo về kế hoạch tiêm chủng mở rộng cho trẻ em dưới năm tuổi tại trạm y tế xã. Phụ huynh mang "
            "theo sổ tiêm chủng và giấy khai sinh của trẻ. Trẻ đang sốt hoặc đang ốm cần báo cho cán bộ y tế. ") * 3
EMERGENCY = "Khẩn cấp: nước sông đang lên nhanh, bà con vùng trũng sơ tán ngay lên nhà văn hoá thôn."
MQTT_OVERHEAD = 8_000
"""Bytes beside the audio: schedules, manifests, acknowledgements, heartbeats' answers."""


@pytest.fixture
def slow_agent(env: Env) -> Iterator[tuple[Agent, CutLink]]:
    """loa-01 behind a 128/64 kbit/s link, with the receiver's own retry timing (not the tests' 1 s)."""
    link = CutLink(env.broker.port, down=DOWN, up=UP)
    config = env.agent_config("loa-01", retry_s=3.0)
    config.mqtt.port = link.port
    agent = Agent(config, FileSink(config.played_dir, volume=config.audio.volume))
    env.agents["loa-01"] = agent
    yield agent, link
    link.close()


class Carried:
    """The bytes the link had carried down when each asset became whole on the receiver's card."""

    def __init__(self, agent: Agent, link: CutLink) -> None:
        self.agent, self.link = agent, link
        self.assets: list[str] = []
        self.at: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for asset in list(self.assets):
                if asset not in self.at and self.agent.store.asset_path(asset).exists():
                    self.at[asset] = self.link.down.carried

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def asset_of(env: Env, broadcast: dict[str, object]) -> str:
    return str(wait_until(lambda: env.status(broadcast["id"])["asset"], timeout=60))


def test_an_emergency_after_a_stall_overtakes_the_older_audio_still_on_its_way(
        env: Env, slow_agent: tuple[Agent, CutLink]) -> None:
    agent, link = slow_agent
    env.prerender(BULLETIN)
    env.prerender(EMERGENCY)
    env.start_worker()
    agent.start()
    wait_until(lambda: agent.link.settled() and len(agent.groups) == 2, timeout=30)
    carried = Carried(agent, link)
    normal = env.broadcast(BULLETIN, targets=["loa-01"])
    normal_asset = asset_of(env, normal)
    normal_size = len(env.audio_of(normal["id"]))
    carried.assets.append(normal_asset)
    wait_until(lambda: normal_asset in agent.fetches and agent.fetches[normal_asset].download is not None
               and agent.fetches[normal_asset].download.received, timeout=60)  # type: ignore[union-attr]

    link.stall()  # 8 kbit/s: the receiver's asks go unanswered for long
    start = link.down.carried
    wait_until(lambda: link.down.carried - start > 20_000, timeout=60)  # about 20 s of a stalled cell
    link.unstall()
    back = link.down.carried
    emergency = env.broadcast(EMERGENCY, targets=["all"], priority="emergency")
    emergency_asset = asset_of(env, emergency)
    emergency_size = len(env.audio_of(emergency["id"]))
    carried.assets.append(emergency_asset)
    wait_until(lambda: env.device_states(emergency["id"])["loa-01"] == "played", timeout=90)
    wait_until(lambda: normal_asset in carried.at, timeout=90)
    carried.stop()

    assert carried.at[normal_asset] >= carried.at[emergency_asset], (
        f"the emergency's audio was whole before the older bulletin's (bytes carried: {carried.at}, audio: "
        f"{normal_size} and {emergency_size}, link back at {back})")
    before_emergency = carried.at[emergency_asset] - back
    assert before_emergency <= emergency_size + 40_000 + MQTT_OVERHEAD, (
        f"once the link was back it carried {before_emergency} bytes before the emergency's {emergency_size} were "
        "whole: it waited behind older audio")
    total = carried.at[normal_asset]
    assert total <= 1.25 * (normal_size + emergency_size) + 2 * MQTT_OVERHEAD, (
        f"the link carried {total} bytes for {normal_size + emergency_size} bytes of audio")
    assert len(env.played_files("loa-01")) >= 1


def test_a_bulletin_over_a_128_kbit_link_arrives_whole_without_a_second_copy(
        env: Env, slow_agent: tuple[Agent, CutLink]) -> None:
    agent, link = slow_agent
    env.prerender(BULLETIN)
    env.start_worker()
    agent.start()
    wait_until(agent.link.settled, timeout=30)
    start = link.down.carried
    normal = env.broadcast(BULLETIN, targets=["loa-01"])
    wait_until(lambda: env.device_states(normal["id"])["loa-01"] in ("playing", "played"), timeout=60)
    audio = env.audio_of(normal["id"])
    assert agent.store.asset_path(asset_of(env, normal)).read_bytes() == audio
    carried = link.down.carried - start
    assert carried <= len(audio) + MQTT_OVERHEAD, f"{carried} bytes carried for {len(audio)} bytes of audio"
    assert env.device_states(normal["id"])["loa-01"] in ("playing", "played"), "the village hears it"
