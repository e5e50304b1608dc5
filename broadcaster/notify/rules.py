"""Who is told about an alarm, when, and in what words.

Severity: an emergency broadcast that failed or was missed on a cluster is critical; every other alarm
(silence, a failed or missed ordinary broadcast, a wrong clock, a refused message) is a warning. A user is told
of the alarms in their subscribed areas (inside their own areas) at or above their severity, except a warning
in their quiet hours, which waits until those end (if it is still open). An alarm nobody acknowledged goes one
level up the area tree every ``escalate_after_s`` (level k: the users working in the k-th area above the
cluster's village; past the top, the admins of the whole server), whatever their own choice of areas and
severity, once per level."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.db import Alarm, Broadcast, Device, NotifySubscription, User, parse_id
from broadcaster.domain.areas import ancestry
from broadcaster.domain.notifications import SEVERITIES

SEVERITY_WORDS = {"warning": "Cảnh báo", "critical": "NGHIÊM TRỌNG"}

KIND_WORDS = {
    "offline": "Cụm loa mất liên lạc",
    "playback": "Bản tin không phát được",
    "emergency": "Tin KHẨN CẤP không phát được",
    "clock": "Đồng hồ của cụm loa bị lệch",
    "refused": "Cụm loa từ chối một tin nhắn",
}
WHAT_TO_DO = {
    "offline": "Kiểm tra nguồn điện và đường truyền (mạng di động, Internet) của cụm loa; nếu cần, cử người đến "
               "tận nơi.",
    "playback": "Xem lý do trên trang giám sát; phát lại bản tin, hoặc báo cho người dân bằng cách khác.",
    "emergency": "Người dân ở đây CHƯA nghe được tin khẩn cấp: báo ngay bằng cách khác (loa cầm tay, trưởng "
                 "thôn, điện thoại) và cho người kiểm tra cụm loa.",
    "clock": "Kiểm tra đồng bộ giờ (NTP) trên bộ thu: loa đang phát sai giờ.",
    "refused": "Có thể có tin giả mạo hoặc khóa ký không khớp: báo cho người quản trị hệ thống.",
}


def severity_of(session: Session, alarm: Alarm) -> str:
    if alarm.kind == "playback" and alarm.ref:
        broadcast = session.get(Broadcast, parse_id(alarm.ref) or 0)
        if broadcast is not None and broadcast.priority == "emergency":
            return "critical"
    return "warning"


def quiet_now(subscription: NotifySubscription, local: time) -> bool:
    """Whether ``local`` (the server's zone) falls in the subscriber's quiet hours (which may span midnight)."""
    if not subscription.quiet_from or not subscription.quiet_to:
        return False
    start, end = time.fromisoformat(subscription.quiet_from), time.fromisoformat(subscription.quiet_to)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def subscribed_areas(subscription: NotifySubscription) -> set[int]:
    try:
        return {int(a) for a in json.loads(subscription.areas or "[]")}
    except (ValueError, TypeError):
        return set()


def addresses(subscription: NotifySubscription) -> dict[str, str]:
    found = {"email": subscription.email, "webhook": subscription.webhook_url,
             "telegram": subscription.telegram_chat_id}
    return {channel: value for channel, value in found.items() if value}


def covers(user: User, subscription: NotifySubscription, chain: list[int]) -> bool:
    """Whether a cluster whose village has ``chain`` (village first, then the areas above) is the user's and
    in the areas they subscribed to."""
    mine = {a.area_id for a in user.areas}
    if not (user.is_admin and not mine) and not mine & set(chain):
        return False
    chosen = subscribed_areas(subscription)
    return not chosen or bool(chosen & set(chain))


def recipients(subscribers: list[tuple[NotifySubscription, User]], severity: str, chain: list[int],
               levels: int) -> list[tuple[NotifySubscription, int]]:
    """Who is told of an alarm on a cluster whose village has ``chain`` (nearest first), and at which level:
    the subscribers of its areas at or above their severity (level 0), then, for each of the ``levels`` the
    alarm has waited unacknowledged, the users one more level up (past the top: the admins who work
    everywhere), whatever their areas and severity; nobody beyond that."""
    found = [(s, 0) for s, u in subscribers
             if SEVERITIES.index(severity) >= SEVERITIES.index(s.severity) and covers(u, s, chain)]
    for level in range(1, min(levels, len(chain)) + 1):
        if level < len(chain):
            found += [(s, level) for s, u in subscribers if any(a.area_id == chain[level] for a in u.areas)]
        else:
            found += [(s, level) for s, u in subscribers if u.is_admin and not u.areas]
    return found


@dataclass(frozen=True)
class Place:
    device: Device
    chain: list[int]
    names: list[str]
    """The village, commune... names, nearest first."""


def place_of(device: Device, parent_of: dict[int, int | None], names: dict[int, str]) -> Place:
    chain = ancestry(device.village_id, parent_of)
    return Place(device, chain, [names[a] for a in chain if a in names])


def alarm_message(alarm: Alarm, severity: str, place: Place, level: int, zone: ZoneInfo, escalate_after_s: int,
                  dashboard: str) -> tuple[str, str, dict[str, object]]:
    """The title, the text (Vietnamese) and the webhook's JSON of an alarm."""
    kind = "emergency" if severity == "critical" and alarm.kind == "playback" else alarm.kind
    what = KIND_WORDS.get(kind, alarm.kind)
    where = ", ".join(place.names) or "chưa gắn địa bàn"
    when = alarm.raised_at.astimezone(zone)
    title = f"[Loa xã] {SEVERITY_WORDS[severity]}: {what} – {place.device.name} ({where})"
    lines = []
    if level:
        waited = round(escalate_after_s * level / 60)
        lines.append(f"CHUYỂN LÊN CẤP TRÊN: chưa ai xác nhận cảnh báo này sau {waited} phút.")
    lines += [
        f"{SEVERITY_WORDS[severity]}: {what}.",
        f"Cụm loa: {place.device.name} ({place.device.id})",
        f"Địa bàn: {where}",
        f"Lúc: {when:%H:%M %d/%m/%Y} (giờ {zone.key})",
        f"Việc cần làm: {WHAT_TO_DO.get(kind, 'Xem trên trang giám sát.')}",
        f"Xem và xác nhận trên trang giám sát: {dashboard}",
        "",
        f"Chi tiết kỹ thuật: {alarm.message}",
    ]
    data: dict[str, object] = {
        "event": "alarm", "severity": severity, "level": level,
        "alarm": {"id": alarm.id, "kind": alarm.kind, "device_id": place.device.id, "device": place.device.name,
                  "areas": place.names, "raised_at": alarm.raised_at.isoformat(), "message": alarm.message},
        "dashboard": dashboard,
    }
    return title[:300], "\n".join(lines), data
