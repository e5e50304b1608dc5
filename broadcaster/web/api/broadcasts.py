"""Broadcasts in the API: scheduled, checked against the air-time rules, stopped, listed; programmes;
emergencies (CAP alerts: cap.py)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from broadcaster.db import LARGEST_ID
from broadcaster.domain import broadcasts, emergency, errors
from broadcaster.web import serializers
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import config, db


@bp.post("/broadcasts")
@authenticated
def create_broadcast() -> tuple[Response, int]:
    broadcast = broadcasts.create_broadcast(db(), g.user, body(), config().grace_s, config().timezone)
    # Stored (and the leader woken) before the answer is written: it lists every device, thousands for a
    # province, and an emergency must not wait for that.
    db().commit()
    return jsonify(serializers.broadcast_json(broadcast)), 201


@bp.post("/programmes")
@authenticated
def create_programme() -> tuple[Response, int]:
    """Several approved items back to back in one session: ``{"title", "items": [{"bulletin_id"},
    {"bulletin_id", "relay"}...], "targets", "priority", "play_at" or "repeat"}``."""
    programme, items = broadcasts.create_programme(db(), g.user, body(), config().grace_s, config().timezone)
    return jsonify(id=programme.id, title=programme.title,
                   broadcasts=[serializers.broadcast_json(b) for b in items]), 201


@bp.post("/broadcasts/check")
@authenticated
def check_broadcast() -> Response:
    """The same body as ``POST /broadcasts``: what the air-time rules say and what it would overlap on each
    loudspeaker, without saving anything. ``allowed`` is false when creating it would be refused."""
    plan = broadcasts.plan_broadcast(db(), g.user, body(), config().timezone)
    return jsonify(allowed=not plan.breaches, devices=plan.devices, breaches=plan.breaches, overlaps=plan.overlaps)


@bp.post("/broadcasts/<int:broadcast_id>/stop")
@authenticated
def stop_broadcast(broadcast_id: int) -> Response:
    """Stop it everywhere: cut off where it plays, never started where it waits."""
    return jsonify(serializers.broadcast_json(broadcasts.stop_broadcast(db(), g.user, broadcast_id)))


@bp.get("/broadcasts/<int:broadcast_id>")
@authenticated
def get_broadcast(broadcast_id: int) -> Response:
    return jsonify(serializers.broadcast_json(broadcasts.visible_broadcast(db(), g.user, broadcast_id)))


@bp.get("/broadcasts")
@authenticated
def list_broadcasts() -> Response:
    """Newest first, ``limit`` at a time (50 unless asked, at most 500), with how many clusters are in each
    state; ``before=<id>`` gives the next page, and the ``Link: <...>; rel="next"`` header names it. One
    broadcast's clusters one by one: ``GET /broadcasts/{id}``."""
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 500)
    before = None
    if "before" in request.args:
        before = request.args.get("before", type=int)
        if before is None or not 0 < before <= LARGEST_ID:
            raise errors.Refusal("invalid_before", "'before' must be the id of a broadcast", field="before")
    page = broadcasts.list_broadcasts(db(), g.user, limit, before)
    answer = jsonify(serializers.broadcast_summaries(db(), page))
    if len(page) == limit:
        answer.headers["Link"] = f'<{request.path}?before={page[-1].id}&limit={limit}>; rel="next"'
    return answer


@bp.get("/emergency/templates")
@authenticated
def emergency_templates() -> Response:
    return jsonify(emergency.templates())


@bp.post("/emergency")
@authenticated
def send_emergency() -> tuple[Response, int]:
    """Out at once at emergency priority, over the air-time rules: ``{"targets": ["all"] or area/device ids,
    "text": "..." or "template": "storm", "repeat_count": 3, "repeat_every_min": 10}``."""
    sent = emergency.send_emergency(db(), g.user, body(), config().grace_s, config().timezone,
                                    first_stored=db().commit)
    db().commit()  # the repeats, before the answer that lists every device
    return jsonify(bulletin=serializers.bulletin_json(sent.bulletin),
                   broadcasts=[serializers.broadcast_json(b) for b in sent.broadcasts]), 201
