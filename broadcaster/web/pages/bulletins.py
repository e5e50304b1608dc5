"""Bulletins: the list, a recording uploaded, one bulletin reviewed, approved and scheduled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import User
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import bulletins as bulletin_rules
from broadcaster.domain import errors, fleet, requested
from broadcaster.domain import voices as voice_rules
from broadcaster.web import common
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import (
    BULLETIN_LABELS,
    LANGUAGES,
    SPEED_LABELS,
    Refused,
    areas_in_scope,
    bp,
    breach_lines,
    check_csrf,
    local_time,
    login_required,
)
from broadcaster.web.pages.scheduling import request_text, when_from_form, when_to_form


def schedule_request(bulletin_id: int) -> dict[str, Any]:
    return {"bulletin_id": bulletin_id, **when_from_form(request.form)}


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
    """One bulletin: its text and how it will sound; the leader's review with what the writer asked for (to keep
    or change) and one step to approve and air it; editing; scheduling an approved one."""
    try:
        item = bulletin_rules.visible_bulletin(db(), user, bulletin_id)
    except errors.Refusal:
        abort(404)
    error = None
    if request.method == "POST":
        check_csrf()
        outcome = _act(user, bulletin_id, request.form.get("action"))
        if not isinstance(outcome, str):
            return outcome
        error = outcome
        item = bulletin_rules.visible_bulletin(db(), user, bulletin_id)
    voice, speed = voice_rules.reading_of(db(), item)
    voice = voice or config().speech.default_voice()
    settings = config().speech.catalog().get(voice)
    devices, areas, groups = fleet.pickable_devices(db(), user), areas_in_scope(user), fleet.list_groups(db(), user)
    names = {**{d.id: d.name for d in devices or []}, **{f"area:{a.id}": a.name for a in areas},
             **{f"group:{g.id}": g.name for g in groups}}
    asked = requested.requested(item)
    page = render_template("bulletin.html", user=user, bulletin=item, error=error,
                           form=request.form if error else when_to_form(asked),
                           asked=request_text(asked, names) if asked else None,
                           voice_label=settings.label if settings and settings.label else voice,
                           speed=SPEED_LABELS.get(f"{speed:g}", f"{speed:g}"),
                           devices=devices, areas=areas, groups=groups)
    return (page, 422) if error else page


def _act(user: User, bulletin_id: int, action: str | None) -> Response | str:
    """Do what the bulletin page's form asked: the page to go to, or why it was refused (in Vietnamese)."""
    cfg, form = config(), request.form
    with Refused() as refused:
        if action == "submit":
            bulletin_rules.submit_bulletin(db(), user, bulletin_id)
        elif action == "approve":  # as the form now says: what the writer asked, or the leader's change
            _, broadcast = requested.approve_and_schedule(db(), user, bulletin_id, form.get("comment"),
                                                          when_from_form(form), cfg.grace_s, cfg.timezone)
            if broadcast is not None:
                return redirect(url_for("ui.broadcast", broadcast_id=broadcast.id))
        elif action == "approve_only":
            bulletin_rules.approve_bulletin(db(), user, bulletin_id, form.get("comment"))
        elif action == "reject":
            bulletin_rules.reject_bulletin(db(), user, bulletin_id, form.get("comment"))
        elif action == "edit":
            bulletin_rules.update_bulletin(db(), user, bulletin_id, {"title": form.get("title"),
                                                                     "text": form.get("text")},
                                           max_spoken_s=cfg.speech.max_spoken_s)
        elif action == "schedule":
            broadcast = broadcast_rules.create_broadcast(db(), user, schedule_request(bulletin_id), cfg.grace_s,
                                                         cfg.timezone)
            return redirect(url_for("ui.broadcast", broadcast_id=broadcast.id))
        else:
            abort(400)
    return refused.message or redirect(url_for("ui.bulletin_page", bulletin_id=bulletin_id))


@bp.post("/bulletins/<int:bulletin_id>/listen")
@login_required
def bulletin_listen(user: User, bulletin_id: int) -> Response | tuple[Response, int]:
    """The review page's player: the very audio that will air for this bulletin, its reading and the listening
    check (JSON, as the write form's "Nghe thử")."""
    check_csrf()
    with Refused() as refused:
        item = bulletin_rules.visible_bulletin(db(), user, bulletin_id)
        return jsonify(common.listen(user, item, url_for("ui.audio", asset_id="ASSET")))
    return refused.json_error()


@bp.post("/bulletins/<int:bulletin_id>/check")
@login_required
def bulletin_check(user: User, bulletin_id: int) -> Response | tuple[Response, int]:
    """The schedule form's 'Kiểm tra': breaches and overlaps, in words, without saving (JSON for the page)."""
    check_csrf()
    with Refused() as refused:
        plan = broadcast_rules.plan_broadcast(db(), user, schedule_request(bulletin_id), config().timezone)
    if refused.exc is not None:
        return jsonify(ok=False, message=refused.message), refused.exc.status
    lines = breach_lines(plan.breaches)
    names = {d.id: d.name for d in fleet.visible_devices(db(), user)}
    clusters: dict[int, list[str]] = {}
    for overlap in plan.overlaps:  # once per broadcast it overlaps, with the clusters it shares, by name
        shared = clusters.setdefault(overlap["broadcast_id"], [])
        name = names.get(overlap["device_id"], overlap["device_id"])
        if name not in shared:
            shared.append(name)
    first = {o["broadcast_id"]: o for o in reversed(plan.overlaps)}
    overlaps = [gettext("%(device)s: trùng với #%(id)s “%(title)s” (%(when)s)", device=", ".join(devices), id=bid,
                        title=first[bid]["title"],
                        when=local_time(datetime.fromisoformat(first[bid]["start"])))
                for bid, devices in clusters.items()]
    return jsonify(ok=not plan.breaches, breaches=lines, overlaps=overlaps, devices=len(plan.devices))
