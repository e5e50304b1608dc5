"""The pages' blueprint and what every page shares: labels in Vietnamese, refusals turned into the page's
message (``Refused``), login and CSRF, reading form fields in the officer's time zone."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from broadcaster.db import Area, User, parse_id
from broadcaster.domain import errors, when
from broadcaster.domain.access import Denied, can, scope_of
from broadcaster.web import conventions
from broadcaster.web.common import config, db

bp = Blueprint("ui", __name__)


STATE_LABELS = {
    "pending": _l("đang chờ"), "delivered": _l("đã nhận"), "playing": _l("đang phát"), "played": _l("đã phát"),
    "failed": _l("lỗi"), "missed": _l("lỡ giờ"), "queued": _l("đang xử lý"), "sent": _l("đã gửi"),
    "interrupted": _l("bị ngắt"), "cancelled": _l("đã hủy"), "stopping": _l("đang dừng"), "stopped": _l("đã dừng"),
    "ended": _l("đã kết thúc"), "live": _l("đang phát trực tiếp"), "scheduled": _l("đã lên lịch"),
}


PRIORITY_LABELS = {"normal": _l("Thông thường"), "priority": _l("Ưu tiên"), "emergency": _l("Khẩn cấp")}


BULLETIN_LABELS = {"draft": _l("nháp"), "submitted": _l("chờ duyệt"), "approved": _l("đã duyệt"),
                   "rejected": _l("bị trả lại")}


STAGE_LABELS = {**BULLETIN_LABELS, "scheduled": _l("đã lên lịch"), "aired": _l("đã phát")}


DEVICE_STATES = {"online": _l("trực tuyến"), "offline": _l("mất kết nối"), "playing": _l("đang phát"),
                 "failed": _l("lỗi"), "off": _l("đã tắt")}


ROLE_LABELS = {"admin": _l("quản trị"), "editor": _l("biên tập"), "approver": _l("duyệt (lãnh đạo)"),
               "operator": _l("vận hành"), "integration": _l("hệ thống khác (chỉ đọc qua API)")}


AREA_LABELS = {"province": _l("Tỉnh"), "district": _l("Huyện"), "commune": _l("Xã"), "village": _l("Thôn")}


AREA_KIND_WORDS = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã", "village": "Thôn"}
"""The kind as a Vietnamese name already begins with it (also on an English page: "Xã Hòa Bình" is a name)."""


WEEKDAYS = [(1, _l("T2")), (2, _l("T3")), (3, _l("T4")), (4, _l("T5")), (5, _l("T6")), (6, _l("T7")), (7, _l("CN"))]


LANGUAGES = [("vi", _l("Tiếng Việt")), ("hmn", _l("Tiếng Hmông")), ("tay", _l("Tiếng Tày")),
             ("nut", _l("Tiếng Nùng")), ("km", _l("Tiếng Khmer")), ("cja", _l("Tiếng Chăm")),
             ("rad", _l("Tiếng Ê Đê")), ("jra", _l("Tiếng Gia Rai")), ("bdq", _l("Tiếng Ba Na")),
             ("mtq", _l("Tiếng Mường"))]


REFUSALS = {
    "missing_field": _l("Vui lòng nhập đầy đủ tiêu đề và nội dung."),
    "too_long": _l("Tiêu đề hoặc nội dung quá dài."),
    "invalid_text": _l("Nội dung có ký tự không hợp lệ."),
    "nothing_to_say": _l("Nội dung không có chữ nào để đọc."),
    "play_at_in_past": _l("Thời gian phát đã qua; hãy chọn thời điểm sắp tới hoặc để trống để phát ngay."),
    "invalid_time": _l("Thời gian phát chưa đúng dạng: hãy gõ ngày/tháng/năm giờ:phút theo 24 giờ, ví dụ "
                       "02/12/2026 21:43, hoặc để trống để phát ngay."),
    "unknown_target": _l("Có cụm loa không tồn tại."),
    "invalid_targets": _l("Hãy chọn cụm loa."),
    "no_devices": _l("Chưa có cụm loa nào."),
    "invalid_priority": _l("Mức ưu tiên không hợp lệ."),
    "cannot_render": _l("Không tạo được âm thanh cho nội dung này."),
    "unknown_voice": _l("Giọng đọc này không có trên máy chủ; hãy chọn giọng khác."),
    "invalid_speed": _l("Tốc độ đọc phải từ 0,7 đến 1,5 lần."),
    "too_long_to_read": _l("Bản tin đọc mất khoảng %(minutes)s phút, dài hơn mức cho phép %(most)s phút. Hãy chia "
                           "thành vài bản tin ngắn hơn."),
    "forbidden": _l("Tài khoản của bạn không được làm việc này. Hãy nhờ lãnh đạo xã hoặc người quản trị."),
    "out_of_scope": _l("Có cụm loa hoặc địa bàn ngoài phạm vi của bạn."),
    "invalid_repeat": _l("Lịch lặp lại không có lần phát nào trong năm tới; hãy xem lại ngày và giờ."),
}


REPEAT_PROBLEMS = {
    "repeat.weekdays": _l("Hãy chọn ít nhất một ngày trong tuần để phát lặp lại."),
    "repeat.times": _l("Hãy ghi giờ phát dạng giờ:phút, 24 giờ, cách nhau bằng dấu phẩy (ví dụ 06:30, 17:00)."),
    "repeat.start": _l("Ngày bắt đầu không đúng; hãy chọn một ngày."),
    "repeat.until": _l("Ngày kết thúc phải sau ngày bắt đầu và chưa qua."),
    "repeat.skip": _l("Có ngày nghỉ phát không đúng; hãy chọn lại các ngày nghỉ."),
    "play_at": _l("Lịch lặp lại hằng tuần không có “phát lúc”: hãy bỏ trống ô đó hoặc bỏ chọn lặp lại."),
    "repeat_count": _l("Số lần phát lại phải là một số từ 1 đến 10."),
    "repeat_every_min": _l("Khoảng cách giữa hai lần phát phải là một số từ 1 đến 120 phút."),
}
"""Which part of a weekly rule is wrong, by the refusal's field: four different mistakes, four answers."""


