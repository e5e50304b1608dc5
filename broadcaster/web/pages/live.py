"""Phát trực tiếp: the page a leader or operator speaks live from (on a phone too), and what its script asks."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import User
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import fleet
from broadcaster.domain import live as live_rules
from broadcaster.domain.access import can
from broadcaster.domain.errors import Refusal
from broadcaster.web import serializers
from broadcaster.web.common import config, db, live_url
from broadcaster.web.pages.base import PAGE_REFUSALS, Refused, areas_in_scope, bp, check_csrf, login_required, whole

LIVE_REFUSALS = {
    **PAGE_REFUSALS,
    "forbidden": _l("Bạn không có quyền phát trực tiếp; hãy nhờ lãnh đạo hoặc người vận hành."),
    "already_live": _l("Một buổi phát trực tiếp khác đang phát trên một số cụm loa này; hãy dừng buổi đó trước."),
    "invalid_length": _l("Thời lượng tối đa phải từ 1 đến 240 phút."),
    "not_live": _l("Đây không phải buổi phát trực tiếp."),
    "not_found": _l("Không tìm thấy buổi phát này."),
}


@bp.get("/live")
@login_required
def live_page(user: User) -> str:
    """Choose the clusters and the priority, press to speak, press to stop."""
    priorities = [p for p in ("normal", "priority", "emergency") if p != "emergency" or can(user, "emergency")]
    return render_template("live.html", user=user, areas=areas_in_scope(user), groups=fleet.list_groups(db(), user),
                           devices=fleet.pickable_devices(db(), user), priorities=priorities,
                           allowed=can(user, "live"))


@bp.post("/live/start")
@login_required
def live_start(user: User) -> Response | tuple[Response, int]:
    """A session for the page's microphone (JSON): the ticket its WebSocket connects with, and where."""
    check_csrf()
    form = request.form
    options = {name: form.get(name) == "1" for name in live_rules.OPTIONS}
    with Refused(LIVE_REFUSALS) as refused:
        started = live_rules.start_live(db(), user, {
            "targets": form.getlist("targets") or ["all"], "priority": form.get("priority", "normal"),
            "title": form.get("title") or None, "max_minutes": whole(form.get("max_minutes"), 15),
            "options": options}, config().grace_s, config().timezone)
        return jsonify(live=serializers.live_json(started.broadcast), ticket=started.ticket, ws_url=live_url())
    return refused.json_error()


@bp.get("/live/<int:broadcast_id>/status")
@login_required
def live_status(user: User, broadcast_id: int) -> Response | tuple[Response, int]:
    """How it goes: which clusters play it now (JSON, for the page's script)."""
    with Refused(LIVE_REFUSALS) as refused:
        broadcast = broadcast_rules.visible_broadcast(db(), user, broadcast_id)
        if broadcast.live is None:
            raise Refusal("not_live", f"broadcast {broadcast_id} is not live", status=404)
        return jsonify(serializers.live_json(broadcast))
    return refused.json_error()


@bp.post("/live/<int:broadcast_id>/stop")
@login_required
def live_stop(user: User, broadcast_id: int) -> Response | tuple[Response, int]:
    check_csrf()
    with Refused(LIVE_REFUSALS) as refused:
        live_rules.stop_live(db(), user, broadcast_id)
        return jsonify(serializers.live_json(broadcast_rules.visible_broadcast(db(), user, broadcast_id)))
    return refused.json_error()
