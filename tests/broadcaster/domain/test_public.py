"""What a commune's public page lists: every occurrence of a weekly broadcast that played, a live session only
with its kept recording, never a relay (someone else's stream), nor content sent back for approval after it aired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from broadcaster.db import (
    Area,
    Asset,
    Broadcast,
    Bulletin,
    Delivery,
    LiveSession,
    OccurrencePlay,
    Recurrence,
    Relay,
    utcnow,
)
from broadcaster.domain import public
from broadcaster.domain.errors import Refusal
from tests.support.env import Env


def test_what_the_public_page_lists(env: Env) -> None:
    now = utcnow()
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one()
        commune.public = True
        commune_id = commune.id

        def aired(title: str, state: str = "approved", minutes_ago: int = 60) -> Broadcast:
            asset = Asset(id=f"{len(title):02d}{title.encode().hex()}"[:64].ljust(64, "0"), codec="opus", size=1000,
                          duration_s=5.0)
            bulletin = Bulletin(title=title, text=f"{title}.", state=state, created_by=1)
            session.add_all([asset, bulletin])
            session.flush()
            broadcast = Broadcast(bulletin_id=bulletin.id, priority="normal", state="sent", created_by=1,
                                  asset_id=asset.id, play_at=now - timedelta(minutes=minutes_ago))
            session.add(broadcast)
            session.flush()
            session.add(Delivery(broadcast_id=broadcast.id, device_id="loa-01", state="played",
                                 started_at=now - timedelta(minutes=minutes_ago)))
            return broadcast

        aired("Tin thường")
        aired("Sửa sau khi phát", state="submitted")
        relay = aired("Tiếp sóng đài tỉnh")
        session.add(Relay(broadcast_id=relay.id, url="https://dai.example/live", window_s=600))
        kept, lost = aired("Nói trực tiếp có ghi âm", minutes_ago=30), aired("Nói trực tiếp không ghi âm")
        recording = Asset(id="f" * 64, codec="opus", size=2000, duration_s=60.0)
        session.add(recording)
        session.flush()
        for broadcast, asset in ((kept, recording.id), (lost, None)):
            session.add(LiveSession(broadcast_id=broadcast.id, session=f"s{broadcast.id}", speaker_id=1, state="ended",
                                    max_s=600, asset_id=asset, started_at=now, ended_at=now))
        weekly = aired("Bản tin hằng tuần", minutes_ago=24 * 60)
        session.add(Recurrence(broadcast_id=weekly.id, rule='{"weekdays": [1], "times": ["06:00"], '
                                                            '"start": "2026-01-05"}'))
        for days in (1, 8):
            occurrence = now - timedelta(days=days)
            session.add(OccurrencePlay(broadcast_id=weekly.id, device_id="loa-01", occurrence=occurrence,
                                       state="played", started_at=occurrence))
        session.add(OccurrencePlay(broadcast_id=weekly.id, device_id="loa-01", occurrence=now - timedelta(days=15),
                                   state="missed"))

    with env.db.session() as session:
        listed = public.aired(session, commune_id)
        titles = [a.title for a in listed]
        assert titles == ["Nói trực tiếp có ghi âm", "Tin thường", "Bản tin hằng tuần", "Bản tin hằng tuần"], \
            "newest first; each weekly play that aired; no relay, no unkept live, nothing not approved now"
        assert listed[0].asset.id == "f" * 64, "a live session is heard from its kept recording"
        assert len({a.guid for a in listed}) == len(listed)
        session.get(Area, commune_id).public = False
    with env.db.session() as session, pytest.raises(Refusal) as refused:
        public.aired(session, commune_id)
    assert refused.value.status == 404
