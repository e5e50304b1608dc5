"""CAP alerts on the pages: the emergency page's CAP section (upload a file or paste the XML; the answer says
what aired where, what was held and why, what matched nothing), one alert's page (and releasing it when held),
and the admin's page of issuers, feeds, the mapping table and geocodes."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import User, parse_id
from broadcaster.domain import fleet
from broadcaster.domain.access import can
from broadcaster.domain.cap import policy, records, release, settings
from broadcaster.domain.cap.importer import import_cap
from broadcaster.domain.emergency import templates
from broadcaster.web import common
from broadcaster.web.common import db
from broadcaster.web.pages.admin import admin_page
from broadcaster.web.pages.base import PAGE_REFUSALS, Refused, areas_in_scope, bp, check_csrf, ident, login_required

OUTCOME_LABELS = {
    "aired": _l("Đã phát"), "waiting": _l("Chờ đến giờ được phép phát"), "held": _l("Đang giữ, chờ cán bộ"),
    "recorded": _l("Chỉ ghi nhận, không phát"), "stopped": _l("Đã dừng cảnh báo cũ"),
    "released": _l("Đã phát (cán bộ cho phát)"), "cancelled": _l("Nơi phát đã hủy, không phát"),
}
REASON_LABELS = {
    "vietnamese": _l("Đọc nội dung tiếng Việt của cảnh báo."),
    "built": _l("Cảnh báo không có tiếng Việt: máy đã soạn bản tin tiếng Việt từ loại sự việc, mức độ, địa bàn và "
                "thời gian; bản gốc được lưu để cán bộ xem."),
    "recording": _l("Phát bản ghi âm kèm theo cảnh báo."),
    "not_actual": _l("Không phải tin thật (tin thử, diễn tập, tin hệ thống, bản nháp): chỉ ghi nhận."),
    "not_public": _l("Không dành cho công chúng: không phát trên loa công cộng."),
    "test_message": _l("Tin thử, dù ghi là tin thật: chỉ ghi nhận."),
    "not_an_alert": _l("Tin xác nhận hoặc báo lỗi: không có gì để phát."),
    "expired": _l("Cảnh báo đã hết hiệu lực khi đến: chỉ ghi nhận."),
    "no_action": _l("Sự việc đã qua hoặc khó xảy ra: chỉ ghi nhận."),
    "cancel": _l("Tin hủy: đã dừng các cảnh báo mà nó hủy."),
    "held_for_approval": _l("Cảnh báo của nơi phát này chỉ phát khi người có thẩm quyền cho phát."),
    "held_for_language": _l("Cảnh báo không có tiếng Việt: cần cán bộ soạn bản tin để phát."),
    "expires_before_window": _l("Sẽ hết hiệu lực trước giờ được phép phát: chỉ ghi nhận."),
    "duplicate": _l("Đã nhận cảnh báo này trước đó."),
}
SOURCE_LABELS = {"vietnamese": _l("nội dung tiếng Việt"), "recording": _l("bản ghi âm"),
                 "built": _l("bản tin máy soạn"), "held": _l("chờ cán bộ soạn")}
CAP_REFUSALS = {
    **PAGE_REFUSALS,
    "not_well_formed": _l("Tệp không phải XML hợp lệ (bị hỏng hoặc bị cắt)."),
    "not_single_alert": _l("Tệp chứa nhiều cảnh báo; hãy gửi từng cảnh báo một."),
    "not_cap": _l("Tệp không phải cảnh báo CAP."),
    "invalid_cap": _l("Cảnh báo CAP thiếu hoặc sai thông tin bắt buộc."),
    "request_entity_too_large": _l("Tệp quá lớn."),
    "invalid_signature": _l("Chữ ký số không khớp với chứng thư tin cậy của nơi phát: cảnh báo có thể đã bị sửa."),
    "unsigned": _l("Nơi phát này bắt buộc có chữ ký số, nhưng cảnh báo không có."),
    "no_matching_area": _l("Không có cụm loa nào của bạn trong vùng cảnh báo."),
    "ambiguous_area": _l("Tên địa bàn trong cảnh báo trùng với nhiều địa bàn của bạn; hãy ghi rõ xã, huyện."),
    "not_held": _l("Cảnh báo này không còn đang giữ."),
    "expired": _l("Cảnh báo đã hết hiệu lực."),
    "forbidden": _l("Bạn không có quyền làm việc này."),
    "invalid_certificate": _l("Chứng thư không đọc được (cần dạng PEM)."),
    "invalid_senders": _l("Hãy nhập địa chỉ nơi phát (sender), mỗi dòng một địa chỉ."),
    "invalid_policy": _l("Chính sách không hợp lệ (bắt buộc chữ ký thì cần chứng thư)."),
    "invalid_url": _l("Địa chỉ nguồn tin phải bắt đầu bằng http:// hoặc https://."),
    "duplicate_feed": _l("Nguồn tin này đã được đăng ký."),
    "invalid_interval": _l("Chu kỳ kiểm tra phải từ 30 giây đến một ngày."),
    "invalid_rules": _l("Bảng quy đổi không hợp lệ: dòng cuối phải bao gồm mọi giá trị."),
    "unknown_area": _l("Hãy chọn một địa bàn của bạn."),
    "duplicate_geocode": _l("Mã vùng này đã gắn với địa bàn đó."),
}
PRIORITY_CHOICES = {"emergency": _l("Khẩn cấp"), "priority": _l("Ưu tiên"), "normal": _l("Thông thường"),
                    "none": _l("Không phát")}


@bp.app_template_filter("local_iso")
def local_iso(value: str | None) -> str:
    """An ISO 8601 time of an answer, in the officer's time zone."""
    from datetime import datetime

    from broadcaster.web.pages.base import local_time

    return local_time(datetime.fromisoformat(value)) if value else "—"


