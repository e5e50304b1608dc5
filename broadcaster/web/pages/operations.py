"""Watching the fleet: the dashboard and its buttons, reports, the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from broadcaster.db import AuditEntry, User
from broadcaster.domain import dashboard, fleet, reports
from broadcaster.domain.access import can
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import (
    Refused,
    areas_in_scope,
    bp,
    check_csrf,
    login_required,
    zone,
)


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
    with Refused({}) as refused:
        act()
    if refused.message:
        flash(refused.message, "error")
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


REPORT_ROWS_SHOWN = 1000
"""Rows a report page lists (the summary counts them all; the CSV has every row)."""


def report(user: User, limit: int = reports.MAX_ROWS) -> tuple[reports.Report, tuple[datetime, datetime]]:
    return reports.from_query(db(), user, request.args, zone(), limit)


@bp.get("/reports")
@login_required
def reports_page(user: User) -> str | tuple[str, int]:
    with Refused({}) as refused:
        found, span = report(user, REPORT_ROWS_SHOWN)
    if refused.message:
        return render_template("reports.html", user=user, rows=[], villages=[], total=0, error=refused.message,
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
