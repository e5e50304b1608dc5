"""A small province for the dashboard's roll-up tests: its tree, its clusters and what went wrong in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from broadcaster.db import Alarm, Broadcast, Bulletin, Delivery, Device, DeviceHealth, DeviceSetting, User
from broadcaster.domain import rollup
from broadcaster.ops.bootstrap import ensure_area, ensure_device
from tests.support.env import Env

# A small province: two districts; Huyện Bắc has two communes, Huyện Nam one; five villages; nine clusters.
TREE = {
    "Huyện Bắc": {"Xã Đông": {"Thôn Đông 1": 3, "Thôn Đông 2": 2}, "Xã Tây": {"Thôn Tây 1": 1}},
    "Huyện Nam": {"Xã Hòa": {"Thôn Hòa 1": 2, "Thôn Hòa 2": 1}},
}


@pytest.fixture
def province(env: Env, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The tree above, each cluster ``<village>-<n>``; returns area ids by name. Counts read fresh."""
    monkeypatch.setattr(rollup, "SUMMARY_S", 0.0)
    ids: dict[str, int] = {}
    with env.db.session() as session:
        top = ensure_area(session, "Tỉnh Mẫu", "province")
        ids["Tỉnh Mẫu"] = top.id
        for district, communes in TREE.items():
            d = ensure_area(session, district, "district", top)
            ids[district] = d.id
            for commune, villages in communes.items():
                c = ensure_area(session, commune, "commune", d)
                ids[commune] = c.id
                for village, count in villages.items():
                    v = ensure_area(session, village, "village", c)
                    ids[village] = v.id
                    for n in range(count):
                        device = ensure_device(session, f"{slug(village)}-{n + 1}", f"Loa {village} số {n + 1}", v)
                        device.online = True
    return ids


def slug(village: str) -> str:
    return {"Thôn Đông 1": "dong1", "Thôn Đông 2": "dong2", "Thôn Tây 1": "tay1", "Thôn Hòa 1": "hoa1",
            "Thôn Hòa 2": "hoa2"}[village]


def troubles(env: Env) -> None:
    """What the worker would have stored: dong1-1 silent, dong1-2 playing, dong2-1 switched off by an operator,
    tay1-1 on a weak link with an open alarm, hoa1-1 failed a broadcast today; an emergency to Huyện Bắc's six
    clusters that four played."""
    now = datetime.now(UTC)
    with env.db.session() as session:
        admin = session.query(User).filter_by(username="admin").one()
        session.get(Device, "dong1-1").online = False  # type: ignore[union-attr]
        bulletin = Bulletin(title="Cảnh báo lũ", text="Lũ lên nhanh.", state="approved", created_by=admin.id)
        session.add(bulletin)
        session.flush()
        emergency = Broadcast(bulletin_id=bulletin.id, priority="emergency", state="sent", created_by=admin.id,
                              play_at=now, sent_at=now)
        normal = Broadcast(bulletin_id=bulletin.id, priority="normal", state="sent", created_by=admin.id,
                           play_at=now, sent_at=now)
        session.add_all([emergency, normal])
        session.flush()
        session.get(Device, "dong1-2").now_playing = normal.id  # type: ignore[union-attr]
        session.add(DeviceSetting(device_id="dong2-1", enabled=False, set_by=admin.id))
        session.add(DeviceHealth(device_id="tay1-1", reported=json.dumps({"link_quality": 12})))
        session.add(Alarm(device_id="tay1-1", kind="silence", message="silent"))
        session.add(Delivery(broadcast_id=normal.id, device_id="hoa1-1", state="failed", updated_at=now))
        for device_id, state in {"dong1-1": "delivered", "dong1-2": "played", "dong1-3": "played",
                                 "dong2-1": "played", "dong2-2": "played", "tay1-1": "sent"}.items():
            session.add(Delivery(broadcast_id=emergency.id, device_id=device_id, state=state, updated_at=now))


