"""The leader's notifier: ``plan`` writes down each message due (an alarm to its subscribers, an escalation,
the daily summary), one row per subject, person and channel, so nothing is sent twice; ``send`` sends one
channel's due messages, each claimed before it is sent, retried with exponential backoff, every failure kept
on its row. Each channel has its own job, so a channel that hangs or fails never holds up the others (nor the
worker: every wait is bounded by the channel's timeout)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Alarm, Area, Device, NotifyMessage, NotifySubscription, User, utcnow
from broadcaster.domain.areas import parents
from broadcaster.notify import rules
from broadcaster.notify.base import Outgoing, SendError, Transport
from broadcaster.notify.mail import Mail
from broadcaster.notify.summary import daily_summary
from broadcaster.notify.telegram import Telegram
from broadcaster.notify.webhook import Webhook

logger = logging.getLogger(__name__)

WATCHED = timedelta(days=1)
"""Alarms older than this are not sent any more (the daily summary lists them)."""
SUMMARY_LATE = timedelta(hours=12)
"""A summary not sent by this long after its time (the server was down) is skipped for that day."""
BATCH = 50
"""Most messages one channel sends in one tick (the rest at the next)."""


def transports(config: ServerConfig) -> dict[str, Transport]:
    """The channels this server is configured for."""
    found: dict[str, Transport] = {}
    n = config.notify
    if n.email.host:
        found["email"] = Mail(n.email, config.smtp_password())
    secret = config.webhook_secret()
    if secret:
        found["webhook"] = Webhook(n.webhook, secret)
    if config.telegram_token():
        found["telegram"] = Telegram(n.telegram, config.telegram_token())
    return found


def queue(session: Session, subject: str, user_id: int, channel: str, address: str, title: str, body: str,
          data: dict[str, object], alarm_id: int | None = None, level: int = 0) -> bool:
    """Write a message down unless that subject already went (or is going) to that person on that channel."""
    if session.query(NotifyMessage.id).filter_by(subject=subject, user_id=user_id, channel=channel).first():
        return False
    session.add(NotifyMessage(subject=subject, alarm_id=alarm_id, user_id=user_id, channel=channel, level=level,
                              address=address, title=title, body=body, data=json.dumps(data, ensure_ascii=False),
                              state="pending", attempts=0, next_at=utcnow()))
    session.flush()
    return True


class Notifier:
    def __init__(self, config: ServerConfig, db: Database) -> None:
        self.config, self.db = config, db
        self.zone = ZoneInfo(config.timezone)
        self.transports = transports(config)
        self._paused_until: dict[str, datetime] = {}

    # what is due ------------------------------------------------------------------------------------

    def plan(self, now: datetime | None = None) -> int:
        """Write down every message now due; the number written."""
        now = now or utcnow()
        with self.db.session() as session:
            subscribers = [(s, u) for s, u in session.query(NotifySubscription, User)
                           .join(User, User.id == NotifySubscription.user_id)]
            written = self._alarms(session, subscribers, now)
            written += self._summaries(session, subscribers, now)
        return written

    def _alarms(self, session: Session, subscribers: list[tuple[NotifySubscription, User]], now: datetime) -> int:
        alarms = (session.query(Alarm).filter(Alarm.cleared_at.is_(None), Alarm.acked_at.is_(None),
                                              Alarm.raised_at >= now - WATCHED).order_by(Alarm.id).all())
        if not alarms or not subscribers:
            return 0
        # Everything the loop needs, read once per tick (not once per alarm).
        parent_of = parents(session)
        names = dict(session.query(Area.id, Area.name).all())
        devices = {d.id: d for d in session.query(Device).filter(Device.id.in_({a.device_id for a in alarms}))}
        quiet_clock = now.astimezone(self.zone).time()
        every = self.config.notify.escalate_after_s
        sent = {(alarm_id, user_id, channel) for alarm_id, user_id, channel in session.query(
            NotifyMessage.alarm_id, NotifyMessage.user_id, NotifyMessage.channel)
            .filter(NotifyMessage.alarm_id.in_([a.id for a in alarms]))}
        written = 0
        for alarm in alarms:
            device = devices.get(alarm.device_id)
            if device is None:
                continue
            severity = rules.severity_of(session, alarm)
            place = rules.place_of(device, parent_of, names)
            levels = int((now - alarm.raised_at).total_seconds() // every) if every > 0 else 0
            for subscription, level in rules.recipients(subscribers, severity, place.chain, levels):
                if severity != "critical" and rules.quiet_now(subscription, quiet_clock):
                    continue  # waits for the end of the quiet hours, if still open then
                due = {channel: address for channel, address in rules.addresses(subscription).items()
                       if channel in self.transports and (alarm.id, subscription.user_id, channel) not in sent}
                if not due:
                    continue
                title, body, data = rules.alarm_message(alarm, severity, place, level, self.zone, every,
                                                        self.config.dashboard_url())
                for channel, address in due.items():
                    sent.add((alarm.id, subscription.user_id, channel))
                    written += queue(session, f"alarm:{alarm.id}", subscription.user_id, channel, address,
                                     title, body, data, alarm_id=alarm.id, level=level)
        return written

    def _summaries(self, session: Session, subscribers: list[tuple[NotifySubscription, User]], now: datetime) -> int:
        at = self.config.notify.summary_at
        if not at or "email" not in self.transports:
            return 0
        local = now.astimezone(self.zone)
        due = datetime.combine(local.date(), time.fromisoformat(at), tzinfo=self.zone)
        if not due <= local < due + SUMMARY_LATE:
            return 0
        written = 0
        for subscription, user in subscribers:
            if not subscription.daily_summary or not subscription.email:
                continue
            subject = f"summary:{local.date().isoformat()}"
            if session.query(NotifyMessage.id).filter_by(subject=subject, user_id=user.id, channel="email").first():
                continue
            title, body, data = daily_summary(session, user, now, self.zone, self.config.dashboard_url())
            written += queue(session, subject, user.id, "email", subscription.email, title, body, data)
        return written

    # sending ----------------------------------------------------------------------------------------

    def send(self, channel: str, now: datetime | None = None) -> int:
        """Send ``channel``'s due messages, one at a time; the number delivered."""
        transport = self.transports.get(channel)
        paused = self._paused_until.get(channel)
        if transport is None or (paused is not None and (now or utcnow()) < paused):
            return 0
        delivered = 0
        for _ in range(BATCH):
            message = self._claim(channel)
            if message is None:
                break
            try:
                transport.send(message)
            except SendError as exc:
                self._failed(message.id, str(exc), exc.retry_after, channel if transport.one_endpoint else None)
                if exc.retry_after and transport.one_endpoint:
                    break
                continue
            except Exception as exc:  # a bug in a channel must not stop the others nor the worker
                logger.exception("notification %d on %s", message.id, channel)
                self._failed(message.id, f"{exc.__class__.__name__}: {exc}", None, channel)
                continue
            with self.db.session() as session:
                session.execute(update(NotifyMessage).where(NotifyMessage.id == message.id)
                                .values(state="sent", sent_at=utcnow(), attempts=NotifyMessage.attempts + 1))
            delivered += 1
        return delivered

    def _claim(self, channel: str) -> Outgoing | None:
        """The next due message of ``channel``, marked ``sending`` (so no other tick sends it too)."""
        with self.db.session() as session:
            row = (session.query(NotifyMessage)
                   .filter(NotifyMessage.channel == channel, NotifyMessage.state == "pending",
                           NotifyMessage.next_at <= utcnow())
                   .order_by(NotifyMessage.next_at, NotifyMessage.id).first())
            if row is None:
                return None
            claimed = session.execute(update(NotifyMessage)
                                      .where(NotifyMessage.id == row.id, NotifyMessage.state == "pending")
                                      .values(state="sending"))
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None
            return Outgoing(row.id, row.address, row.title, row.body, json.loads(row.data or "{}"))

    def _failed(self, message_id: int, reason: str, retry_after: float | None, pause: str | None) -> None:
        """Count the failure, keep its reason, and set the next try (or give up); ``pause``: the channel
        to hold until ``retry_after``."""
        now = utcnow()
        settings = self.config.notify
        with self.db.session() as session:
            row = session.get(NotifyMessage, message_id)
            if row is None:
                return
            row.attempts += 1
            row.error = ((row.error + "\n") if row.error else "") + f"{now:%Y-%m-%d %H:%M:%S}Z {reason}"[:500]
            row.error = row.error[-4000:]
            if retry_after and pause:
                self._paused_until[pause] = now + timedelta(seconds=retry_after)
            if row.attempts >= settings.max_attempts:
                row.state = "failed"
                logger.error("notification %d to user %d on %s given up after %d attempts: %s", row.id,
                             row.user_id, row.channel, row.attempts, reason)
            else:
                wait = max(retry_after or 0.0, settings.retry_s * 2 ** (row.attempts - 1))
                row.state, row.next_at = "pending", now + timedelta(seconds=wait)
                logger.warning("notification %d on %s failed (attempt %d, next in %.1f s): %s", row.id,
                               row.channel, row.attempts, wait, reason)


def configured_channels(config: ServerConfig) -> list[str]:
    """The channels this server sends by, from its settings alone (no secret read: for the web process)."""
    n = config.notify
    found = ["email"] if n.email.host else []
    if n.webhook.secret or n.webhook.secret_file:
        found.append("webhook")
    if n.telegram.token or n.telegram.token_file:
        found.append("telegram")
    return found
