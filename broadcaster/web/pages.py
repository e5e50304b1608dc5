"""The officers' pages beyond the front page: bulletins and their review, scheduling, the emergency button,
the live dashboard, reports and the audit log. Each calls the same service functions as the API, so roles,
areas and rules are the same in both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response as FlaskResponse
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import ROLES, Area, AuditEntry, User, parse_id, utcnow
from broadcaster.domain import accounts, dashboard, emergency, errors, fleet, reports
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import bulletins as bulletin_rules
from broadcaster.domain.access import can, scope_of
from broadcaster.web.common import config, db
from broadcaster.web.ui import REFUSALS, bp, check_csrf, login_required

BULLETIN_LABELS = {"draft": _l("nháp"), "submitted": _l("chờ duyệt"), "approved": _l("đã duyệt"),
                   "rejected": _l("bị trả lại")}
STAGE_LABELS = {**BULLETIN_LABELS, "scheduled": _l("đã lên lịch"), "aired": _l("đã phát")}
DEVICE_STATES = {"online": _l("trực tuyến"), "offline": _l("mất kết nối"), "playing": _l("đang phát"),
                 "failed": _l("lỗi"), "off": _l("đã tắt")}
ROLE_LABELS = {"admin": _l("quản trị"), "editor": _l("biên tập"), "approver": _l("duyệt (lãnh đạo)"),
               "operator": _l("vận hành")}
AREA_LABELS = {"province": _l("Tỉnh"), "district": _l("Huyện"), "commune": _l("Xã"), "village": _l("Thôn")}
WEEKDAYS = [(1, _l("T2")), (2, _l("T3")), (3, _l("T4")), (4, _l("T5")), (5, _l("T6")), (6, _l("T7")), (7, _l("CN"))]
PAGE_REFUSALS = {
    **REFUSALS,
    "not_approved": _l("Bản tin chưa được duyệt."),
    "outside_airtime": _l("Ngoài khung giờ cho phép phát:"),
    "out_of_scope": _l("Có cụm loa hoặc địa bàn ngoài phạm vi của bạn."),
    "own_bulletin": _l("Bạn không thể tự duyệt bản tin của mình; cần một người duyệt khác."),
    "bad_state": _l("Bản tin không ở trạng thái cho phép việc này."),
    "invalid_repeat": _l("Lịch lặp lại không hợp lệ."),
    "unknown_template": _l("Mẫu thông báo không có."),
    "invalid_items": _l("Hãy chọn ít nhất một bản tin đã duyệt cho chương trình."),
    "invalid_relay": _l("Địa chỉ tiếp sóng phải bắt đầu bằng http:// hoặc https://, trong 1 đến 1440 phút."),
}
RULE_WORDS = {"hours": _l("giờ cho phép"), "session_length": _l("tối đa phút mỗi lần phát"),
              "sessions_per_day": _l("tối đa số lần phát mỗi ngày")}


def refusal_text(exc: errors.Refusal) -> str:
    """A refusal in Vietnamese, with every air-time breach spelled out."""
    text = str(PAGE_REFUSALS.get(exc.code, exc.message))
    for breach in exc.details or []:
        text += " " + breach_text(breach) + "."
    return text


def breach_text(breach: dict[str, Any]) -> str:
    return gettext("%(device)s: %(rule)s %(limit)s, lượt này %(value)s", device=breach["device"],
                   rule=RULE_WORDS.get(breach["rule"], breach["rule"]), limit=breach["limit"], value=breach["value"])


def whole(value: str | None, default: int) -> Any:
    """A form's number: an int, the default when empty, else the text itself so the service refuses it with
    its own clear message (never a crash on "abc")."""
    if not value:
        return default
    number = parse_id(value)
    return number if number is not None else value


def ident(value: str | None) -> int:
    """A form's record id; 0 (which matches nothing, so: not found) when it is not one."""
    return (parse_id(value) or 0) if value else 0