def page_context(user: User) -> dict[str, Any]:
    """What the CAP templates show: labels, and the alerts the user may see."""
    return {"cap_alerts": [records.alert_json(r) for r in records.list_alerts(db(), user, 10)],
            "OUTCOME_LABELS": OUTCOME_LABELS, "REASON_LABELS": REASON_LABELS, "SOURCE_LABELS": SOURCE_LABELS}


@bp.post("/emergency/cap")
@login_required
def cap_import(user: User) -> tuple[str, int]:
    """An alert uploaded as a file or pasted: the emergency page again, with what became of it."""
    check_csrf()
    upload = request.files.get("cap_file")
    payload = upload.read() if upload is not None and upload.filename else (request.form.get("cap_xml") or "").encode()
    result, error, detail = None, None, None
    if not payload.strip():
        error = gettext("Hãy chọn tệp cảnh báo CAP hoặc dán nội dung XML.")
    else:
        with Refused(CAP_REFUSALS) as refused:
            outcome = import_cap(db(), user, payload, common.cap_settings())
            result = records.alert_json(records.visible_alert(db(), user, outcome.record_id or 0))
            result.update(aired=outcome.aired, reason=outcome.reason, detail=outcome.detail)
        if refused.exc is not None:
            error, detail = refused.message, refused.exc.message
    page = render_template("emergency.html", user=user, templates=templates(), areas=areas_in_scope(user),
                           groups=fleet.list_groups(db(), user), error=None, form={}, cap_result=result,
                           cap_error=error, cap_detail=detail, **page_context(user))
    return page, 422 if error else (201 if result and result["aired"] else 200)


@bp.get("/cap/alerts/<int:alert_id>")
@login_required
def cap_alert(user: User, alert_id: int) -> str:
    with Refused({}) as refused:
        alert = records.alert_json(records.visible_alert(db(), user, alert_id))
    if refused.exc is not None:
        abort(404)
    return render_template("cap_alert.html", user=user, alert=alert, **page_context(user))


@bp.post("/cap/alerts/<int:alert_id>/release")
@login_required
def cap_release(user: User, alert_id: int) -> Response:
    check_csrf()
    text = (request.form.get("text") or "").strip()
    with Refused(CAP_REFUSALS) as refused:
        _, sent, _ = release.release_alert(db(), user, alert_id, {"text": text} if text else {}, common.cap_settings())
    if refused.message:
        flash(refused.message, "error")
    else:
        flash(gettext("Đã cho phát cảnh báo: %(n)s lượt.", n=sum(len(s.broadcasts) for s in sent)), "success")
    return redirect(url_for("ui.cap_alert", alert_id=alert_id))


@bp.route("/admin/cap", methods=["GET", "POST"])
@login_required
def cap_admin(user: User) -> str | Response | tuple[str, int]:
    """Issuers (trust, certificates, policy), feeds (address, health), the mapping table and geocodes."""

    def act(form: Any) -> None:
        action = form.get("action")
        if action == "issuer":
            flags = {name: form.get(name) == "on" for name in ("require_signature", "hold_for_approval")}
            data = {"name": form.get("name"), "senders": form.get("senders", ""), **flags,
                    "language_fallback": form.get("language_fallback", "build")}
            issuer_id = parse_id(form.get("issuer_id", ""))
            if form.get("certificates", "").strip() or issuer_id is None:  # editing: empty keeps them
                data["certificates"] = form.get("certificates", "")
            settings.save_issuer(db(), user, data, issuer_id)
        elif action == "feed":
            issuer = parse_id(form.get("feed_issuer", ""))
            every = parse_id(form.get("poll_every_s", "")) or 60
            settings.add_feed(db(), user, {"url": form.get("url"), "issuer_id": issuer, "poll_every_s": every})
        elif action == "feed_remove":
            settings.remove_feed(db(), user, ident(form.get("feed_id")))
        elif action == "mapping":
            count = parse_id(form.get("rows", "")) or 0
            rows = [{"urgency": form.getlist(f"urgency-{n}"), "severity": form.getlist(f"severity-{n}"),
                     "certainty": form.getlist(f"certainty-{n}"), "priority": form.get(f"priority-{n}")}
                    for n in range(min(count, 50)) if form.get(f"priority-{n}")]
            policy.set_rules(db(), user, {"rules": rows})
        elif action == "mapping_default":
            policy.set_rules(db(), user, {"rules": []})
        elif action == "geocode":
            settings.add_geocode(db(), user, {"value_name": form.get("value_name"), "value": form.get("value"),
                                              "area_id": parse_id(form.get("area_id", ""))})
        elif action == "geocode_remove":
            settings.remove_geocode(db(), user, ident(form.get("geocode_id")))
        else:
            abort(400)

    if not can(user, "admin"):
        abort(403)
    table = policy.rules(db())
    return admin_page(user, "cap_admin.html", act, refusals=CAP_REFUSALS,
                      issuers=lambda: [settings.issuer_json(i) for i in settings.list_issuers(db(), user)],
                      feeds=lambda: [settings.feed_json(f) for f in settings.list_feeds(db(), user)],
                      rules=[r.as_json() for r in table] + [{"urgency": [], "severity": [], "certainty": [],
                                                            "priority": ""}],
                      geocodes=lambda: [settings.geocode_json(g) for g in settings.list_geocodes(db(), user)],
                      areas=lambda: areas_in_scope(user), URGENCIES=policy.URGENCIES, SEVERITIES=policy.SEVERITIES,
                      CERTAINTIES=policy.CERTAINTIES, PRIORITY_CHOICES=PRIORITY_CHOICES,
                      default=policy.rules(db()) is policy.DEFAULT_RULES)
