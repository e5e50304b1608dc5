"""How long a 30 s emergency and a 3-minute bulletin take to reach a receiver on a weak mobile link, and how many
bytes the link carries for them.

Real mosquitto, worker and one receiver per link class, each in a village of its own (so an emergency to it goes
as an alert to its group), its connection to the broker through the token-bucket relay of tests/support/faults.py
(CutLink: down rate as given, up at half of it). Per class: the emergency is sent (its audio already rendered) and
timed from the API call to the whole file on the receiver's card; then the bulletin the same way. The stall class
is 128 kbit/s with the bulletin on its way, a stall (8 kbit/s) of --stall seconds, then the emergency sent the
moment the link is back: timed from then, with the bytes carried from then on.
Run:  .venv/bin/python bench/weak_link.py [--stall 60] [--chunk-kib 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import Rig
from bench.rig import start as rig_start
from broadcaster.assets import AssetStore
from broadcaster.db import Area, Device
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area
from broadcaster.speech.render import Speech
from edge_agent.agent import Agent
from edge_agent.sinks import FileSink
from tests.support.faults import CutLink

EMERGENCY = ("Khẩn cấp: nước sông đang lên nhanh, bà con vùng trũng sơ tán ngay lên nhà văn hoá thôn, mang theo "
             "giấy tờ và thuốc men, không ở lại trông nhà. ") * 3
BULLETIN = ("Thông báo về kế hoạch tiêm chủng mở rộng cho trẻ em dưới năm tuổi tại trạm y tế xã. Phụ huynh mang "
            "theo sổ tiêm chủng và giấy khai sinh của trẻ. Trẻ đang sốt hoặc đang ốm cần báo cho cán bộ y tế. ") * 11
CLASSES = [("64 kbit/s", 8_000.0, 0.0), ("128 kbit/s", 16_000.0, 0.0), ("256 kbit/s", 32_000.0, 0.0),
           ("128 kbit/s + stall", 16_000.0, 1.0)]


def wait(predicate: Any, timeout: float = 600.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise TimeoutError("condition not met")


def asset_of(rig: Rig, broadcast: dict[str, Any]) -> str:
    return str(wait(lambda: rig.client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=rig.auth)
                    .get_json()["asset"]))


def deliver(rig: Rig, agent: Agent, link: CutLink, text: str, device: str, priority: str) -> tuple[float, int, str]:
    """Seconds from the API call to the whole file on the card, and the bytes the link carried meanwhile."""
    start, carried = time.monotonic(), link.down.carried
    asset = asset_of(rig, rig.send(text, [device], priority))
    wait(lambda: agent.store.has_asset(asset))
    return time.monotonic() - start, link.down.carried - carried, asset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stall", type=float, default=60.0, help="seconds the stall class stalls")
    parser.add_argument("--chunk-kib", type=int, default=16)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-weak-"))
    devices = [f"loa-{n}" for n in range(len(CLASSES))]
    rig = rig_start(tmp, devices)
    rig.config.mqtt.chunk_kib = args.chunk_kib
    rig.worker.publisher.chunk_size = args.chunk_kib * 1024
    store = AssetStore(rig.config.asset_dir)
    with rig.db.session() as session:  # each receiver a village of its own: an emergency to it is an alert
        commune = session.query(Area).filter_by(name="Thôn").one()
        for device_id in devices:
            village = ensure_area(session, f"Thôn {device_id}", "village", commune)
            ensure_airtime(session, village, "00:00", "24:00")
            session.get(Device, device_id).village_id = village.id  # type: ignore[union-attr]
        speech = Speech(rig.config.speech, store)
        sizes = {text: speech.render(session, text) for text in (EMERGENCY, BULLETIN)}
        durations = {text: (asset.size, asset.duration_s) for text, asset in sizes.items()}
    (e_size, e_duration), (b_size, b_duration) = durations[EMERGENCY], durations[BULLETIN]
    print(f"chunks of {args.chunk_kib} KiB; emergency {e_duration:.0f} s of audio ({e_size} bytes), "
          f"bulletin {b_duration:.0f} s ({b_size} bytes)")
    print(f"{'link':<22}{'emergency: s':>14}{'bytes/audio':>13}{'bulletin: s':>13}{'bytes/audio':>13}")
    try:
        for (name, rate, stall), device in zip(CLASSES, devices, strict=True):
            link = CutLink(rig.broker.port, down=rate, up=rate / 2)
            config = rig.agent_config(device)
            config.mqtt.port = link.port
            agent = Agent(config, FileSink(config.played_dir))
            agent.start()
            wait(lambda agent=agent: agent.link.settled() and agent.groups)
            if stall:
                bulletin = rig.send(BULLETIN, [device])
                normal = asset_of(rig, bulletin)
                wait(lambda agent=agent, normal=normal: normal in agent.fetches
                     and agent.fetches[normal].download is not None)
                link.stall()
                time.sleep(args.stall)
                link.unstall()
                e_s, e_bytes, _ = deliver(rig, agent, link, EMERGENCY, device, "emergency")
                start, carried = time.monotonic(), link.down.carried
                wait(lambda agent=agent, normal=normal: agent.store.has_asset(normal))
                b_s, b_bytes = time.monotonic() - start + e_s, link.down.carried - carried + e_bytes
                note = f"  (link carried {link.down.carried} bytes in all)"
            else:
                e_s, e_bytes, _ = deliver(rig, agent, link, EMERGENCY, device, "emergency")
                b_s, b_bytes, _ = deliver(rig, agent, link, BULLETIN, device, "normal")
                note = ""
            e_ratio = e_bytes / durations[EMERGENCY][0]
            b_ratio = b_bytes / (durations[BULLETIN][0] + (durations[EMERGENCY][0] if stall else 0))
            print(f"{name:<22}{e_s:>14.1f}{e_ratio:>13.2f}{b_s:>13.1f}{b_ratio:>13.2f}{note}", flush=True)
            agent.stop()
            link.close()
    finally:
        rig.stop()


if __name__ == "__main__":
    main()