def zone() -> ZoneInfo:
    return ZoneInfo(config().timezone)


def local_input(value: str) -> str | None:
    """A datetime-local field (the officer's local time) as ISO 8601 with the zone; None when empty."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone()).isoformat()
    except ValueError:
        raise errors.Refusal("invalid_time", "not a date and time", field="play_at") from None


@bp.app_context_processor
def page_globals() -> dict[str, Any]:
    return {"BULLETIN_LABELS": BULLETIN_LABELS, "STAGE_LABELS": STAGE_LABELS, "can": can, "WEEKDAYS": WEEKDAYS,
            "DEVICE_STATES": DEVICE_STATES, "timedelta_day": timedelta(days=1), "ROLE_LABELS": ROLE_LABELS,
            "AREA_LABELS": AREA_LABELS}


# bulletins -------------------------------------------------------------------------------------------------


@bp.get("/bulletins")
@login_required
def bulletins(user: User) -> str:
    state = request.args.get("state") or None
    rows = bulletin_rules.list_bulletins(db(), user, state if state in BULLETIN_LABELS else None)
    return render_template("bulletins.html", user=user, bulletins=rows, state=state, error=None, languages=LANGUAGES)


LANGUAGES = [("vi", _l("Tiếng Việt")), ("hmn", _l("Tiếng Hmông")), ("tay", _l("Tiếng Tày")),
             ("nut", _l("Tiếng Nùng")), ("km", _l("Tiếng Khmer")), ("cja", _l("Tiếng Chăm")),
             ("rad", _l("Tiếng Ê Đê")), ("jra", _l("Tiếng Gia Rai")), ("bdq", _l("Tiếng Ba Na")),
             ("mtq", _l("Tiếng Mường"))]


@bp.post("/bulletins/upload")
@login_required
def upload_recording(user: User) -> str | Response | tuple[str, int]:
    """A recorded announcement, in any language (ethnic-minority languages included), labelled with it."""
    from broadcaster.assets import AssetStore

    check_csrf()
    upload = request.files.get("audio")
    language = request.form.get("language_other") or request.form.get("language", "vi")
    try:
        if upload is None or not upload.filename:
            raise errors.Refusal("missing_field", "no file", field="audio")
        cfg = config()
        bulletin = bulletin_rules.create_recording_bulletin(db(), user, request.form.get("title"), language.strip(),
                                                     upload.filename, upload.read(),
                                                     AssetStore(cfg.upload_dir, suffix=""), cfg.speech.max_recording_s)
    except errors.Refusal as exc:
        db().rollback()
        page = render_template("bulletins.html", user=user, bulletins=bulletin_rules.list_bulletins(db(), user),
                               state=None, error=UPLOAD_REFUSALS.get(exc.code, exc.message), languages=LANGUAGES)
        return page, 422
    return redirect(url_for("ui.bulletin_page", bulletin_id=bulletin.id))


UPLOAD_REFUSALS = {
    "missing_field": _l("Hãy nhập tiêu đề và chọn tệp ghi âm."),
    "invalid_language": _l("Mã ngôn ngữ không hợp lệ (ví dụ: vi, hmn, tay, km)."),
}


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
        try:
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
        except errors.Refusal as exc:
            db().rollback()
            error = refusal_text(exc)
            item = bulletin_rules.visible_bulletin(db(), user, bulletin_id)
        else:
            return redirect(url_for("ui.bulletin_page", bulletin_id=bulletin_id))
    page = render_template("bulletin.html", user=user, bulletin=item, error=error, form=request.form,
                           devices=fleet.visible_devices(db(), user), areas=areas_in_scope(user),
                           groups=fleet.list_groups(db(), user))
    return (page, 422) if error else page


@bp.post("/bulletins/<int:bulletin_id>/check")
@login_required
def bulletin_check(user: User, bulletin_id: int) -> Response | tuple[Response, int]:
    """The schedule form's 'Kiểm tra': breaches and overlaps, in words, without saving (JSON for the page)."""
    check_csrf()
    try:
        plan = broadcast_rules.plan_broadcast(db(), user, schedule_request(bulletin_id), config().timezone)
    except errors.Refusal as exc:
        db().rollback()
        return jsonify(ok=False, message=refusal_text(exc)), exc.status
    lines = [breach_text(b) for b in plan.breaches]
    overlaps = [gettext("%(device)s: trùng với #%(id)s “%(title)s” (%(when)s)", device=o["device_id"],
                        id=o["broadcast_id"], title=o["title"],
                        when=f"{datetime.fromisoformat(o['start']).astimezone(zone()):%H:%M %d/%m}")
                for o in plan.overlaps]
    return jsonify(ok=not plan.breaches, breaches=lines, overlaps=overlaps, devices=len(plan.devices))


