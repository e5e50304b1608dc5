"""Minimal pages: log in, see the speakers, type an announcement and send it, follow a broadcast."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import Device, LexiconEntry, ListeningCheck, User
from broadcaster.domain import accounts, errors, fleet
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import bulletins as bulletin_rules
from broadcaster.domain.access import Denied
from broadcaster.speech.engines import DEFAULT_VOICE, voice_problem
from broadcaster.speech.normalize import DIALECTS, Normalizer
from broadcaster.web import common
from broadcaster.web.api import error as api_error
from broadcaster.web.common import config, db

bp = Blueprint("ui", __name__)

STATE_LABELS = {
    "pending": _l("đang chờ"), "delivered": _l("đã nhận"), "playing": _l("đang phát"), "played": _l("đã phát"),
    "failed": _l("lỗi"), "missed": _l("lỡ giờ"), "queued": _l("đang xử lý"), "sent": _l("đã gửi"),
    "interrupted": _l("bị ngắt"), "cancelled": _l("đã hủy"), "stopping": _l("đang dừng"), "stopped": _l("đã dừng"),
    "ended": _l("đã kết thúc"),
}
REFUSALS = {
    "missing_field": _l("Vui lòng nhập đầy đủ tiêu đề và nội dung."),
    "too_long": _l("Tiêu đề hoặc nội dung quá dài."),
    "invalid_text": _l("Nội dung có ký tự không hợp lệ."),
    "nothing_to_say": _l("Nội dung không có chữ nào để đọc."),
    "play_at_in_past": _l("Thời gian phát đã qua; hãy chọn thời điểm sắp tới hoặc để trống để phát ngay."),
    "invalid_time": _l("Thời gian phát không hợp lệ."),
    "unknown_target": _l("Có cụm loa không tồn tại."),
    "invalid_targets": _l("Hãy chọn cụm loa."),
    "no_devices": _l("Chưa có cụm loa nào."),
    "invalid_priority": _l("Mức ưu tiên không hợp lệ."),
    "cannot_render": _l("Không tạo được âm thanh cho nội dung này."),
}
PRIORITY_LABELS = {"normal": _l("Thông thường"), "priority": _l("Ưu tiên"), "emergency": _l("Khẩn cấp")}


@bp.errorhandler(Denied)
def denied(exc: Denied) -> tuple[str, int]:
    return render_template("denied.html", message=exc.message), 403


@bp.app_template_filter("local")
def local_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(config().timezone)).strftime("%H:%M:%S %d/%m/%Y")


@bp.app_context_processor
def template_globals() -> dict[str, Any]:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return {"csrf_token": session["csrf"], "STATE_LABELS": STATE_LABELS, "PRIORITY_LABELS": PRIORITY_LABELS,
            "DEFAULT_VOICE": DEFAULT_VOICE}


def login_required(view):
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = db().get(User, session.get("user_id") or 0)
        if user is None:
            return redirect(url_for("ui.login", next=request.path))
        return view(user, *args, **kwargs)

    return wrapper


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, gettext("Phiên làm việc đã hết hạn, vui lòng tải lại trang (CSRF)."))


def _local_target(target: str) -> str | None:
    """Only paths on this site: never '//host' or '/\\host', which browsers read as another site."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "POST":
        check_csrf()
        try:
            user = accounts.login(db(), request.form.get("username", "")[:80], request.form.get("password", ""))
        except errors.Refusal as exc:
            db().commit()  # the failure counts towards the lockout and is audited
            message = (gettext("Sai tên đăng nhập hoặc mật khẩu.") if exc.code == "bad_login" else
                       gettext("Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Hãy thử lại sau 15 phút "
                               "hoặc nhờ quản trị viên mở khóa."))
            flash(message)
            return render_template("login.html"), exc.status
        language = session.get("lang")
        session.clear()
        if language:
            session["lang"] = language
        session["user_id"] = user.id
        session["csrf"] = secrets.token_urlsafe(32)
        return redirect(_local_target(request.args.get("next", "")) or url_for("ui.index"))
    return render_template("login.html")


@bp.get("/lang/<code>")
def choose_language(code: str) -> Response:
    """Switch the pages' language (kept in the session) and go back where the officer was."""
    from broadcaster.web.i18n import LANGUAGES

    if code in LANGUAGES:
        session["lang"] = code
    back = request.referrer or ""
    path = back.split(request.host, 1)[1] if request.host in back else ""
    return redirect(_local_target(path) or url_for("ui.index"))


@bp.post("/logout")
def logout() -> Response:
    check_csrf()
    session.clear()
    return redirect(url_for("ui.login"))


@bp.get("/")
@login_required
def index(user: User) -> str:
    return _index_page(user)


def _index_page(user: User, form: Any = None, error: str | None = None) -> str:
    """Speakers, the announcement form (with what was typed and why it was refused) and recent broadcasts."""
    devices = fleet.visible_devices(db(), user)
    broadcasts = broadcast_rules.list_broadcasts(db(), user, limit=20)
    speech = config().speech
    return render_template("index.html", user=user, devices=devices, broadcasts=broadcasts, form=form or {},
                           error=error, voice_problem=voice_problem(speech.voice, speech.voices))


