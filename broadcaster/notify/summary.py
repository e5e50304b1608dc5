"""The daily summary by e-mail, per user's areas: the last 24 hours' alarms (raised, cleared, still open), the
clusters silent now, and the broadcasts that failed or were missed somewhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.db import Alarm, Broadcast, Bulletin, Delivery, Device, User
from broadcaster.domain.access import scope_of
from broadcaster.notify.rules import KIND_WORDS

LISTED = 20
"""Most rows of each list in the text (the dashboard has the rest)."""


def daily_summary(session: Session, user: User, now: datetime, zone: ZoneInfo,
                  dashboard: str) -> tuple[str, str, dict[str, object]]:
    """Title, text (Vietnamese) and JSON of the summary of the 24 hours before ``now`` for ``user``."""
    scope = scope_of(session, user)
    devices = {d.id: d for d in session.query(Device)
               if scope.everywhere or scope.has_device(d)}
    since = now - timedelta(days=1)
    alarms = [a for a in session.query(Alarm).filter((Alarm.raised_at >= since) | Alarm.cleared_at.is_(None)
                                                     | (Alarm.cleared_at >= since))
              if a.device_id in devices]
    raised = [a for a in alarms if a.raised_at >= since]
    cleared = [a for a in alarms if a.cleared_at is not None and a.cleared_at >= since]
    still_open = [a for a in alarms if a.cleared_at is None and a.acked_at is None]
    offline = sorted(d.name for d in devices.values() if not d.online)
    failed: dict[tuple[int, str], int] = {}
    for broadcast_id, title, _device in (
            session.query(Delivery.broadcast_id, Bulletin.title, Delivery.device_id)
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
            .join(Bulletin, Bulletin.id == Broadcast.bulletin_id)
            .filter(Delivery.state.in_(("failed", "missed")), Delivery.updated_at >= since)):
        if _device in devices:
            failed[(broadcast_id, title)] = failed.get((broadcast_id, title), 0) + 1
    local = now.astimezone(zone)
    title = f"[Loa xã] Tóm tắt 24 giờ qua – {local:%d/%m/%Y}: {len(still_open)} cảnh báo đang mở, " \
            f"{len(offline)} cụm loa mất liên lạc"
    lines = [
        f"Tóm tắt từ {since.astimezone(zone):%H:%M %d/%m} đến {local:%H:%M %d/%m/%Y} (giờ {zone.key}), "
        f"trên địa bàn của {user.username}.",
        "",
        f"Cảnh báo mới: {len(raised)}; đã hết: {len(cleared)}; còn mở, chưa ai xác nhận: {len(still_open)}.",
    ]
    for a in still_open[:LISTED]:
        lines.append(f"  - {devices[a.device_id].name}: {KIND_WORDS.get(a.kind, a.kind)} "
                     f"(từ {a.raised_at.astimezone(zone):%H:%M %d/%m})")
    lines += ["", f"Cụm loa đang mất liên lạc: {len(offline)}."]
    lines += [f"  - {name}" for name in offline[:LISTED]]
    lines += ["", f"Bản tin không phát được: {len(failed)}."]
    lines += [f"  - #{bid} {name}: {count} cụm loa" for (bid, name), count in sorted(failed.items())[:LISTED]]
    lines += ["", f"Trang giám sát: {dashboard}"]
    data: dict[str, object] = {"event": "summary", "raised": len(raised), "cleared": len(cleared),
                               "open": len(still_open), "offline": offline,
                               "failed_broadcasts": [bid for bid, _ in sorted(failed)], "dashboard": dashboard}
    return title[:300], "\n".join(lines), data
