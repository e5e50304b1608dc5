"""JSON API under /api/v1. Errors are ``{"error": {"code", "message"}}`` with a 4xx/5xx status."""

from __future__ import annotations

from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request, url_for
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from broadcaster import service
from broadcaster.assets import AssetStore
from broadcaster.db import Broadcast, Bulletin, Device, DeviceHealth, LexiconEntry, User, token_hash
from broadcaster.engines import DEFAULT_VOICE, voice_report
from broadcaster.normalize import DIALECTS, Normalizer
from broadcaster.web import common
from broadcaster.web.common import config, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
T = TypeVar("T")


def error(code: str, message: str, status: int, field: str | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return jsonify(error=body), status


@bp.errorhandler(service.Refusal)
def refused(exc: service.Refusal) -> tuple[Response, int]:
    return error(exc.code, exc.message, exc.status, exc.field)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    return error((exc.name or "error").lower().replace(" ", "_"), exc.description or "", exc.code or 500)


@bp.errorhandler(OperationalError)
def database_down(exc: OperationalError) -> tuple[Response, int]:
    return error("database_unavailable", "the database is not answering; try again shortly", 503)


def get_or_404(model: type[T], key: Any, what: str) -> T:
    found = db().get(model, key)
    if found is None:
        raise service.Refusal("not_found", f"{what} {key} does not exist", status=404)
    return found


def authenticated(view):
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error("unauthorized", "send 'Authorization: Bearer <token>'", 401)
        user = db().query(User).filter_by(token_hash=token_hash(token.strip())).one_or_none()
        if user is None:
            return error("unauthorized", "the API token is not valid", 401)
        g.user = user
        return view(*args, **kwargs)

    return wrapper


MAX_JSON_BYTES = 1024 * 1024


def body() -> dict[str, Any]:
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise service.Refusal("request_entity_too_large", "a JSON body may be at most 1 MiB", status=413)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise service.Refusal("bad_json", "the request body must be a JSON object", status=400)
    return data


@bp.get("/health")
def health() -> Response:
    return jsonify(status="ok")


@bp.get("/voices")
@authenticated
def voices() -> Response:
    """Every voice, whether it can speak on this server, and the one bulletins use now."""
    speech = config().speech
    report = voice_report(speech.voices)
    usable = {v["name"] for v in report if v["available"]}
    return jsonify(voices=report, configured=speech.voice,
                   in_use=speech.voice if speech.voice in usable else DEFAULT_VOICE)


@bp.get("/lexicon")
@authenticated
def list_lexicon() -> Response:
    """The commune's own words and their readings (applied before the built-in dictionary)."""
    entries = db().query(LexiconEntry).order_by(LexiconEntry.word)
    return jsonify([{"id": e.id, "word": e.word, "reading": e.reading} for e in entries])


@bp.post("/lexicon")
@authenticated
def add_lexicon() -> tuple[Response, int]:
    entry = service.add_lexicon_entry(db(), g.user, body())
    return jsonify({"id": entry.id, "word": entry.word, "reading": entry.reading}), 201


@bp.delete("/lexicon/<int:entry_id>")
@authenticated
def delete_lexicon(entry_id: int) -> Response:
    db().delete(get_or_404(LexiconEntry, entry_id, "dictionary entry"))
    return Response(status=204)


@bp.post("/normalize")
@authenticated
def preview_reading() -> Response:
    """How ``text`` will be read aloud, with this commune's dictionary: a preview before approval."""
    text = service.text_field(body(), "text", service.MAX_TEXT)
    speech = config().speech
    normalizer = Normalizer(DIALECTS[speech.dialect], extra=service.lexicon(db()))
    return jsonify(sentences=normalizer.sentences(text))


@bp.post("/preview")
@authenticated
def preview() -> Response:
    """The audio that will air for ``text``, with what the listening check understood of it."""
    text = service.text_field(body(), "text", service.MAX_TEXT)
    return jsonify(common.preview(text, url_for("api.asset_audio", asset_id="ASSET")))


@bp.get("/assets/<asset_id>")
@authenticated
def asset_audio(asset_id: str) -> Response:
    return common.asset_response(asset_id)


@bp.get("/devices")
@authenticated
def devices() -> Response:
    health = {h.device_id: h for h in db().query(DeviceHealth)}
    return jsonify([service.device_json(d, health.get(d.id)) for d in db().query(Device).order_by(Device.id)])


@bp.post("/bulletins")
@authenticated
def create_bulletin() -> tuple[Response, int]:
    """JSON ``{title, text}`` for speech, or multipart ``title``, ``language`` and file ``audio`` for a recording."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("audio")
        if upload is None:
            raise service.Refusal("missing_field", "send the recording as the file field 'audio'", field="audio")
        cfg = config()
        bulletin = service.create_recording_bulletin(
            db(), g.user, request.form.get("title"), request.form.get("language", "vi"), upload.filename or "",
            upload.read(), AssetStore(cfg.upload_dir, suffix=""), cfg.speech.max_recording_s)
        return jsonify(service.bulletin_json(bulletin)), 201
    bulletin = service.create_bulletin(db(), g.user, body())
    return jsonify(service.bulletin_json(bulletin)), 201


@bp.get("/bulletins/<int:bulletin_id>")
@authenticated
def get_bulletin(bulletin_id: int) -> Response:
    return jsonify(service.bulletin_json(get_or_404(Bulletin, bulletin_id, "bulletin")))


@bp.post("/bulletins/<int:bulletin_id>/approve")
@authenticated
def approve(bulletin_id: int) -> Response:
    return jsonify(service.bulletin_json(service.approve_bulletin(db(), g.user, bulletin_id)))


@bp.post("/broadcasts")
@authenticated
def create_broadcast() -> tuple[Response, int]:
    broadcast = service.create_broadcast(db(), g.user, body(), config().grace_s)
    return jsonify(service.broadcast_json(broadcast)), 201


@bp.post("/broadcasts/<int:broadcast_id>/stop")
@authenticated
def stop_broadcast(broadcast_id: int) -> Response:
    """Stop it everywhere: cut off where it plays, never started where it waits."""
    return jsonify(service.broadcast_json(service.stop_broadcast(db(), g.user, broadcast_id)))


@bp.put("/devices/<device_id>/volume")
@authenticated
def device_volume(device_id: str) -> Response:
    setting = service.set_volume(db(), g.user, device_id, body().get("volume"))
    return jsonify({"device": device_id, "volume": setting.volume, "sent": setting.sent_at is not None})


@bp.get("/broadcasts/<int:broadcast_id>")
@authenticated
def get_broadcast(broadcast_id: int) -> Response:
    return jsonify(service.broadcast_json(get_or_404(Broadcast, broadcast_id, "broadcast")))


@bp.get("/broadcasts")
@authenticated
def list_broadcasts() -> Response:
    rows = db().query(Broadcast).order_by(Broadcast.id.desc()).limit(100)
    return jsonify([service.broadcast_json(b) for b in rows])
