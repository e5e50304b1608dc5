"""Bulletins in the API: written or recorded, submitted, approved or sent back."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from broadcaster.assets import AssetStore
from broadcaster.domain import bulletins, errors, requested
from broadcaster.web import serializers
from broadcaster.web.api.base import authenticated, body, bp, optional_body
from broadcaster.web.common import config, db


@bp.post("/bulletins")
@authenticated
def create_bulletin() -> tuple[Response, int]:
    """JSON ``{title, text}`` for speech (optionally ``voice``, ``speed``, ``submit`` and ``request``: the
    priority, play_at, targets and repeat the writer asks for, which become the broadcast on approval), or
    multipart ``title``, ``language`` and file ``audio`` for a recording."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("audio")
        if upload is None:
            raise errors.Refusal("missing_field", "send the recording as the file field 'audio'", field="audio")
        cfg = config()
        bulletin = bulletins.create_recording_bulletin(
            db(), g.user, request.form.get("title"), request.form.get("language", "vi"), upload.filename or "",
            upload.read(), AssetStore(cfg.upload_dir, suffix=""), cfg.speech.max_recording_s)
        return jsonify(serializers.bulletin_json(bulletin)), 201
    cfg = config()
    bulletin = requested.write_bulletin(db(), g.user, body(), cfg.speech.catalog(), cfg.timezone,
                                        cfg.speech.max_spoken_s)
    return jsonify(serializers.bulletin_json(bulletin)), 201


@bp.get("/bulletins")
@authenticated
def list_bulletins() -> Response:
    """Bulletins in your areas, newest first; ``?state=submitted`` lists what awaits approval."""
    rows = bulletins.list_bulletins(db(), g.user, request.args.get("state"))
    return jsonify([serializers.bulletin_json(b) for b in rows])


@bp.get("/bulletins/<int:bulletin_id>")
@authenticated
def get_bulletin(bulletin_id: int) -> Response:
    return jsonify(serializers.bulletin_json(bulletins.visible_bulletin(db(), g.user, bulletin_id)))


@bp.patch("/bulletins/<int:bulletin_id>")
@authenticated
def edit_bulletin(bulletin_id: int) -> Response:
    """Change ``title``, ``text``, ``voice`` or ``speed``; an approved bulletin goes back to ``submitted``."""
    bulletin = bulletins.update_bulletin(db(), g.user, bulletin_id, body(), config().speech.catalog(),
                                         config().speech.max_spoken_s)
    return jsonify(serializers.bulletin_json(bulletin))


@bp.post("/bulletins/<int:bulletin_id>/submit")
@authenticated
def submit(bulletin_id: int) -> Response:
    return jsonify(serializers.bulletin_json(bulletins.submit_bulletin(db(), g.user, bulletin_id)))


@bp.post("/bulletins/<int:bulletin_id>/approve")
@authenticated
def approve(bulletin_id: int) -> Response:
    """Optionally ``{"comment": "..."}``: a word for the writer. When the writer asked for a broadcast
    (``request``), or the body gives ``schedule`` (priority, play_at, targets, repeat, relay), it is scheduled
    in the same step and ``broadcast_id`` names it; ``"schedule": false`` approves only."""
    data = optional_body()
    comment, schedule = data.get("comment"), data.get("schedule")
    if comment is not None and not isinstance(comment, str):
        raise errors.Refusal("invalid_type", "'comment' must be text (or null)", field="comment")
    if schedule is not None and schedule is not False and not isinstance(schedule, dict):
        raise errors.Refusal("invalid_type", "'schedule' must be an object, false or null", field="schedule")
    cfg = config()
    if schedule is False:
        bulletin, broadcast = bulletins.approve_bulletin(db(), g.user, bulletin_id, comment), None
    else:
        bulletin, broadcast = requested.approve_and_schedule(db(), g.user, bulletin_id, comment, schedule,
                                                             cfg.grace_s, cfg.timezone)
    return jsonify({**serializers.bulletin_json(bulletin), "broadcast_id": broadcast.id if broadcast else None})


@bp.post("/bulletins/<int:bulletin_id>/reject")
@authenticated
def reject(bulletin_id: int) -> Response:
    """``{"comment": "..."}``: what the writer should change (required)."""
    bulletin = bulletins.reject_bulletin(db(), g.user, bulletin_id, body().get("comment"))
    return jsonify(serializers.bulletin_json(bulletin))
