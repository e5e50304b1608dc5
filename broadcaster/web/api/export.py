"""The read-only export API for other systems (docs/integration.md): clusters with their areas and state, and
statistics per area and period. The schedule is ``/calendar`` and what aired is ``/playback``."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Response, g, jsonify, request

from broadcaster.domain import export, reports
from broadcaster.web.api.base import authenticated, bp
from broadcaster.web.common import config, db


@bp.get("/export/clusters")
@authenticated
def export_clusters() -> Response:
    """Every cluster in your areas with its state and the areas above it by level."""
    return jsonify(export.clusters(db(), g.user))


@bp.get("/export/statistics")
@authenticated
def export_statistics() -> Response:
    """Planned, played, not played and minutes on air per area of ``level`` (province, district, commune or
    village; default commune) for ``from``..``to`` (local dates, default the last 7 days)."""
    zone = ZoneInfo(config().timezone)
    start, end = reports.period(request.args.get("from") or None, request.args.get("to") or None, zone)
    rows = export.statistics(db(), g.user, start, end, zone, request.args.get("level", "commune"))
    return jsonify(period={"from": f"{start:%Y-%m-%d}", "to": f"{end - timedelta(days=1):%Y-%m-%d}"}, areas=rows)