PAGE_REFUSALS = {
    **REFUSALS,
    "not_approved": _l("Bản tin chưa được duyệt."),
    "outside_airtime": _l("Ngoài khung giờ cho phép phát:"),
    "own_bulletin": _l("Bạn không thể tự duyệt bản tin của mình; cần một người duyệt khác."),
    "bad_state": _l("Bản tin không ở trạng thái cho phép việc này."),
    "unknown_template": _l("Mẫu thông báo không có."),
    "invalid_items": _l("Hãy chọn ít nhất một bản tin đã duyệt cho chương trình."),
    "invalid_relay": _l("Địa chỉ tiếp sóng phải bắt đầu bằng http:// hoặc https://, trong 1 đến 1440 phút."),
}


SPEED_LABELS = {"0.8": _l("Chậm"), "0.9": _l("Hơi chậm"), "1": _l("Bình thường"), "1.1": _l("Hơi nhanh"),
                "1.2": _l("Nhanh")}
"""Reading speeds offered on the pages (times the voice's own), by the value the form sends."""


RULE_WORDS = {"hours": _l("giờ cho phép"), "session_length": _l("tối đa phút mỗi lần phát"),
              "sessions_per_day": _l("tối đa số lần phát mỗi ngày")}


def refusal_text(exc: errors.Refusal, table: Mapping[Any, object] = PAGE_REFUSALS) -> str:
    """A refusal in the page's language, with every air-time breach spelled out: the page's words for its code
    and field, else the common ones (``wording.REFUSAL_WORDS``); never the rules' English on a Vietnamese page."""
    from broadcaster.web.conventions import english
    from broadcaster.web.pages.wording import GENERIC_REFUSAL, refusal_words

    if exc.code == "too_long_to_read" and exc.details:
        detail = exc.details[0]
        return str(REFUSALS["too_long_to_read"]) % {"minutes": max(1, round(detail["spoken_s"] / 60)),
                                                    "most": f"{detail['max_spoken_s'] / 60:g}"}
    if exc.code == "invalid_repeat" and exc.field in REPEAT_PROBLEMS:
        return str(REPEAT_PROBLEMS[exc.field])
    text = refusal_words(exc.code, exc.field, table) or (exc.message if english() else str(GENERIC_REFUSAL))
    for line in breach_lines(exc.details or []):
        text += " " + line + "."
    return text


