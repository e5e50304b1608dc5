"""Bulletins: the list, a recording uploaded, one bulletin reviewed, approved and scheduled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import User, parse_id
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import bulletins as bulletin_rules
from broadcaster.domain import errors, fleet, when
from broadcaster.domain import voices as voice_rules
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import (
    BULLETIN_LABELS,
    LANGUAGES,
    SPEED_LABELS,
    Refused,
    areas_in_scope,
    bp,
    breach_text,
    check_csrf,
    local_input,
    local_time,
    login_required,
)


def schedule_request(bulletin_id: int) -> dict[str, Any]:
    form = request.form
    targets = form.getlist("targets") or ["all"]
    data: dict[str, Any] = {"bulletin_id": bulletin_id, "targets": targets,
                            "priority": form.get("priority", "normal")}
    if form.get("recurring"):
        days = [d for d in map(parse_id, form.getlist("weekdays")) if d is not None]
        times = [when.time_text(t, "times") for t in form.get("times", "").replace(",", " ").split() if t.strip()]
        data["repeat"] = {"weekdays": days, "times": times,
                          "skip": [when.date_iso(d, "skip") for d in form.get("skip", "").replace(",", " ").split()
                                   if d.strip()]}
        for name in ("start", "until"):
            if form.get(name):
                data["repeat"][name] = when.date_iso(form[name], name)
    else:
        data["play_at"] = local_input(form.get("play_at", ""))
    if form.get("stream_url"):
        minutes = form.get("window_min", "")
        data["relay"] = {"url": form["stream_url"].strip(), "window_s": (parse_id(minutes) or 0) * 60}
    return data


@bp.get("/bulletins")
@login_required
def bulletins(user: User) -> str:
    state = request.args.get("state") or None
    rows = bulletin_rules.list_bulletins(db(), user, state if state in BULLETIN_LABELS else None)
    return render_template("bulletins.html", user=user, bulletins=rows, state=state, error=None, languages=LANGUAGES)


UPLOAD_REFUSALS = {
    "missing_field": _l("Hãy nhập tiêu đề và chọn tệp ghi âm."),
    "invalid_language": _l("Mã ngôn ngữ không hợp lệ (ví dụ: vi, hmn, tay, km)."),
}


@bp.post("/bulletins/upload")
@login_required
def upload_recording(user: User) -> str | Response | tuple[str, int]:
    """A recorded announcement, in any language (ethnic-minority languages included), labelled with it."""
    from broadcaster.assets import AssetStore

    check_csrf()
    upload = request.files.get("audio")
    language = request.form.get("language_other") or request.form.get("language", "vi")
    with Refused(UPLOAD_REFUSALS) as refused:
        if upload is None or not upload.filename:
            raise errors.Refusal("missing_field", "no file", field="audio")
        cfg = config()
        bulletin = bulletin_rules.create_recording_bulletin(db(), user, request.form.get("title"), language.strip(),
                                                     upload.filename, upload.read(),
                                                            AssetStore(cfg.upload_dir, suffix=""),
                                                            cfg.speech.max_recording_s)
    if refused.message:
        page = render_template("bulletins.html", user=user, bulletins=bulletin_rules.list_bulletins(db(), user),
                               state=None, error=refused.message, languages=LANGUAGES)
        return page, 422
    return redirect(url_for("ui.bulletin_page", bulletin_id=bulletin.id))


@bp.route("/bulletins/<int:bulletin_id>", methods=["GET", "POST"])
@login_required
def bulletin_page(user: User, bulletin_id: int) -> str | Response | tuple[str, int]:
    try:
        item = bulletin_rules.visible_bulletin(db(), user, bulletin_id)
    except errors.Refusal:
        abort(404)
    error = None
    if request.method == "POST":
        check_csrf()
        action = request.form.get("action")
        with Refused() as refused:
            if action == "submit":
                bulletin_rules.submit_bulletin(db(), user, bulletin_id)
            elif action == "approve":
                bulletin_rules.approve_bulletin(db(), user, bulletin_id, request.form.get("comment"))
            elif action == "reject":
                bulletin_rules.reject_bulletin(db(), user, bulletin_id, request.form.get("comment"))
            elif action == "edit":
                bulletin_rules.update_bulletin(db(), user, bulletin_id, {"title": request.form.get("title"),
                                                                  "text": request.form.get("text")})
            elif action == "schedule":
                broadcast = broadcast_rules.create_broadcast(db(), user, schedule_request(bulletin_id),
                                                             config().grace_s, config().timezone)
                return redirect(url_for("ui.broadcast", broadcast_id=broadcast.id))
            else:
                abort(400)
        if not refused.message:
            return redirect(url_for("ui.bulletin_page", bulletin_id=bulletin_id))
        error = refused.message
        item = bulletin_rules.visible_bulletin(db(), user, bulletin_id)
    voice, speed = voice_rules.reading_of(db(), item)
    voice = voice or config().speech.default_voice()
    settings = config().speech.catalog().get(voice)
    page = render_template("bulletin.html", user=user, bulletin=item, error=error, form=request.form,
                           voice_label=settings.label if settings and settings.label else voice,
                           speed=SPEED_LABELS.get(f"{speed:g}", f"{speed:g}"),
                           devices=fleet.visible_devices(db(), user), areas=areas_in_scope(user),
                           groups=fleet.list_groups(db(), user))
    return (page, 422) if error else page


@bp.post("/bulletins/<int:bulletin_id>/check")
@login_required
def bulletin_check(user: User, bulletin_id: int) -> Response | tuple[Response, int]:
    """The schedule form's 'Kiểm tra': breaches and overlaps, in words, without saving (JSON for the page)."""
    check_csrf()
    with Refused() as refused:
        plan = broadcast_rules.plan_broadcast(db(), user, schedule_request(bulletin_id), config().timezone)
    if refused.exc is not None:
        return jsonify(ok=False, message=refused.message), refused.exc.status
    lines = [breach_text(b) for b in plan.breaches]
    overlaps = [gettext("%(device)s: trùng với #%(id)s “%(title)s” (%(when)s)", device=o["device_id"],
                        id=o["broadcast_id"], title=o["title"],
                        when=local_time(datetime.fromisoformat(o["start"])))
                for o in plan.overlaps]
    return jsonify(ok=not plan.breaches, breaches=lines, overlaps=overlaps, devices=len(plan.devices))
