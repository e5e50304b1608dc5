"""JSON API under /api/v1. Errors are ``{"error": {"code", "message"}}`` with a 4xx/5xx status."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from broadcaster.assets import AssetStore
from broadcaster.db import LARGEST_ID, ApiToken, AuditEntry, DeviceHealth, LexiconEntry, token_hash, utcnow
from broadcaster.domain import accounts, broadcasts, bulletins, dashboard, emergency, errors, fleet, reports
from broadcaster.domain.access import Denied, require
from broadcaster.speech.engines import DEFAULT_VOICE, voice_report
from broadcaster.speech.normalize import DIALECTS, Normalizer
from broadcaster.web import common, serializers
from broadcaster.web.common import config, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
T = TypeVar("T")


def error(code: str, message: str, status: int, field: str | None = None,
          details: list[dict[str, Any]] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return jsonify(error=body), status


@bp.errorhandler(errors.Refusal)
def refused(exc: errors.Refusal) -> tuple[Response, int]:
    return error(exc.code, exc.message, exc.status, exc.field, exc.details)


@bp.errorhandler(Denied)
def denied(exc: Denied) -> tuple[Response, int]:
    return error(exc.code, exc.message, 403)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    return error((exc.name or "error").lower().replace(" ", "_"), exc.description or "", exc.code or 500)


def get_or_404(model: type[T], key: Any, what: str) -> T:
    found = db().get(model, key)
    if found is None:
        raise errors.Refusal("not_found", f"{what} {key} does not exist", status=404)
    return found


def authenticated(view):
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error("unauthorized", "send 'Authorization: Bearer <token>'", 401)
        record = db().query(ApiToken).filter_by(token_hash=token_hash(token.strip())).one_or_none()
        if record is None:
            return error("unauthorized", "the API token is not valid", 401)
        now = utcnow()
        if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 300:
            record.last_used_at = now  # coarse: a write per token every few minutes, not per request
        g.user = record.user
        return view(*args, **kwargs)

    return wrapper


MAX_JSON_BYTES = 1024 * 1024


def body() -> dict[str, Any]:
    """The request's JSON object. Each field is checked where it is used (its own code and message); here only
    what no field can mean: not an object, too large or too deeply nested, or a number beyond what an id column
    holds, which the database driver cannot even compare (an id like that would crash the lookup instead of not
    being found)."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise errors.Refusal("request_entity_too_large", "a JSON body may be at most 1 MiB", status=413)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # ``silent`` covers malformed JSON, not JSON nested deeper than the decoder goes
        raise errors.Refusal("bad_json", "the JSON body is nested too deeply", status=400) from None
    if not isinstance(data, dict):
        raise errors.Refusal("bad_json", "the request body must be a JSON object", status=400)
    _refuse_huge_integers(data)
    return data


def optional_body() -> dict[str, Any]:
    """``body()`` for an operation whose body may be left out: nothing (or nothing in JSON) sent is ``{}``."""
    if not request.is_json or (not request.content_length and not request.get_data()):
        return {}
    return body()


def _refuse_huge_integers(data: dict[str, Any]) -> None:
    # A loop, not recursion: a body nested a thousand deep must not exhaust the stack.
    pending: list[tuple[str, Any]] = list(data.items())
    while pending:
        field, value = pending.pop()
        if isinstance(value, dict):
            pending += [(field, v) for v in value.values()]
        elif isinstance(value, list):
            pending += [(field, v) for v in value]
        elif isinstance(value, int) and not -LARGEST_ID <= value <= LARGEST_ID:
            raise errors.Refusal("number_too_large", f"'{field}' holds a number beyond what this server keeps "
                                                      f"(at most {LARGEST_ID})", field=field)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API described as OpenAPI 3.1."""
    from broadcaster.web.openapi import document

    return jsonify(document())


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
    entry = bulletins.add_lexicon_entry(db(), g.user, body())
    return jsonify({"id": entry.id, "word": entry.word, "reading": entry.reading}), 201


@bp.delete("/lexicon/<int:entry_id>")
@authenticated
def delete_lexicon(entry_id: int) -> Response:
    bulletins.delete_lexicon_entry(db(), g.user, entry_id)
    return Response(status=204)


@bp.post("/normalize")
@authenticated
def preview_reading() -> Response:
    """How ``text`` will be read aloud, with this commune's dictionary: a preview before approval."""
    text = errors.text_field(body(), "text", bulletins.MAX_TEXT)
    speech = config().speech
    normalizer = Normalizer(DIALECTS[speech.dialect], extra=bulletins.lexicon(db()))
    return jsonify(sentences=normalizer.sentences(text))