class Refused:
    """``with Refused() as refused:`` around what a page asks of the rules. A ``Refusal`` inside is caught, the
    session rolled back (nothing half done is kept), and ``refused.message`` says why in Vietnamese (from
    ``table``, air-time breaches spelled out; else the rule's own message); ``refused.exc`` is the refusal.
    Without a refusal both stay None."""

    def __init__(self, table: Mapping[Any, object] = PAGE_REFUSALS) -> None:
        self.table = table
        self.exc: errors.Refusal | None = None
        self.message: str | None = None

    def __enter__(self) -> Refused:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: object) -> bool:
        if isinstance(exc, Denied):  # said on the same page, what was typed kept: never a bare 403
            exc = errors.Refusal(exc.code, exc.message, status=403)
        if not isinstance(exc, errors.Refusal):
            return False
        db().rollback()
        self.exc, self.message = exc, refusal_text(exc, self.table)
        return True

    def json_error(self) -> tuple[FlaskResponse, int]:
        """The refusal as the API writes errors, with the page's Vietnamese message (for the pages' scripts)."""
        from broadcaster.web.api import error

        assert self.exc is not None and self.message is not None
        return error(self.exc.code, self.message, self.exc.status)


def breach_lines(breaches: list[dict[str, Any]]) -> list[str]:
    """Air-time breaches in words, one line per rule broken the same way with the clusters that break it (not
    the same sentence once per cluster). Other details (a CAP alert's areas) have their own page."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for breach in breaches:
        if "rule" in breach and "device" in breach:
            key = (str(breach["rule"]), str(breach["limit"]), str(breach["value"]))
            grouped.setdefault(key, []).append(str(breach["device"]))
    return [gettext("%(device)s: %(rule)s %(limit)s, lượt này %(value)s", device=", ".join(devices),
                    rule=RULE_WORDS.get(rule, rule), limit=limit, value=value)
            for (rule, limit, value), devices in grouped.items()]


@bp.errorhandler(Denied)
def denied(exc: Denied) -> tuple[str, int]:
    return render_template("denied.html", message=exc.message), 403


@bp.app_template_filter("local")
def local_time(value: datetime | None) -> str:
    """A moment as every page writes it: 02/12/2026 21:43 (24 hours) in the officer's time zone."""
    return conventions.moment(value, zone())


@bp.app_template_filter("typed")
def typed_time(value: datetime | str | None) -> str:
    """A moment as a date-and-time field holds it (what was typed is kept as it was)."""
    if isinstance(value, str) or value is None:
        return value or ""
    return conventions.typed(value, zone())


@bp.app_template_filter("number")
def number_filter(value: float | int | None, digits: int = 2) -> str:
    return conventions.number(value, digits)


@bp.app_template_filter("percent")
def percent_filter(value: float | None, digits: int = 0) -> str:
    return conventions.percent(value, digits)


@bp.app_template_filter("day")
def day_filter(value: Any) -> str:
    return conventions.day(value)


@bp.app_template_filter("area")
def area_label(area: Any) -> str:
    """An area with its kind, once: "Thôn 3" for a village named "3", but "Xã Hòa Bình" (not "Xã Xã Hòa Bình")
    for a commune named "Xã Hòa Bình"."""
    kind = area["kind"] if isinstance(area, Mapping) else area.kind
    name = area["name"] if isinstance(area, Mapping) else area.name
    label = str(AREA_LABELS.get(kind, ""))
    words = {label.casefold(), str(AREA_KIND_WORDS.get(kind, "")).casefold()} - {""}
    if not label or any(name.casefold().startswith(w + " ") for w in words):
        return str(name)
    return f"{label} {name}"


@bp.app_context_processor
def template_globals() -> dict[str, Any]:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return {"csrf_token": session["csrf"], "STATE_LABELS": STATE_LABELS, "PRIORITY_LABELS": PRIORITY_LABELS}


@bp.app_context_processor
def page_globals() -> dict[str, Any]:
    from broadcaster.web.pages import wording

    return {"BULLETIN_LABELS": BULLETIN_LABELS, "STAGE_LABELS": STAGE_LABELS, "can": can, "WEEKDAYS": WEEKDAYS,
            "DEVICE_STATES": DEVICE_STATES, "timedelta_day": timedelta(days=1), "ROLE_LABELS": ROLE_LABELS,
            "AREA_LABELS": AREA_LABELS, "said": wording.said, "audit_action": wording.audit_action,
            "audit_target": wording.audit_target, "audit_detail": wording.audit_detail,
            "TYPED_MOMENT": conventions.TYPED_MOMENT}


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


def local_input(value: str | None, field: str = "play_at") -> str | None:
    """A date-and-time field (dd/mm/yyyy HH:MM, or ISO, in the officer's time zone) as ISO 8601 with its
    offset, how the rules take times; None when empty. Refused (``invalid_time``) when it is not one."""
    return when.local_iso(value, zone(), field)


def areas_in_scope(user: User) -> list[Area]:
    scope = scope_of(db(), user)
    return [a for a in db().query(Area).order_by(Area.kind, Area.name) if scope.has_area(a.id)]