def schedule_request(bulletin_id: int) -> dict[str, Any]:
    form = request.form
    targets = form.getlist("targets") or ["all"]
    data: dict[str, Any] = {"bulletin_id": bulletin_id, "targets": targets,
                            "priority": form.get("priority", "normal")}
    if form.get("recurring"):
        days = [d for d in map(parse_id, form.getlist("weekdays")) if d is not None]
        times = [t.strip() for t in form.get("times", "").replace(",", " ").split() if t.strip()]
        data["repeat"] = {"weekdays": days, "times": times,
                          "skip": [d.strip() for d in form.get("skip", "").replace(",", " ").split() if d.strip()]}
        for name in ("start", "until"):
            if form.get(name):
                data["repeat"][name] = form[name]
    else:
        data["play_at"] = local_input(form.get("play_at", ""))
    if form.get("stream_url"):
        minutes = form.get("window_min", "")
        data["relay"] = {"url": form["stream_url"].strip(), "window_s": (parse_id(minutes) or 0) * 60}
    return data


def areas_in_scope(user: User) -> list[Area]:
    scope = scope_of(db(), user)
    return [a for a in db().query(Area).order_by(Area.kind, Area.name) if scope.has_area(a.id)]


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
                                "priority": form.get("priority", "normal"),
                                "play_at": local_input(form.get("play_at", ""))}
        try:
            _, broadcasts = broadcast_rules.create_programme(db(), user, data, config().grace_s, config().timezone)
        except errors.Refusal as exc:
            db().rollback()
            error = refusal_text(exc)
        else:
            return redirect(url_for("ui.broadcast", broadcast_id=broadcasts[0].id))
    approved = bulletin_rules.list_bulletins(db(), user, "approved")
    page = render_template("programme.html", user=user, bulletins=approved, devices=fleet.visible_devices(db(), user),
                           areas=areas_in_scope(user), groups=fleet.list_groups(db(), user), error=error,
                           slots=range(6))
    return (page, 422) if error else page


# emergency -------------------------------------------------------------------------------------------------


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
        try:
            sent = emergency.send_emergency(db(), user, data, config().grace_s, config().timezone)
        except errors.Refusal as exc:
            db().rollback()
            error = refusal_text(exc)
        else:
            flash(gettext("Đã phát khẩn cấp: %(n)s lượt.", n=len(sent.broadcasts)))
            return redirect(url_for("ui.broadcast", broadcast_id=sent.broadcasts[0].id))
    page = render_template("emergency.html", user=user, templates=emergency.templates(), areas=areas_in_scope(user),
                           groups=fleet.list_groups(db(), user), error=error, form=request.form)
    return (page, 422) if error else page


# dashboard -------------------------------------------------------------------------------------------------


@bp.get("/dashboard")
@login_required
def dashboard_page(user: User) -> str:
    return render_template("dashboard.html", user=user, rows=dashboard.device_rows(db(), user),
                           alarms=dashboard.alarm_rows(db(), user), tiles=config().web.map_tiles,
                           zone=config().timezone)


