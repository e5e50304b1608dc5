"""Alarms that reach people: raised by the real worker, sent by its notifier to a real SMTP server (STARTTLS and
a login), a real webhook receiver (HMAC checked) and a Telegram Bot API stand-in; quiet hours, escalation,
retries and the daily summary."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.db import Broadcast, Bulletin, Delivery, User
from broadcaster.ops.broker import free_port
from edge_agent.protocol import Playback, Topics
from tests.support.env import Env, wait_until
from tests.support.notify import Mailbox, Receiver, TelegramBotApi
from tests.support.web import csrf

SECRET = "bí mật của webhook"
TOKEN = "123456:AAH-thu-nghiem"


@dataclass
class Channels:
    mail: Mailbox
    hooks: Receiver
    bot: TelegramBotApi


@pytest.fixture
def channels(env: Env, tmp_path: Path) -> Iterator[Channels]:
    (tmp_path / "smtp.pw").write_text("mật khẩu thư\n")
    (tmp_path / "hook.key").write_text(SECRET + "\n")
    (tmp_path / "bot.token").write_text(TOKEN + "\n")
    found = Channels(Mailbox(tmp_path, "canhbao", "mật khẩu thư"), Receiver(), TelegramBotApi(TOKEN))
    n = env.config.notify
    n.interval_s, n.retry_s, n.max_attempts, n.summary_at = 0.2, 0.2, 3, ""
    n.dashboard_url = "https://loa.example.vn/dashboard"
    n.email.host, n.email.port, n.email.username = "127.0.0.1", found.mail.port, "canhbao"
    n.email.password_file, n.email.ca_file = str(tmp_path / "smtp.pw"), str(found.mail.cert)
    n.email.sender = "Loa xã <canhbao@loa.example.vn>"
    n.webhook.secret_file = str(tmp_path / "hook.key")
    n.telegram.api_url, n.telegram.token_file = found.bot.url, str(tmp_path / "bot.token")
    yield found
    found.mail.stop()
    found.hooks.stop()
    found.bot.stop()


def subscribe(env: Env, auth: dict[str, str], **settings: object) -> None:
    response = env.client.put("/api/v1/me/notifications", headers=auth, json=settings)
    assert response.status_code == 200, response.get_json()


def mine(env: Env, auth: dict[str, str]) -> list[dict[str, object]]:
    return env.client.get("/api/v1/me/notifications", headers=auth).get_json()["recent"]


def texts(bot: TelegramBotApi, chat: str) -> list[str]:
    return [m["text"] for m in bot.sent if str(m["chat_id"]) == chat]


def settle(env: Env) -> None:
    """Let the notifier's jobs run a good few times (each every 0.2 s)."""
    time.sleep(1.5)


def failed_broadcast(env: Env, priority: str, title: str) -> None:
    """A broadcast to loa-01 that the cluster reports failed, through the worker's own ingest."""
    with env.db.session() as session:
        user = session.query(User).filter_by(username="admin").one()
        bulletin = Bulletin(title=title, text="x", state="approved", created_by=user.id)
        session.add(bulletin)
        session.flush()
        broadcast = Broadcast(bulletin_id=bulletin.id, priority=priority, state="sent", created_by=user.id,
                              created_at=datetime.now(UTC))
        session.add(broadcast)
        session.flush()
        session.add(Delivery(broadcast_id=broadcast.id, device_id="loa-01", state="pending"))
        bid = broadcast.id
    assert env.worker is not None
    env.worker.ingest(Topics(env.config.mqtt.topic_root).event("loa-01", "playback"),
                      Playback(bid, "failed", datetime.now(UTC), error="amplifier fault").to_bytes())


