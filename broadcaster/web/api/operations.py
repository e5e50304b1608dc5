"""Watching the fleet in the API: the dashboard's rows and live events, alarms, the air-time report and the
playback log, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, jsonify, request

from broadcaster.db import AuditEntry
from broadcaster.domain import dashboard, reports, rollup
from broadcaster.domain.access import require
from broadcaster.web.api.base import authenticated, bp
from broadcaster.web.common import config, db
from edge_agent.protocol.fields import format_time


@bp.get("/dashboard")
@authenticated
def dashboard_rows() -> Response:
    """The clusters of an area (``area``; default your highest) and every area below it, one row each, in id
    order: ``state`` narrows them (offline, failed, alarms, low_signal, playing, off), ``q`` searches names
    and ids, ``page`` and ``per_page`` (default 50, at most 1000) page them; ``X-Total-Count`` says how many
    match."""
    view = rollup.View.from_args(request.args)
    ids, total = rollup.cluster_page(db(), g.user, _zone(), view)
    answer = jsonify(dashboard.device_rows(db(), g.user, ids))
    answer.headers["X-Total-Count"] = str(total)
    return answer


@bp.get("/dashboard/areas")
@authenticated
def dashboard_areas() -> Response:
    """An area (``area``; default your highest) rolled up: the way down to it, its totals and one row per child
    area (clusters, online, offline, playing, off, failed, failed_today, alarms, low_signal and the last
    emergency's reach: played of sent). Counts are at most a few seconds old."""
    return jsonify(rollup.overview(db(), g.user, _zone(), request.args.get("area", type=int)))


@bp.get("/events")
@authenticated
def events() -> Response:
    """Server-Sent Events for what one dashboard shows (the same ``area``, ``state``, ``q``, ``page`` as
    /dashboard): ``device`` when a cluster's row on that page changes, ``area`` when a child area's counts
    change, ``totals``, and ``alarms`` when the open alarms change."""
    return event_stream(g.user.id, view=rollup.View.from_args(request.args))


@bp.get("/broadcasts/<int:broadcast_id>/events")
@authenticated
def broadcast_events(broadcast_id: int) -> Response:
    """Server-Sent Events: ``broadcast`` (its state) and ``delivery`` (a cluster's row) as they change."""
    return event_stream(g.user.id, broadcast_id)


def _zone() -> ZoneInfo:
    return ZoneInfo(config().timezone)


def event_stream(user_id: int, broadcast_id: int | None = None, view: rollup.View | None = None) -> Response:
    """The dashboard's live events (for ``view``), or (with ``broadcast_id``) one broadcast's progress."""
    sessions = current_app.extensions["broadcaster"]["db"].sessions
    events = (dashboard.stream(sessions, user_id, _zone(), view) if broadcast_id is None
              else dashboard.broadcast_stream(sessions, user_id, broadcast_id))
    return Response(events, mimetype="text/event-stream", headers={"Cache-Control": "no-cache",
                                                                   "X-Accel-Buffering": "no"})


@bp.get("/alarms")
@authenticated
def list_alarms() -> Response:
    """Alarms not yet acknowledged in your areas, newest first; ``?all=1`` includes acknowledged ones."""
    return jsonify(dashboard.alarm_rows(db(), g.user, include_done=request.args.get("all") == "1"))


@bp.post("/alarms/<int:alarm_id>/ack")
@authenticated
def acknowledge_alarm(alarm_id: int) -> Response:
    alarm = dashboard.acknowledge(db(), g.user, alarm_id)
    return jsonify({"id": alarm.id, "acked_at": format_time(alarm.acked_at)})


def _report(limit: int = reports.MAX_ROWS, newest_first: bool = False,
            summarize: bool = True) -> tuple[reports.Report, tuple[datetime, datetime]]:
    return reports.from_query(db(), g.user, request.args, _zone(), limit, newest_first,
                              summarize)


@bp.get("/reports/airtime")
@authenticated
def airtime_report() -> Response:
    """Planned against played per cluster for ``from``..``to`` (local dates; default the last 7 days),
    ``area_id`` to narrow it; ``format=csv`` for a spreadsheet (every row). The JSON has the summary per village
    over every row, ``total`` rows, and the first ``limit`` of them (default 1000)."""
    if request.args.get("format") == "csv":
        report, span = _report()
        name = f"phat-thanh-{span[0]:%Y%m%d}-{(span[1] - timedelta(days=1)):%Y%m%d}.csv"
        return Response(reports.to_csv(report.rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    report, span = _report(min(max(request.args.get("limit", 1000, type=int) or 1000, 1), reports.MAX_ROWS))
    return jsonify(period={"from": f"{span[0]:%Y-%m-%d}", "to": f"{span[1] - timedelta(days=1):%Y-%m-%d}"},
                   villages=report.villages, total=report.total, rows=[r.as_json() for r in report.rows])


@bp.get("/playback")
@authenticated
def playback_log() -> Response:
    """The playback log, searchable: ``q`` (words of the title), ``device``, ``state``, ``from``, ``to``,
    ``area_id``; at most ``limit`` rows (default 200), newest first."""
    report, _ = _report(min(request.args.get("limit", 200, type=int) or 200, 5000), newest_first=True,
                        summarize=False)
    return jsonify([r.as_json() for r in report.rows])


@bp.get("/audit")
@authenticated
def audit_log() -> Response:
    """Who did what, when and from where, newest first (admins). ``?action=bulletin.approve&user=an``."""
    require(g.user, "admin")
    query = db().query(AuditEntry).order_by(AuditEntry.id.desc())
    if request.args.get("action"):
        query = query.filter(AuditEntry.action == request.args["action"])
    if request.args.get("user"):
        query = query.filter(AuditEntry.username == request.args["user"])
    limit = min(request.args.get("limit", 200, type=int) or 200, 1000)
    return jsonify([{"id": e.id, "at": format_time(e.at), "user": e.username, "action": e.action,
                     "target": e.target, "detail": e.detail, "address": e.address} for e in query.limit(limit)])
