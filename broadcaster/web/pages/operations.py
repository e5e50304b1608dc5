"""Watching the fleet: the dashboard and its buttons, reports, the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from broadcaster.db import AuditEntry, Device, User
from broadcaster.domain import dashboard, errors, fleet, reports, rollup
from broadcaster.domain.access import can
from broadcaster.domain.when import parse_date
from broadcaster.web import charts
from broadcaster.web.common import config, db
from broadcaster.web.conventions import moment, number
from broadcaster.web.pages.base import (
    PRIORITY_LABELS,
    STATE_LABELS,
    Refused,
    areas_in_scope,
    bp,
    check_csrf,
    login_required,
    refusal_text,
    zone,
)
from broadcaster.web.pages.wording import ACTION_LABELS, said_events, said_text


@bp.get("/dashboard")
@login_required
def dashboard_page(user: User) -> str:
    """The fleet rolled up from the user's highest area down (one row per child area, a click drills down),
    and the clusters of the area on screen: filtered, searched, a page at a time."""
    view = rollup.View.from_args(request.args)
    if view.state not in (None, *rollup.FILTERS):
        view = replace(view, state=None)
    try:
        rolled = rollup.overview(db(), user, zone(), view.area)
    except errors.Refusal:
        abort(404)
    ids, total = rollup.cluster_page(db(), user, zone(), view)
    pages = max(1, -(-total // view.per_page))
    return render_template("dashboard.html", user=user, rows=dashboard.device_rows(db(), user, ids),
                           rolled=rolled, view=view, total=total, pages=pages, filters=DASHBOARD_FILTERS,
                           alarms=dashboard.alarm_rows(db(), user),
                           zone=config().timezone)


DASHBOARD_FILTERS = {"offline": _l("Mất kết nối"), "failed": _l("Lỗi phát"), "alarms": _l("Có cảnh báo"),
                     "low_signal": _l("Sóng yếu"), "playing": _l("Đang phát"), "off": _l("Đã tắt")}
"""The dashboard's filters, as its links say them (the totals' key for the count beside each)."""


@bp.get("/events")
@login_required
def page_events(user: User) -> Response:
    """The dashboard's event stream (for the area, filter, search and page it shows), each alarm with ``said``:
    its text in the page's language."""
    from broadcaster.web.api import event_stream

    answer = event_stream(user.id, view=rollup.View.from_args(request.args))
    answer.response = stream_with_context(said_events(answer.response))
    return answer


def dashboard_action(act: Callable[[], object], done: str | None = None) -> Response:
    """A button on the dashboard: do it, say it was done (``done``) or why not, and show the dashboard again,
    where the row already shows what was set (marked until the cluster confirms it)."""
    check_csrf()
    with Refused({}) as refused:
        act()
    if refused.message:
        flash(refused.message, "error")
    elif done:
        flash(done, "success")
    back = request.form.get("back", "")
    # Back to the same area, filter and page; only a dashboard address of this site, never one from elsewhere.
    return redirect(back if back.startswith("/dashboard") and "//" not in back else url_for("ui.dashboard_page"))


@bp.post("/alarms/<int:alarm_id>/ack")
@login_required
def page_ack(user: User, alarm_id: int) -> Response:
    return dashboard_action(lambda: dashboard.acknowledge(db(), user, alarm_id))


@bp.post("/devices/<device_id>/volume")
@login_required
def page_volume(user: User, device_id: str) -> Response:
    volume = request.form.get("volume", type=int)
    return dashboard_action(lambda: fleet.set_volume(db(), user, device_id, volume),
                            gettext("Đã đặt âm lượng %(volume)s%% cho %(device)s; đang chờ loa xác nhận.",
                                    volume=volume, device=_name(device_id)))


@bp.post("/devices/<device_id>/power")
@login_required
def page_power(user: User, device_id: str) -> Response:
    on = request.form.get("on") == "1"
    done = (gettext("Đã bật lại %(device)s; đang chờ loa xác nhận.", device=_name(device_id)) if on else
            gettext("Đã tắt %(device)s: chỉ còn phát khẩn cấp; đang chờ loa xác nhận.", device=_name(device_id)))
    return dashboard_action(lambda: fleet.set_power(db(), user, device_id, on), done)


def _name(device_id: str) -> str:
    device = db().get(Device, device_id)
    return device.name if device is not None else device_id


REPORT_ROWS_SHOWN = 1000
"""Rows a report page lists (the summary counts them all; the CSV has every row)."""


