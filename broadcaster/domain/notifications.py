"""Each user's own notification settings (addresses per channel, areas, severity, quiet hours, the daily
summary), their recent messages with every failure, and the test message; the leading worker sends
(broadcaster/notify/)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import NotifyMessage, NotifySubscription, User, utcnow
from broadcaster.domain.access import audit, scope_of
from broadcaster.domain.errors import Refusal
from edge_agent.protocol.fields import format_time

SEVERITIES = ("warning", "critical")
CHANNELS = ("email", "webhook", "telegram")
RECENT = 20

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def subscription_of(session: Session, user: User) -> NotifySubscription:
    found = session.get(NotifySubscription, user.id)
    return found or NotifySubscription(user_id=user.id, severity="warning", areas="[]", daily_summary=True)


def settings_json(session: Session, user: User, channels: Iterable[str]) -> dict[str, Any]:
    s = subscription_of(session, user)
    recent = (session.query(NotifyMessage).filter_by(user_id=user.id)
              .order_by(NotifyMessage.id.desc()).limit(RECENT))
    return {"email": s.email or "", "webhook_url": s.webhook_url or "", "telegram_chat_id": s.telegram_chat_id or "",
            "severity": s.severity or "warning", "areas": json.loads(s.areas or "[]"),
            "quiet_from": s.quiet_from or "", "quiet_to": s.quiet_to or "",
            "daily_summary": s.daily_summary is not False, "channels": [c for c in CHANNELS if c in set(channels)],
            "recent": [message_json(m) for m in recent]}


def message_json(m: NotifyMessage) -> dict[str, Any]:
    return {"id": m.id, "subject": m.subject, "channel": m.channel, "level": m.level, "title": m.title,
            "state": m.state, "attempts": m.attempts, "error": m.error,
            "created_at": format_time(m.created_at), "sent_at": format_time(m.sent_at)}


def _text(data: dict[str, Any], name: str, pattern: re.Pattern[str] | None, limit: int, code: str,
          message: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit or (pattern is not None and not pattern.match(value)) \
            or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise Refusal(code, message, field=name)
    return value


def update(session: Session, user: User, data: dict[str, Any]) -> NotifySubscription:
    """Change what is given (the other settings stay); refused whole when any is wrong."""
    s = subscription_of(session, user)
    if "email" in data:
        s.email = _text(data, "email", EMAIL, 254, "invalid_email", "not an e-mail address")
    if "webhook_url" in data:
        url = _text(data, "webhook_url", None, 500, "invalid_webhook", "a webhook is an http:// or https:// URL")
        if url is not None and (not url.startswith(("http://", "https://")) or any(c.isspace() for c in url)):
            raise Refusal("invalid_webhook", "a webhook is an http:// or https:// URL", field="webhook_url")
        s.webhook_url = url
    if "telegram_chat_id" in data:
        s.telegram_chat_id = _text(data, "telegram_chat_id", CHAT_ID, 64, "invalid_chat_id",
                                   "a Telegram chat id is a number (or @channel name)")
    if "severity" in data:
        if data["severity"] not in SEVERITIES:
            raise Refusal("invalid_severity", f"severity is one of {', '.join(SEVERITIES)}", field="severity")
        s.severity = data["severity"]
    if "quiet_from" in data or "quiet_to" in data:
        start = _text(data, "quiet_from", CLOCK, 5, "invalid_quiet_hours", "quiet hours are HH:MM to HH:MM")
        end = _text(data, "quiet_to", CLOCK, 5, "invalid_quiet_hours", "quiet hours are HH:MM to HH:MM")
        if (start is None) != (end is None) or (start is not None and start == end):
            raise Refusal("invalid_quiet_hours", "quiet hours need a start and a different end, HH:MM",
                          field="quiet_from")
        s.quiet_from, s.quiet_to = start, end
    if "areas" in data:
        areas = data["areas"]
        if not isinstance(areas, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in areas):
            raise Refusal("invalid_areas", "areas is a list of area ids", field="areas")
        scope = scope_of(session, user)
        if not all(scope.has_area(a) for a in areas):
            raise Refusal("out_of_scope", "an area is outside your areas", field="areas")
        s.areas = json.dumps(sorted(set(areas)))
    if "daily_summary" in data:
        if not isinstance(data["daily_summary"], bool):
            raise Refusal("invalid_summary", "daily_summary is true or false", field="daily_summary")
        s.daily_summary = data["daily_summary"]
    s.updated_at = utcnow()
    session.add(s)
    audit(session, user, "notify.update", user.username,
          ", ".join(sorted(k for k in data if k in {"email", "webhook_url", "telegram_chat_id", "severity",
                                                     "quiet_from", "quiet_to", "areas", "daily_summary"})))
    return s


def send_test(session: Session, user: User, channels: Iterable[str], dashboard: str) -> list[str]:
    """Queue a test message on each channel the user has an address for (the leading worker sends it within
    seconds); the channels queued. Refused when there is none."""
    s = subscription_of(session, user)
    found = {"email": s.email, "webhook": s.webhook_url, "telegram": s.telegram_chat_id}
    usable = [c for c in CHANNELS if c in set(channels) and found[c]]
    if not usable:
        raise Refusal("no_address", "give an address for a channel this server sends by first")
    subject = f"test:{secrets.token_hex(8)}"
    title = "[Loa xã] Tin nhắn thử"
    body = (f"Đây là tin nhắn thử của hệ thống Loa xã gửi tới {user.username}. Nếu bạn đọc được, cảnh báo sẽ "
            f"đến được bạn qua kênh này.\nTrang giám sát: {dashboard}")
    for channel in usable:
        session.add(NotifyMessage(subject=subject, user_id=user.id, channel=channel, level=0,
                                  address=found[channel] or "", title=title, body=body,
                                  data=json.dumps({"event": "test", "dashboard": dashboard}), state="pending",
                                  attempts=0, next_at=utcnow()))
    audit(session, user, "notify.test", user.username, ", ".join(usable))
    return usable