@bp.post("/preview")
@authenticated
def preview() -> Response:
    """The audio that will air for ``text``, with what the listening check understood of it."""
    text = errors.text_field(body(), "text", bulletins.MAX_TEXT)
    return jsonify(common.preview(text, url_for("api.asset_audio", asset_id="ASSET")))


@bp.get("/assets/<asset_id>")
@authenticated
def asset_audio(asset_id: str) -> Response:
    return common.asset_response(asset_id)


@bp.get("/devices")
@authenticated
def devices() -> Response:
    health = {h.device_id: h for h in db().query(DeviceHealth)}
    return jsonify([serializers.device_json(d, health.get(d.id)) for d in fleet.visible_devices(db(), g.user)])


@bp.post("/bulletins")
@authenticated
def create_bulletin() -> tuple[Response, int]:
    """JSON ``{title, text}`` for speech, or multipart ``title``, ``language`` and file ``audio`` for a recording."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("audio")
        if upload is None:
            raise errors.Refusal("missing_field", "send the recording as the file field 'audio'", field="audio")
        cfg = config()
        bulletin = bulletins.create_recording_bulletin(
            db(), g.user, request.form.get("title"), request.form.get("language", "vi"), upload.filename or "",
            upload.read(), AssetStore(cfg.upload_dir, suffix=""), cfg.speech.max_recording_s)
        return jsonify(serializers.bulletin_json(bulletin)), 201
    bulletin = bulletins.create_bulletin(db(), g.user, body())
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
    """Change ``title`` or ``text``; an approved bulletin goes back to ``submitted``."""
    return jsonify(serializers.bulletin_json(bulletins.update_bulletin(db(), g.user, bulletin_id, body())))


@bp.post("/bulletins/<int:bulletin_id>/submit")
@authenticated
def submit(bulletin_id: int) -> Response:
    return jsonify(serializers.bulletin_json(bulletins.submit_bulletin(db(), g.user, bulletin_id)))


@bp.post("/bulletins/<int:bulletin_id>/approve")
@authenticated
def approve(bulletin_id: int) -> Response:
    """Optionally ``{"comment": "..."}``: a word for the writer."""
    comment = optional_body().get("comment")
    if comment is not None and not isinstance(comment, str):
        raise errors.Refusal("invalid_type", "'comment' must be text (or null)", field="comment")
    return jsonify(serializers.bulletin_json(bulletins.approve_bulletin(db(), g.user, bulletin_id, comment)))


@bp.post("/bulletins/<int:bulletin_id>/reject")
@authenticated
def reject(bulletin_id: int) -> Response:
    """``{"comment": "..."}``: what the writer should change (required)."""
    bulletin = bulletins.reject_bulletin(db(), g.user, bulletin_id, body().get("comment"))
    return jsonify(serializers.bulletin_json(bulletin))


@bp.post("/broadcasts")
@authenticated
def create_broadcast() -> tuple[Response, int]:
    broadcast = broadcasts.create_broadcast(db(), g.user, body(), config().grace_s, config().timezone)
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


@bp.get("/dashboard")
@authenticated
def dashboard_rows() -> Response:
    """Every cluster in your areas, one row each (what the live dashboard shows)."""
    return jsonify(dashboard.device_rows(db(), g.user))


@bp.get("/events")
@authenticated
def events() -> Response:
    """Server-Sent Events: ``device`` when a cluster's row changes, ``alarms`` when the open alarms change."""
    return event_stream(g.user.id)


