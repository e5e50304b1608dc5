"""The calendar in the API: what will air and what aired, day by day, on the clusters you may see."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, g, jsonify, request

from broadcaster.db import parse_id
from broadcaster.domain import calendar
from broadcaster.domain.errors import Refusal
from broadcaster.web.api.base import authenticated, bp
from broadcaster.web.common import config, db


@bp.get("/calendar")
@authenticated
def calendar_days() -> Response:
    """``from``..``to`` (local dates, default this week from Monday), ``area`` (an area id: it and below) or
    ``device`` (one cluster)."""
    zone = ZoneInfo(config().timezone)
    first, last = calendar.parse_days(request.args.get("from"), request.args.get("to"), zone)
    area = request.args.get("area")
    result = calendar.calendar(db(), g.user, first, last, zone, area_id=_id(area) if area else None,
                               device_id=request.args.get("device") or None)
    return jsonify(result.as_json())


def _id(value: str) -> int:
    number = parse_id(value)
    if number is None:
        raise Refusal("not_found", f"area {value[:30]!r} does not exist", status=404, field="area")
    return number
