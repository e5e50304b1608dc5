"""Your own notifications in the API: where and about what alarms reach you, your recent messages, a test."""

from __future__ import annotations

from flask import Response, g, jsonify

from broadcaster.domain import notifications
from broadcaster.notify.dispatch import configured_channels
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import config, db


@bp.get("/me/notifications")
@authenticated
def my_notifications() -> Response:
    """Your addresses, areas, severity, quiet hours, the channels this server sends by, your recent messages."""
    return jsonify(notifications.settings_json(db(), g.user, configured_channels(config())))


@bp.put("/me/notifications")
@authenticated
def set_my_notifications() -> Response:
    """Change any of ``email``, ``webhook_url``, ``telegram_chat_id``, ``severity``, ``areas``, ``quiet_from``
    with ``quiet_to``, ``daily_summary``; the rest stay."""
    notifications.update(db(), g.user, body())
    return jsonify(notifications.settings_json(db(), g.user, configured_channels(config())))


@bp.post("/me/notifications/test")
@authenticated
def test_my_notifications() -> tuple[Response, int]:
    """A test message on each channel you have an address for, sent by the worker within seconds."""
    queued = notifications.send_test(db(), g.user, configured_channels(config()), config().dashboard_url())
    return jsonify({"channels": queued}), 202