def event_stream(user_id: int) -> Response:
    database = current_app.extensions["broadcaster"]["db"]
    return Response(dashboard.stream(database.sessions, user_id), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/alarms")
@authenticated
def list_alarms() -> Response:
    """Alarms not yet acknowledged in your areas, newest first; ``?all=1`` includes acknowledged ones."""
    return jsonify(dashboard.alarm_rows(db(), g.user, include_done=request.args.get("all") == "1"))


@bp.post("/alarms/<int:alarm_id>/ack")
@authenticated
def acknowledge_alarm(alarm_id: int) -> Response:
    alarm = dashboard.acknowledge(db(), g.user, alarm_id)
    return jsonify({"id": alarm.id, "acked_at": serializers.iso(alarm.acked_at)})


@bp.put("/devices/<device_id>/power")
@authenticated
def device_power(device_id: str) -> Response:
    """``{"on": false}`` switches a cluster off: silent for everything but emergencies, until switched on."""
    setting = fleet.set_power(db(), g.user, device_id, body().get("on"))
    return jsonify({"device": device_id, "on": setting.enabled, "sent": setting.sent_at is not None})


@bp.put("/devices/<device_id>/position")
@authenticated
def device_position(device_id: str) -> Response:
    """``{"lat": 21.03, "lon": 105.85}`` (WGS 84) for the dashboard's map; nulls clear it."""
    device = fleet.set_position(db(), g.user, device_id, body())
    return jsonify({"device": device.id, "lat": device.lat, "lon": device.lon})


def _report(limit: int = reports.MAX_ROWS, newest_first: bool = False,
            summarize: bool = True) -> tuple[reports.Report, tuple[datetime, datetime]]:
    return reports.from_query(db(), g.user, request.args, ZoneInfo(config().timezone), limit, newest_first,
                              summarize)


@bp.get("/reports/airtime")
@authenticated
def airtime_report() -> Response:
    """Planned against played per cluster for ``from``..``to`` (local dates; default the last 7 days),
    ``area_id`` to narrow it; ``format=csv`` for a spreadsheet (every row). The JSON has the summary per village
    over every row, ``total`` rows, and the first ``limit`` of them (default 1000)."""
    if request.args.get("format") == "csv":
        report, span = _report()
        name = f"phat-thanh-{span[0]:%Y%m%d}-{(span[1] - timedelta(days=1)):%Y%m%d}.csv"
        return Response(reports.to_csv(report.rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    report, span = _report(min(max(request.args.get("limit", 1000, type=int) or 1000, 1), reports.MAX_ROWS))
    return jsonify(period={"from": f"{span[0]:%Y-%m-%d}", "to": f"{span[1] - timedelta(days=1):%Y-%m-%d}"},
                   villages=report.villages, total=report.total, rows=[asdict(r) for r in report.rows])


@bp.get("/playback")
@authenticated
def playback_log() -> Response:
    """The playback log, searchable: ``q`` (words of the title), ``device``, ``state``, ``from``, ``to``,
    ``area_id``; at most ``limit`` rows (default 200), newest first."""
    report, _ = _report(min(request.args.get("limit", 200, type=int) or 200, 5000), newest_first=True,
                        summarize=False)
    return jsonify([asdict(r) for r in report.rows])


@bp.get("/emergency/templates")
@authenticated
def emergency_templates() -> Response:
    return jsonify(emergency.templates())


@bp.post("/emergency")
@authenticated
def send_emergency() -> tuple[Response, int]:
    """Out at once at emergency priority, over the air-time rules: ``{"targets": ["all"] or area/device ids,
    "text": "..." or "template": "storm", "repeat_count": 3, "repeat_every_min": 10}``."""
    sent = emergency.send_emergency(db(), g.user, body(), config().grace_s, config().timezone)
    return jsonify(bulletin=serializers.bulletin_json(sent.bulletin),
                   broadcasts=[serializers.broadcast_json(b) for b in sent.broadcasts]), 201


@bp.post("/cap")
@authenticated
def import_cap() -> tuple[Response, int]:
    """A CAP 1.2 alert (XML body). 201 when it aired, 200 when it was recorded without airing (with why)."""
    result = emergency.import_cap(db(), g.user, request.get_data(), config().grace_s, config().timezone)
    answer: dict[str, Any] = {"identifier": result.identifier, "aired": result.aired, "reason": result.reason,
                              "stopped": result.stopped or []}
    if result.sent is not None:
        answer["bulletin"] = serializers.bulletin_json(result.sent.bulletin)
        answer["broadcasts"] = [serializers.broadcast_json(b) for b in result.sent.broadcasts]
    return jsonify(answer), 201 if result.aired else 200


@bp.get("/groups")
@authenticated
def list_groups() -> Response:
    """Groups of clusters (the market, the schools...) you may target as ``"group:<id>"``."""
    return jsonify([serializers.group_json(group) for group in fleet.list_groups(db(), g.user)])


@bp.post("/groups")
@authenticated
def create_group() -> tuple[Response, int]:
    """``{"name": "Loa chợ", "devices": ["loa-01", "loa-04"]}`` (operators, admins)."""
    return jsonify(serializers.group_json(fleet.save_group(db(), g.user, body()))), 201


@bp.put("/groups/<int:group_id>")
@authenticated
def update_group(group_id: int) -> Response:
    return jsonify(serializers.group_json(fleet.save_group(db(), g.user, body(), group_id)))


@bp.get("/areas")
@authenticated
def list_areas() -> Response:
    """Areas in your scope, each with the air-time rule that governs it (its own or the nearest above)."""
    return jsonify(fleet.areas_json(db(), g.user))


@bp.post("/areas")
@authenticated
def create_area() -> tuple[Response, int]:
    """``{"name": "Thôn Đông", "kind": "village", "parent_id": 3}`` (admins)."""
    area = fleet.create_area(db(), g.user, body())
    return jsonify(next(a for a in fleet.areas_json(db(), g.user) if a["id"] == area.id)), 201


@bp.put("/areas/<int:area_id>/airtime")
@authenticated
def set_airtime(area_id: int) -> Response:
    """``{"allowed_from": "05:30", "allowed_to": "21:30", "max_session_min": 15, "max_sessions_per_day": 4}``
    (admins); the last two may be null for no limit."""
    fleet.set_airtime_rule(db(), g.user, area_id, body())
    return jsonify(next(a for a in fleet.areas_json(db(), g.user) if a["id"] == area_id))


@bp.post("/broadcasts/<int:broadcast_id>/stop")
@authenticated
def stop_broadcast(broadcast_id: int) -> Response:
    """Stop it everywhere: cut off where it plays, never started where it waits."""
    return jsonify(serializers.broadcast_json(broadcasts.stop_broadcast(db(), g.user, broadcast_id)))


@bp.put("/devices/<device_id>/volume")
@authenticated
def device_volume(device_id: str) -> Response:
    setting = fleet.set_volume(db(), g.user, device_id, body().get("volume"))
    return jsonify({"device": device_id, "volume": setting.volume, "sent": setting.sent_at is not None})


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


# accounts ----------------------------------------------------------------------------------------------


@bp.get("/me")
@authenticated
def me() -> Response:
    return jsonify(accounts.user_json(db(), g.user))


@bp.get("/tokens")
@authenticated
def list_tokens() -> Response:
    """Your API tokens (never the tokens themselves: only their names and when they were used)."""
    rows = db().query(ApiToken).filter_by(user_id=g.user.id).order_by(ApiToken.id)
    return jsonify([accounts.token_json(t) for t in rows])


@bp.post("/tokens")
@authenticated
def create_token() -> tuple[Response, int]:
    """``{"name": "..."}``: a new token, shown once in the answer."""
    record, token = accounts.create_token(db(), g.user, body().get("name"))
    return jsonify({**accounts.token_json(record), "token": token}), 201


@bp.delete("/tokens/<int:token_id>")
@authenticated
def delete_token(token_id: int) -> Response:
    accounts.delete_token(db(), g.user, token_id)
    return Response(status=204)


@bp.get("/users")
@authenticated
def list_users() -> Response:
    return jsonify([accounts.user_json(db(), u) for u in accounts.list_users(db(), g.user)])


@bp.post("/users")
@authenticated
def create_user() -> tuple[Response, int]:
    """``{"username", "password", "roles": [...], "areas": [area ids]}`` (admins)."""
    return jsonify(accounts.user_json(db(), accounts.create_user(db(), g.user, body()))), 201


@bp.patch("/users/<int:user_id>")
@authenticated
def update_user(user_id: int) -> Response:
    """Change ``roles``, ``areas`` or ``password``; ``"unlock": true`` lifts a lockout (admins)."""
    return jsonify(accounts.user_json(db(), accounts.update_user(db(), g.user, user_id, body())))


@bp.get("/audit")
@authenticated
def audit_log() -> Response:
    """Who did what, when and from where, newest first (admins). ``?action=bulletin.approve&user=an``."""
    require(g.user, "admin")
    query = db().query(AuditEntry).order_by(AuditEntry.id.desc())
    if request.args.get("action"):
        query = query.filter(AuditEntry.action == request.args["action"])
    if request.args.get("user"):
        query = query.filter(AuditEntry.username == request.args["user"])
    limit = min(request.args.get("limit", 200, type=int) or 200, 1000)
    return jsonify([{"id": e.id, "at": serializers.iso(e.at), "user": e.username, "action": e.action,
                     "target": e.target, "detail": e.detail, "address": e.address} for e in query.limit(limit)])