@bp.get("/events")
@login_required
def page_events(user: User) -> Response:
    from broadcaster.web.api import event_stream

    return event_stream(user.id)


def dashboard_action(act: Callable[[], object]) -> Response:
    """A button on the dashboard: do it (a refusal is shown as a message) and show the dashboard again."""
    check_csrf()
    try:
        act()
    except errors.Refusal as exc:
        db().rollback()
        flash(exc.message)
    return redirect(url_for("ui.dashboard_page"))


@bp.post("/alarms/<int:alarm_id>/ack")
@login_required
def page_ack(user: User, alarm_id: int) -> Response:
    return dashboard_action(lambda: dashboard.acknowledge(db(), user, alarm_id))


@bp.post("/devices/<device_id>/volume")
@login_required
def page_volume(user: User, device_id: str) -> Response:
    return dashboard_action(lambda: fleet.set_volume(db(), user, device_id, request.form.get("volume", type=int)))


@bp.post("/devices/<device_id>/power")
@login_required
def page_power(user: User, device_id: str) -> Response:
    return dashboard_action(lambda: fleet.set_power(db(), user, device_id, request.form.get("on") == "1"))


# reports and the audit log ------------------------------------------------------------------------------------


REPORT_ROWS_SHOWN = 1000
"""Rows a report page lists (the summary counts them all; the CSV has every row)."""


def report(user: User, limit: int = reports.MAX_ROWS) -> tuple[reports.Report, tuple[datetime, datetime]]:
    return reports.from_query(db(), user, request.args, zone(), limit)


@bp.get("/reports")
@login_required
def reports_page(user: User) -> str | tuple[str, int]:
    try:
        found, span = report(user, REPORT_ROWS_SHOWN)
    except errors.Refusal as exc:
        db().rollback()
        return render_template("reports.html", user=user, rows=[], villages=[], total=0, error=exc.message,
                               areas=areas_in_scope(user), args=request.args, span=None), 422
    return render_template("reports.html", user=user, rows=found.rows, villages=found.villages, total=found.total,
                           error=None, areas=areas_in_scope(user), args=request.args, span=span)


@bp.get("/reports.csv")
@login_required
def reports_csv(user: User) -> Response:
    found, span = report(user)
    return FlaskResponse(reports.to_csv(found.rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="bao-cao-{span[0]:%Y%m%d}.csv"'})


@bp.get("/audit")
@login_required
def audit_page(user: User) -> str:
    if not can(user, "admin"):
        abort(403)
    entries = db().query(AuditEntry).order_by(AuditEntry.id.desc()).limit(500).all()
    return render_template("audit.html", user=user, entries=entries)


# administration ----------------------------------------------------------------------------------------------


def admin_page(user: User, template: str, act: Callable[[Any], object], **context: Any
               ) -> str | Response | tuple[str, int]:
    """An admin page whose forms each carry an ``action``: ``act(form)`` does it (Refusal: shown on the
    page, 422), then the page is shown again."""
    if not can(user, "admin"):
        abort(403)
    error = None
    if request.method == "POST":
        check_csrf()
        try:
            act(request.form)
        except errors.Refusal as exc:
            db().rollback()
            error = exc.message
        else:
            return redirect(request.path)
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
        elif form.get("action") == "airtime":
            limits = {name: parse_id(form.get(name, "")) for name in ("max_session_min", "max_sessions_per_day")}
            fleet.set_airtime_rule(db(), user, ident(form.get("area_id")), {
                "allowed_from": form.get("allowed_from"), "allowed_to": form.get("allowed_to"), **limits})
        else:
            abort(400)

    return admin_page(user, "areas.html", act, areas=lambda: fleet.areas_json(db(), user),
                      kinds=fleet.AREA_KINDS, groups=lambda: fleet.list_groups(db(), user),
                      devices=lambda: fleet.visible_devices(db(), user))
