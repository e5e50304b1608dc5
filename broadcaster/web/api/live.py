"""Speaking live through the API: start a session (for a desk microphone, a phone-call gateway), follow it,
stop it. The microphone itself connects to the worker's WebSocket (``ws_url``) with the one-time ticket."""

from __future__ import annotations

from flask import Response, g, jsonify

from broadcaster.domain import broadcasts
from broadcaster.domain import live as rules
from broadcaster.domain.errors import Refusal
from broadcaster.web import serializers
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import config, db, live_url


@bp.post("/live")
@authenticated
def start_live() -> tuple[Response, int]:
    """``{"targets", "priority", "title", "max_minutes", "options"}``: a session waiting for its microphone,
    which connects to ``ws_url?ticket=<ticket>`` within two minutes."""
    started = rules.start_live(db(), g.user, body(), config().grace_s, config().timezone)
    return jsonify(live=serializers.live_json(started.broadcast), ticket=started.ticket, ws_url=live_url(),
                   frame_ms=20), 201


@bp.get("/live/<int:broadcast_id>")
@authenticated
def get_live(broadcast_id: int) -> Response:
    """How it goes: its state, and each cluster's (playing now, played from when to when)."""
    broadcast = broadcasts.visible_broadcast(db(), g.user, broadcast_id)
    if broadcast.live is None:
        raise Refusal("not_found", f"broadcast {broadcast_id} is not a live broadcast", status=404)
    return jsonify(serializers.live_json(broadcast))


@bp.post("/live/<int:broadcast_id>/stop")
@authenticated
def stop_live(broadcast_id: int) -> Response:
    """End it on every loudspeaker (the speaker, or someone who may stop broadcasts there)."""
    live = rules.stop_live(db(), g.user, broadcast_id)
    broadcast = broadcasts.visible_broadcast(db(), g.user, live.broadcast_id)
    return jsonify(serializers.live_json(broadcast))