def report(user: User, limit: int = reports.MAX_ROWS,
           per_day: bool = False) -> tuple[reports.Report, tuple[datetime, datetime]]:
    return reports.from_query(db(), user, request.args, zone(), limit, per_day=per_day)


@bp.get("/reports")
@login_required
def reports_page(user: User) -> str | tuple[str, int]:
    with Refused({}) as refused:
        found, span = report(user, REPORT_ROWS_SHOWN, per_day=True)
    if refused.message:
        return render_template("reports.html", user=user, rows=[], villages=[], total=0, error=refused.message,
                               areas=areas_in_scope(user), args=request.args, span=None, charts=[], names={}), 422
    places = reports.above(db(), [v["village_id"] for v in found.villages])
    names = charts.village_names(found.villages, places)
    pictures = charts.of_report(reports.per_area(found.villages, places), found.days, found.villages, names, span)
    return render_template("reports.html", user=user, rows=found.rows, villages=found.villages, total=found.total,
                           error=None, areas=areas_in_scope(user), args=request.args, span=span, charts=pictures,
                           names=names)


CSV_HEADER = [_l("Dự kiến"), _l("Mã cụm loa"), _l("Cụm loa"), _l("Thôn"), _l("Mã lượt phát"), _l("Bản tin"),
              _l("Mức ưu tiên"), _l("Trạng thái"), _l("Bắt đầu (thiết bị)"), _l("Kết thúc"), _l("Số phút phát"),
              _l("Ghi chú")]
"""The report's CSV for people, in the order of ``reports.CSV_HEADER`` (the machines' names)."""


def _csv_cells(row: reports.Row) -> dict[str, Any]:
    """A report row as an officer reads it: local times dd/mm/yyyy HH:MM, labels, a decimal comma."""
    planned, started, finished = (moment(m, zone(), "") for m in row.moments)
    return {**row.as_json(), "planned": planned, "started_at": started, "finished_at": finished,
            "priority": str(PRIORITY_LABELS.get(row.priority, row.priority)),
            "state": str(STATE_LABELS.get(row.state, row.state)), "minutes": number(row.minutes),
            "error": said_text(row.error) if said_text(row.error) is not None else row.error}


@bp.get("/reports.csv")
@login_required
def reports_csv(user: User) -> Response:
    """The report's rows for a spreadsheet: by default in the page's language (headers, states, local times
    dd/mm/yyyy HH:MM, decimal comma); ``?format=iso`` as machines read them (field names, ISO 8601 UTC)."""
    found, span = report(user)
    if request.args.get("format") == "iso":
        text, name = reports.to_csv(found.rows), f"bao-cao-{span[0]:%Y%m%d}-iso.csv"
    else:
        text = reports.to_csv(found.rows, [str(h) for h in CSV_HEADER], _csv_cells)
        name = f"bao-cao-{span[0]:%Y%m%d}.csv"
    return FlaskResponse(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


AUDIT_PAGE = 100
"""Entries on one page of the audit log."""


@bp.get("/audit")
@login_required
def audit_page(user: User) -> str | tuple[str, int]:
    """Who did what, newest first, narrowed by user, action and local dates (dd/mm/yyyy), a page at a time."""
    if not can(user, "admin"):
        abort(403)
    args = request.args
    query = db().query(AuditEntry)
    if args.get("user"):
        query = query.filter(AuditEntry.username == args["user"].strip())
    if args.get("action"):
        query = query.filter(AuditEntry.action == args["action"])
    error = None
    try:
        first, last = parse_date(args.get("from"), "from"), parse_date(args.get("to"), "to")
    except errors.Refusal as exc:
        first = last = None
        error = refusal_text(exc)
    if first:
        query = query.filter(AuditEntry.at >= datetime.combine(first, time(0), zone()))
    if last:
        query = query.filter(AuditEntry.at < datetime.combine(last + timedelta(days=1), time(0), zone()))
    page = max(args.get("page", 1, type=int) or 1, 1)
    entries = query.order_by(AuditEntry.id.desc()).offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1).all()
    users = [name for (name,) in db().query(AuditEntry.username).distinct().order_by(AuditEntry.username)]
    actions = sorted({a for (a,) in db().query(AuditEntry.action).distinct()} | set(ACTION_LABELS))
    shown = render_template("audit.html", user=user, entries=entries[:AUDIT_PAGE], more=len(entries) > AUDIT_PAGE,
                            page=page, args=args, users=users, actions=actions, error=error,
                            filters={k: v for k, v in args.items() if k != "page"})
    return (shown, 422) if error else shown