@bp.post("/send")
@login_required
def send(user: User) -> str | Response | tuple[str, int]:
    """An admin types, approves and sends in one step; anyone else who writes sends it for approval."""
    check_csrf()
    form = request.form
    if not user.is_admin:
        try:
            bulletin = bulletin_rules.create_bulletin(db(), user, {"title": form.get("title"), "text": form.get("text"),
                                                            "submit": True})
        except errors.Refusal as exc:
            db().rollback()
            return _index_page(user, form, REFUSALS.get(exc.code, exc.message)), 422
        flash(gettext("Đã gửi bản tin để lãnh đạo duyệt."))
        return redirect(url_for("ui.bulletin_page", bulletin_id=bulletin.id))
    try:
        play_at = None
        if form.get("play_at"):
            try:
                local = datetime.fromisoformat(form["play_at"]).replace(tzinfo=ZoneInfo(config().timezone))
            except ValueError:
                raise errors.Refusal("invalid_time", "play_at is not a date and time", field="play_at") from None
            play_at = local.isoformat()
        targets = form.getlist("targets") or ["all"]
        bulletin = bulletin_rules.create_bulletin(db(), user, {"title": form.get("title"), "text": form.get("text")})
        bulletin_rules.approve_bulletin(db(), user, bulletin.id)
        broadcast = broadcast_rules.create_broadcast(
            db(), user,
            {"bulletin_id": bulletin.id, "targets": targets, "priority": form.get("priority", "normal"),
             "play_at": play_at},
            config().grace_s, config().timezone,
        )
    except errors.Refusal as exc:
        db().rollback()
        return _index_page(user, form, REFUSALS.get(exc.code, exc.message)), 422
    return redirect(url_for("ui.broadcast", broadcast_id=broadcast.id))


@bp.post("/preview")
@login_required
def preview(user: User) -> Response | tuple[Response, int]:
    """Nghe thử: the reading, the audio and the listening check for the text in the form (JSON for the page)."""
    check_csrf()
    try:
        text = errors.text_field({"text": request.form.get("text")}, "text", bulletin_rules.MAX_TEXT)
        return jsonify(common.preview(text, url_for("ui.audio", asset_id="ASSET")))
    except errors.Refusal as exc:
        db().rollback()
        return api_error(exc.code, str(REFUSALS.get(exc.code, exc.message)), exc.status)


@bp.post("/reading")
@login_required
def reading(user: User) -> Response | tuple[Response, int]:
    """How the text in the form will be read (no audio): the form's live reading as one types."""
    check_csrf()
    try:
        text = errors.text_field({"text": request.form.get("text")}, "text", bulletin_rules.MAX_TEXT)
    except errors.Refusal as exc:
        return api_error(exc.code, str(REFUSALS.get(exc.code, exc.message)), exc.status)
    speech = config().speech
    normalizer = Normalizer(DIALECTS[speech.dialect], extra=bulletin_rules.lexicon(db()))
    return jsonify(sentences=normalizer.sentences(text))


@bp.get("/audio/<asset_id>")
@login_required
def audio(user: User, asset_id: str) -> Response:
    try:
        return common.asset_response(asset_id)
    except errors.Refusal:
        abort(404)


LEXICON_REFUSALS = {
    "missing_field": _l("Hãy nhập cả từ và cách đọc."),
    "too_long": _l("Từ hoặc cách đọc quá dài."),
    "invalid_reading": _l("Cách đọc phải viết bằng chữ, không có chữ số."),
    "duplicate_word": _l("Từ này đã có trong từ điển."),
}


@bp.route("/lexicon", methods=["GET", "POST"])
@login_required
def lexicon_page(user: User) -> str | Response | tuple[str, int]:
    """The commune's dictionary: local place names and abbreviations, read the commune's way."""
    error = None
    if request.method == "POST":
        check_csrf()
        try:
            bulletin_rules.add_lexicon_entry(db(), user, {"word": request.form.get("word"),
                                                   "reading": request.form.get("reading")})
        except errors.Refusal as exc:
            db().rollback()
            error = LEXICON_REFUSALS.get(exc.code, exc.message)
        else:
            return redirect(url_for("ui.lexicon_page"))
    entries = db().query(LexiconEntry).order_by(LexiconEntry.word).all()
    page = render_template("lexicon.html", user=user, entries=entries, error=error, form=request.form)
    return (page, 422) if error else page


@bp.post("/lexicon/<int:entry_id>/delete")
@login_required
def lexicon_delete(user: User, entry_id: int) -> Response:
    check_csrf()
    try:
        bulletin_rules.delete_lexicon_entry(db(), user, entry_id)
    except errors.Refusal:
        db().rollback()
    return redirect(url_for("ui.lexicon_page"))


@bp.post("/broadcasts/<int:broadcast_id>/stop")
@login_required
def stop(user: User, broadcast_id: int) -> Response:
    check_csrf()
    try:
        broadcast_rules.stop_broadcast(db(), user, broadcast_id)
    except errors.Refusal as exc:
        db().rollback()
        flash(exc.message)
    return redirect(url_for("ui.broadcast", broadcast_id=broadcast_id))


@bp.get("/broadcasts/<int:broadcast_id>")
@login_required
def broadcast(user: User, broadcast_id: int) -> str:
    try:
        item = broadcast_rules.visible_broadcast(db(), user, broadcast_id)
    except errors.Refusal:
        abort(404)
    names = {d.id: d for d in db().query(Device)}
    check = db().get(ListeningCheck, item.asset_id) if item.asset_id else None
    return render_template("broadcast.html", user=user, broadcast=item, devices=names, listening=check)
