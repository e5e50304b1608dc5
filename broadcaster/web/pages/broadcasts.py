"""Broadcasts: one broadcast's page and its stop button, programmes, emergencies (their CAP section: cap.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from broadcaster.db import Device, ListeningCheck, User, parse_id
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import bulletins as bulletin_rules
from broadcaster.domain import emergency, errors, fleet
from broadcaster.web.common import config, db
from broadcaster.web.pages import cap as cap_pages
from broadcaster.web.pages.base import (
    Refused,
    areas_in_scope,
    bp,
    check_csrf,
    local_input,
    login_required,
    whole,
)
from broadcaster.web.pages.scheduling import when_text
from broadcaster.web.pages.wording import said_events


@bp.get("/broadcasts/<int:broadcast_id>")
@login_required
def broadcast(user: User, broadcast_id: int) -> str:
    try:
        item = broadcast_rules.visible_broadcast(db(), user, broadcast_id)
    except errors.Refusal:
        abort(404)
    names = {d.id: d for d in db().query(Device)}
    check = db().get(ListeningCheck, item.asset_id) if item.asset_id else None
    repeat = item.repeat()
    when = when_text(item.play_at, repeat.to_dict() if repeat else None)
    return render_template("broadcast.html", user=user, broadcast=item, devices=names, listening=check, when=when,
                           zone=config().timezone)


@bp.get("/broadcasts/<int:broadcast_id>/events")
@login_required
def broadcast_events(user: User, broadcast_id: int) -> Response:
    """The broadcast page's live progress (Server-Sent Events), instead of reloading the page."""
    from broadcaster.web.api import event_stream

    answer = event_stream(user.id, broadcast_id)
    answer.response = stream_with_context(said_events(answer.response))
    return answer


@bp.post("/broadcasts/<int:broadcast_id>/stop")
@login_required
def stop(user: User, broadcast_id: int) -> Response:
    check_csrf()
    with Refused({}) as refused:
        broadcast_rules.stop_broadcast(db(), user, broadcast_id)
    if refused.message:
        flash(refused.message, "error")
    return redirect(url_for("ui.broadcast", broadcast_id=broadcast_id))


@bp.route("/programmes/new", methods=["GET", "POST"])
@login_required
def programme_page(user: User) -> str | Response | tuple[str, int]:
    """A session of approved items played back to back."""
    error = None
    if request.method == "POST":
        check_csrf()
        form = request.form
        items = [{"bulletin_id": b} for b in map(parse_id, form.getlist("items")) if b is not None]
        data: dict[str, Any] = {"title": form.get("title"), "items": items,
                                "targets": form.getlist("targets") or ["all"],
                                "priority": form.get("priority", "normal")}
        with Refused() as refused:
            data["play_at"] = local_input(form.get("play_at", ""))
            _, broadcasts = broadcast_rules.create_programme(db(), user, data, config().grace_s, config().timezone)
        if not refused.message:
            return redirect(url_for("ui.broadcast", broadcast_id=broadcasts[0].id))
        error = refused.message
    approved = bulletin_rules.list_bulletins(db(), user, "approved")
    page = render_template("programme.html", user=user, bulletins=approved, devices=fleet.pickable_devices(db(), user),
                           areas=areas_in_scope(user), groups=fleet.list_groups(db(), user), error=error,
                           slots=range(6), form=request.form)
    return (page, 422) if error else page


@bp.route("/emergency", methods=["GET", "POST"])
@login_required
def emergency_page(user: User) -> str | Response | tuple[str, int]:
    error = None
    if request.method == "POST":
        check_csrf()
        form = request.form
        data: dict[str, Any] = {"targets": form.getlist("targets") or ["all"], "text": form.get("text") or None,
                                "repeat_count": whole(form.get("repeat_count"), 1),
                                "repeat_every_min": whole(form.get("repeat_every_min"), 10)}
        if form.get("template"):
            data["template"] = form["template"]
        with Refused() as refused:
            sent = emergency.send_emergency(db(), user, data, config().grace_s, config().timezone,
                                            first_stored=db().commit)
        if not refused.message:
            flash(gettext("Đã phát khẩn cấp: %(n)s lượt.", n=len(sent.broadcasts)), "success")
            return redirect(url_for("ui.broadcast", broadcast_id=sent.broadcasts[0].id))
        error = refused.message
    page = render_template("emergency.html", user=user, templates=emergency.templates(), areas=areas_in_scope(user),
                           groups=fleet.list_groups(db(), user), error=error, form=request.form,
                           **cap_pages.page_context(user))
    return (page, 422) if error else page