def test_a_silent_cluster_reaches_the_officer_by_email_webhook_and_telegram_once(env: Env,
                                                                                  channels: Channels) -> None:
    env.config.inactivity_alarm_s = 0
    officer = env.user("truc-ban", ("operator",), areas=("Thôn 1",))
    subscribe(env, officer, email="truc-ban@xa.example.vn", webhook_url=channels.hooks.url + "/canh-bao",
              telegram_chat_id="987654")
    worker = env.start_worker()
    worker.sweep()  # every cluster has been silent: an alarm each; the officer's village has loa-01 only
    wait_until(lambda: channels.mail.received and channels.hooks.requests and channels.bot.sent, timeout=20)

    mail, over_tls, logged_in = channels.mail.received[0]
    assert over_tls and logged_in, "STARTTLS, then the login, then the message"
    assert mail["To"] == "truc-ban@xa.example.vn"
    assert "Cụm loa mất liên lạc" in mail["Subject"] and "Cụm loa 1" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Địa bàn: Thôn 1, Xã Thử" in body and "Cụm loa: Cụm loa 1 (loa-01)" in body
    assert "Việc cần làm: Kiểm tra nguồn điện" in body and "https://loa.example.vn/dashboard" in body
    local = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert f"{local:%d/%m/%Y}" in body or f"{local - timedelta(minutes=1):%d/%m/%Y}" in body, "when, local time"

    path, headers, raw = channels.hooks.requests[0]
    assert path == "/canh-bao" and headers["Content-Type"].startswith("application/json")
    fields = dict(part.split("=", 1) for part in headers["X-Loaxa-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected), "signed with the shared secret"
    hook = json.loads(raw)
    assert hook["event"] == "alarm" and hook["severity"] == "warning"
    assert hook["alarm"]["device_id"] == "loa-01" and hook["alarm"]["areas"] == ["Thôn 1", "Xã Thử"]

    [chat] = channels.bot.sent
    assert str(chat["chat_id"]) == "987654" and "Cụm loa 1" in chat["text"] and "Thôn 1" in chat["text"]

    worker.sweep()  # the alarm is still open: raised once, and told once
    settle(env)
    assert (len(channels.mail.received), len(channels.hooks.requests), len(channels.bot.sent)) == (1, 1, 1)
    assert sorted((m["channel"], m["state"]) for m in mine(env, officer)) == [
        ("email", "sent"), ("telegram", "sent"), ("webhook", "sent")]


def test_quiet_hours_hold_a_warning_but_not_a_critical_alarm(env: Env, channels: Channels) -> None:
    env.config.inactivity_alarm_s = 0
    officer = env.user("truc-dem", ("operator",), areas=("Thôn 1",))
    now = datetime.now(ZoneInfo(env.config.timezone))
    subscribe(env, officer, telegram_chat_id="555", quiet_from=f"{now - timedelta(hours=1):%H:%M}",
              quiet_to=f"{now + timedelta(hours=1):%H:%M}")
    channels.bot.flood = 1  # and Telegram says: slow down, once
    worker = env.start_worker()
    worker.sweep()
    settle(env)
    assert texts(channels.bot, "555") == [], "a silent cluster waits for the end of the quiet hours"

    failed_broadcast(env, "emergency", "Bão số 9")
    wait_until(lambda: texts(channels.bot, "555"), timeout=20)
    [critical] = texts(channels.bot, "555")
    assert "NGHIÊM TRỌNG" in critical and "KHẨN CẤP không phát được" in critical and "Cụm loa 1" in critical
    assert channels.bot.answers[:2] == [429, 200], "asked again after retry_after"
    [row] = [m for m in mine(env, officer) if m["state"] == "sent"]
    assert row["attempts"] == 2 and "429" in str(row["error"])

    subscribe(env, officer, quiet_from="", quiet_to="")  # the night is over: the warning still open now goes
    wait_until(lambda: len(texts(channels.bot, "555")) == 2, timeout=20)
    assert "Cụm loa mất liên lạc" in texts(channels.bot, "555")[1]


def test_an_alarm_nobody_acknowledges_goes_up_a_level_then_to_the_admins(env: Env, channels: Channels) -> None:
    env.config.inactivity_alarm_s = 0
    env.config.notify.escalate_after_s = 3
    village = env.user("thon-1", ("operator",), areas=("Thôn 1",))
    commune = env.user("xa", ("approver",), areas=("Xã Thử",))
    subscribe(env, village, telegram_chat_id="1", areas=[])
    subscribe(env, commune, telegram_chat_id="2", severity="critical")  # warnings only when escalated
    subscribe(env, env.auth, telegram_chat_id="3")
    # The admin works everywhere: told of every alarm at once, unless only the critical ones.
    subscribe(env, env.auth, severity="critical")
    worker = env.start_worker()
    worker.sweep()
    wait_until(lambda: texts(channels.bot, "1"), timeout=20)
    assert not [t for t in texts(channels.bot, "2") if "Cụm loa 1 " in t], "not yet: nobody waited yet"

    wait_until(lambda: [t for t in texts(channels.bot, "2") if "Cụm loa 1 " in t], timeout=20)
    [up] = [t for t in texts(channels.bot, "2") if "Cụm loa 1 " in t]
    assert "CHUYỂN LÊN CẤP TRÊN" in up
    alarm = next(a for a in env.client.get("/api/v1/alarms", headers=env.auth).get_json()
                 if a["device_id"] == "loa-01")
    assert env.client.post(f"/api/v1/alarms/{alarm['id']}/ack", headers=village).status_code == 200

    wait_until(lambda: [t for t in texts(channels.bot, "3") if "Cụm loa 2 " in t], timeout=20)
    assert not [t for t in texts(channels.bot, "3") if "Cụm loa 1 " in t], "acknowledged: no further"
    settle(env)
    assert len([t for t in texts(channels.bot, "2") if "Cụm loa 1 " in t]) == 1, "once per level"
    assert len(texts(channels.bot, "1")) == 1


def test_a_failing_webhook_is_retried_and_its_failures_are_shown(env: Env, channels: Channels) -> None:
    env.config.inactivity_alarm_s = 0
    flaky = env.user("flaky", ("operator",), areas=("Thôn 1",))
    gone = env.user("gone", ("operator",), areas=("Thôn 2",))
    channels.hooks.statuses = [500, 503]
    subscribe(env, flaky, webhook_url=channels.hooks.url + "/flaky")
    subscribe(env, gone, webhook_url=f"http://127.0.0.1:{free_port()}/nobody-listens", telegram_chat_id="77")
    worker = env.start_worker()
    worker.sweep()
    wait_until(lambda: [m for m in mine(env, flaky) if m["state"] == "sent"], timeout=20)
    assert [p for p, _, _ in channels.hooks.requests] == ["/flaky"] * 3
    [row] = mine(env, flaky)
    assert row["attempts"] == 3 and "HTTP 500" in str(row["error"]) and "HTTP 503" in str(row["error"])

    wait_until(lambda: [m for m in mine(env, gone) if m["state"] == "failed"], timeout=20)
    assert "Cụm loa 2" in texts(channels.bot, "77")[0], "a dead webhook holds up no other channel"
    [lost] = [m for m in mine(env, gone) if m["channel"] == "webhook"]
    assert lost["attempts"] == 3 and str(lost["error"]).count("ConnectionRefusedError") == 3, lost
    page = login_as(env, "gone")  # the page shows it to the one it was for, without the URL's path (a secret?)
    [shown] = re.findall(r'<pre class="notify-error">(.*?)</pre>', page, re.S)
    assert "không gửi được" in page and shown.count("ConnectionRefusedError") == 3 and "/nobody-listens" not in shown


def login_as(env: Env, username: str) -> str:
    form = env.client.get("/login").get_data(as_text=True)
    env.client.post("/login", data={"username": username, "password": f"{username} password 123",
                                    "csrf_token": csrf(form)})
    return env.client.get("/notifications").get_data(as_text=True)


def test_the_daily_summary_arrives_by_email(env: Env, channels: Channels) -> None:
    env.config.inactivity_alarm_s = 0
    officer = env.user("sang-som", ("operator",), areas=("Thôn 1",))
    subscribe(env, officer, email="sang-som@xa.example.vn", severity="critical")
    worker = env.start_worker()
    worker.sweep()
    failed_broadcast(env, "normal", "Lịch tiêm phòng")
    local = datetime.now(ZoneInfo(env.config.timezone))
    env.config.notify.summary_at = "00:00" if local.hour == 0 and local.minute == 0 else \
        f"{local - timedelta(minutes=1):%H:%M}"
    wait_until(lambda: channels.mail.received, timeout=20)
    settle(env)
    [mail] = channels.mail.messages()
    assert "Tóm tắt 24 giờ qua" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Cụm loa đang mất liên lạc: 1." in body and "  - Cụm loa 1" in body, "its village only"
    assert "Bản tin không phát được: 1." in body and "Lịch tiêm phòng: 1 cụm loa" in body
    assert "còn mở, chưa ai xác nhận: 2" in body, "silence and the failed broadcast"
    assert "Cụm loa 2" not in body


def test_settings_are_checked_and_the_test_button_sends(env: Env, channels: Channels) -> None:
    officer = env.user("moi", ("editor",), areas=("Thôn 1",))
    put = env.client.put
    for wrong, code in (({"email": "không phải thư"}, "invalid_email"),
                        ({"webhook_url": "ftp://x.vn/h"}, "invalid_webhook"),
                        ({"telegram_chat_id": "12ab"}, "invalid_chat_id"),
                        ({"severity": "loud"}, "invalid_severity"),
                        ({"quiet_from": "22:00"}, "invalid_quiet_hours"),
                        ({"areas": [999999]}, "out_of_scope")):
        answer = put("/api/v1/me/notifications", headers=officer, json=wrong)
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == code, wrong
    test = env.client.post("/api/v1/me/notifications/test", headers=officer)
    assert test.status_code == 422 and test.get_json()["error"]["code"] == "no_address"
    subscribe(env, officer, telegram_chat_id="-100200", quiet_from="22:00", quiet_to="05:30")
    settings = env.client.get("/api/v1/me/notifications", headers=officer).get_json()
    assert (settings["telegram_chat_id"], settings["quiet_from"], settings["quiet_to"]) == ("-100200", "22:00", "05:30")
    assert settings["channels"] == ["email", "webhook", "telegram"]
    env.start_worker()
    assert env.client.post("/api/v1/me/notifications/test", headers=officer).get_json() == {"channels": ["telegram"]}
    wait_until(lambda: texts(channels.bot, "-100200"), timeout=20)
    assert "Tin nhắn thử" in texts(channels.bot, "-100200")[0]
