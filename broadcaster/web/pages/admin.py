"""Administration: users and their roles, areas, groups and air-time rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, redirect, render_template, request
from werkzeug.wrappers import Response

from broadcaster.db import ROLES, User, parse_id, utcnow
from broadcaster.domain import accounts, errors, fleet, when
from broadcaster.domain import public as public_rules
from broadcaster.domain import voices as voice_rules
from broadcaster.domain.access import can
from broadcaster.speech.voices import voice_report
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import (
    Refused,
    areas_in_scope,
    bp,
    check_csrf,
    ident,
    login_required,
)


def clock(typed: str | None) -> str | None:
    """A time of day as officers type it (6:30, 6h30, 06:30) as the rules take it (06:30); anything else as
    typed, for the rules to refuse in their words."""
    try:
        return when.time_text(typed) if typed != "24:00" else typed
    except errors.Refusal:
        return typed


def admin_page(user: User, template: str, act: Callable[[Any], object], refusals: Mapping[str, object] | None = None,
               **context: Any) -> str | Response | tuple[str, int]:
    """An admin page whose forms each carry an ``action``: ``act(form)`` does it (Refusal: shown on the
    page, 422, in the words of ``refusals`` when it has them), then the page is shown again."""
    if not can(user, "admin"):
        abort(403)
    error = None
    if request.method == "POST":
        check_csrf()
        with Refused(refusals or {}) as refused:
            act(request.form)
        if not refused.message:
            return redirect(request.path)
        error = refused.message
    page = render_template(template, user=user, error=error, **{k: v() if callable(v) else v
                                                                 for k, v in context.items()})
    return (page, 422) if error else page


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users_page(user: User) -> str | Response | tuple[str, int]:
    """Users, their roles and areas; a new user; unlocking one locked out by wrong passwords."""

    def act(form: Any) -> None:
        areas = [a for a in map(parse_id, form.getlist("areas")) if a is not None]
        target = ident(form.get("user_id"))
        if form.get("action") == "create":
            accounts.create_user(db(), user, {"username": form.get("username"), "password": form.get("password"),
                                              "roles": form.getlist("roles"), "areas": areas})
        elif form.get("action") == "update":
            accounts.update_user(db(), user, target, {"roles": form.getlist("roles"), "areas": areas})
        elif form.get("action") == "unlock":
            accounts.update_user(db(), user, target, {"unlock": True})
        else:
            abort(400)

    return admin_page(user, "users.html", act, users=lambda: accounts.list_users(db(), user),
                      areas=lambda: areas_in_scope(user), roles=ROLES, now=utcnow())


@bp.route("/admin/areas", methods=["GET", "POST"])
@login_required
def areas_page(user: User) -> str | Response | tuple[str, int]:
    """Areas and their air-time rules; a new area."""

    def act(form: Any) -> None:
        if form.get("action") == "create":
            parent = form.get("parent_id", "")
            fleet.create_area(db(), user, {"name": form.get("name"), "kind": form.get("kind"),
                                             "parent_id": parse_id(parent)})
        elif form.get("action") == "group":
            fleet.save_group(db(), user, {"name": form.get("group_name"), "devices": form.getlist("devices")})
        elif form.get("action") == "voice":
            voice_rules.set_area_voice(db(), user, ident(form.get("area_id")), {"voice": form.get("voice")},
                                       config().speech.catalog())
        elif form.get("action") == "public":
            public_rules.set_public(db(), user, ident(form.get("area_id")), form.get("public") == "1")
        elif form.get("action") == "airtime":
            limits = {name: parse_id(form.get(name, "")) for name in ("max_session_min", "max_sessions_per_day")}
            fleet.set_airtime_rule(db(), user, ident(form.get("area_id")), {
                "allowed_from": clock(form.get("allowed_from")), "allowed_to": clock(form.get("allowed_to")),
                **limits})
        else:
            abort(400)

    return admin_page(user, "areas.html", act, areas=lambda: fleet.areas_json(db(), user),
                      voices=lambda: voice_report(config().speech.catalog()),
                      kinds=fleet.AREA_KINDS, groups=lambda: fleet.list_groups(db(), user),
                      devices=lambda: fleet.visible_devices(db(), user),
                      public=lambda: public_rules.public_ids(db()))
