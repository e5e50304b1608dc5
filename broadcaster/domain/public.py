"""A commune's public page and podcast feed: what aired on its loudspeakers, for people who missed it.

An admin opts a commune in. Listed: approved content that really played on at least one cluster of the commune
(its villages' clusters), with the audio that aired; a live session only when its recording was kept. Nothing
internal is listed: no drafts, nothing rejected or still to air, no user, device, failure or comment, nothing
that aired only in another commune. A commune not opted in is not found, as an unknown one is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import Session, selectinload

from broadcaster.db import Area, Asset, Broadcast, Bulletin, Delivery, Device, OccurrencePlay, User
from broadcaster.domain.access import audit, require, scope_of
from broadcaster.domain.areas import below
from broadcaster.domain.errors import Refusal

MAX_ITEMS = 2000
"""The most aired items a page or feed reaches back to (newest first)."""


@dataclass(frozen=True)
class Aired:
    guid: str
    """Stable and unique: the commune, the broadcast and (for a recurring one) the occurrence."""
    title: str
    text: str
    aired_at: datetime
    """When it first started on one of the commune's clusters (as the cluster reported it)."""
    asset: Asset


def public_commune(session: Session, area_id: int) -> Area:
    area = session.get(Area, area_id)
    if area is None or area.kind != "commune" or not area.public:
        raise Refusal("not_found", f"there is no public page {area_id}", status=404)
    return area


def aired(session: Session, area_id: int, limit: int = MAX_ITEMS) -> list[Aired]:
    """What aired in the commune, newest first."""
    commune = public_commune(session, area_id)
    devices = session.query(Device.id).filter(Device.village_id.in_(below(session, [commune.id])))
    once = (session.query(Delivery.broadcast_id, func.min(func.coalesce(Delivery.started_at, Delivery.updated_at)))
            .filter(Delivery.device_id.in_(devices), Delivery.state == "played")
            .group_by(Delivery.broadcast_id).all())
    repeated = (session.query(OccurrencePlay.broadcast_id, OccurrencePlay.occurrence,
                              func.min(func.coalesce(OccurrencePlay.started_at, OccurrencePlay.occurrence)))
                .filter(OccurrencePlay.device_id.in_(devices), OccurrencePlay.state == "played")
                .group_by(OccurrencePlay.broadcast_id, OccurrencePlay.occurrence).all())
    wanted = {b for b, _ in once} | {b for b, _, _ in repeated}
    broadcasts = {b.id: b for b in session.query(Broadcast).join(Bulletin, Broadcast.bulletin_id == Bulletin.id)
                  .filter(Broadcast.id.in_(wanted), Bulletin.state == "approved")
                  .options(selectinload(Broadcast.bulletin), selectinload(Broadcast.asset),
                           selectinload(Broadcast.relay), selectinload(Broadcast.live),
                           selectinload(Broadcast.recurrence))} if wanted else {}
    found: list[Aired] = []
    for broadcast_id, started in once:
        broadcast = broadcasts.get(broadcast_id)
        asset = _audio(session, broadcast)
        if broadcast is not None and asset is not None and broadcast.recurrence is None:
            found.append(Aired(f"{commune.id}-{broadcast.id}", broadcast.bulletin.title, broadcast.bulletin.text,
                               started, asset))
    for broadcast_id, occurrence, started in repeated:
        broadcast = broadcasts.get(broadcast_id)
        asset = _audio(session, broadcast)
        if broadcast is not None and asset is not None:
            found.append(Aired(f"{commune.id}-{broadcast.id}-{occurrence:%Y%m%dT%H%M}", broadcast.bulletin.title,
                               broadcast.bulletin.text, started, asset))
    found.sort(key=lambda a: (a.aired_at, a.guid), reverse=True)
    return found[:limit]


def _audio(session: Session, broadcast: Broadcast | None) -> Asset | None:
    """The audio that aired: the broadcast's own; a live session's kept recording; None for a relay (what aired
    was someone else's stream) or a live session whose recording was not kept."""
    if broadcast is None or broadcast.relay is not None:
        return None
    if broadcast.live is not None:
        return session.get(Asset, broadcast.live.asset_id) if broadcast.live.asset_id else None
    return broadcast.asset


def public_asset(session: Session, area_id: int, asset_id: str) -> Asset:
    """An audio file, only when it is that of an item the commune's page lists."""
    for item in aired(session, area_id):
        if item.asset.id == asset_id:
            return item.asset
    raise Refusal("not_found", f"audio {asset_id[:64]} is not on this page", status=404)


def public_ids(session: Session) -> set[int]:
    """The communes that have a public page."""
    return {a for (a,) in session.query(Area.id).filter(Area.public.is_(True))}


def set_public(session: Session, user: User, area_id: int, public: bool) -> Area:
    """Opt a commune in to a public page and feed, or out (admins of that commune)."""
    require(user, "admin")
    area = session.get(Area, area_id)
    if area is None or not scope_of(session, user).has_area(area_id):
        raise Refusal("not_found", f"area {area_id} does not exist", status=404)
    if area.kind != "commune":
        raise Refusal("not_commune", "only a commune has a public page", field="area_id")
    if area.public != public:
        area.public = public
        session.flush()
        audit(session, user, "area.public", area.name, "on" if public else "off")
    return area
