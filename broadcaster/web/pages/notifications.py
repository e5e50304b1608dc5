"""The officer's own notifications page: where alarms reach them (e-mail, webhook, Telegram), about which areas
and from which severity, their quiet hours, the daily summary, a test message, and what was sent lately."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import User, parse_id
from broadcaster.domain import notifications
from broadcaster.notify.dispatch import configured_channels
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import Refused, areas_in_scope, bp, check_csrf, local_time, login_required

CHANNEL_LABELS = {"email": _l("Thư điện tử"), "webhook": _l("Webhook"), "telegram": _l("Telegram")}
SEVERITY_LABELS = {"warning": _l("Mọi cảnh báo"), "critical": _l("Chỉ cảnh báo nghiêm trọng (khẩn cấp không phát "
                                                                  "được)")}
MESSAGE_STATES = {"pending": _l("đang chờ gửi"), "sending": _l("đang gửi"), "sent": _l("đã gửi"),
                  "failed": _l("không gửi được")}
NOTIFY_REFUSALS = {
    "invalid_email": _l("Địa chỉ thư điện tử không hợp lệ."),
    "invalid_webhook": _l("Webhook phải là một địa chỉ http:// hoặc https://."),
    "invalid_chat_id": _l("Mã cuộc trò chuyện Telegram là một số (hoặc @tên kênh)."),
    "invalid_severity": _l("Mức cảnh báo không hợp lệ."),
    "invalid_quiet_hours": _l("Giờ yên lặng cần giờ bắt đầu và giờ kết thúc khác nhau, dạng giờ:phút."),
    "out_of_scope": _l("Có địa bàn ngoài phạm vi của bạn."),
    "no_address": _l("Hãy nhập và lưu địa chỉ cho ít nhất một kênh mà máy chủ này gửi được."),
}


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications_page(user: User) -> str | Response | tuple[str, int]:
    channels = configured_channels(config())
    error = notice = None
    if request.method == "POST":
        check_csrf()
        form = request.form
        with Refused(NOTIFY_REFUSALS) as refused:
            if form.get("action") == "test":
                notifications.send_test(db(), user, channels, config().dashboard_url())
            else:
                notifications.update(db(), user, _settings(form))
        if not refused.message:
            return redirect(url_for("ui.notifications_page", done=form.get("action") or "save"))
        error = refused.message
    if request.args.get("done") == "test":
        notice = _l("Đã xếp tin nhắn thử; máy chủ gửi trong vài giây. Xem kết quả ở bảng dưới.")
    elif request.args.get("done") == "save":
        notice = _l("Đã lưu.")
    settings = notifications.settings_json(db(), user, channels)
    for message in settings["recent"]:  # the officer's local time, as every page shows it
        message["created_at"] = local_time(datetime.fromisoformat(message["created_at"].replace("Z", "+00:00")))
    page = render_template("notifications.html", user=user, error=error, notice=notice, settings=settings,
                           channels=channels, areas=areas_in_scope(user), CHANNEL_LABELS=CHANNEL_LABELS,
                           SEVERITY_LABELS=SEVERITY_LABELS, MESSAGE_STATES=MESSAGE_STATES)
    return (page, 422) if error else page


def _settings(form: Any) -> dict[str, Any]:
    return {"email": form.get("email", "").strip(), "webhook_url": form.get("webhook_url", "").strip(),
            "telegram_chat_id": form.get("telegram_chat_id", "").strip(),
            "severity": form.get("severity", "warning"),
            "areas": [a for a in map(parse_id, form.getlist("areas")) if a is not None],
            "quiet_from": form.get("quiet_from", ""), "quiet_to": form.get("quiet_to", ""),
            "daily_summary": form.get("daily_summary") == "on"}
