"""CAP alerts in the API: importing one (201 aired, 200 recorded or held, with why; a refusal is an error and
changes nothing), the alerts received, releasing a held one; and for admins the issuers, feeds, the mapping
table, geocodes and area outlines."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from broadcaster.domain.access import require
from broadcaster.domain.cap import policy, records, release, settings
from broadcaster.domain.cap.importer import CapResult, import_cap
from broadcaster.domain.errors import Refusal
from broadcaster.web import common, serializers
from broadcaster.web.api.base import authenticated, body, bp, optional_body
from broadcaster.web.common import db


def result_json(result: CapResult) -> dict[str, Any]:
    broadcasts = [b for sent in result.sent for b in sent.broadcasts]
    answer: dict[str, Any] = {
        "id": result.record_id, "identifier": result.identifier, "sender": result.sender, "aired": result.aired,
        "outcome": result.outcome, "reason": result.reason, "detail": result.detail, "priority": result.priority,
        "play_at": result.play_at.isoformat() if result.play_at else None, "stopped": result.stopped,
        "parts": [p.as_json() for p in result.parts], **result.match.as_json(), "warnings": result.warnings,
        "signed_by": result.signed_by, "broadcasts": [serializers.broadcast_json(b) for b in broadcasts]}
    if result.sent:
        answer["bulletin"] = serializers.bulletin_json(result.sent[0].bulletin)
    return answer


@bp.post("/cap")
@authenticated
def import_alert() -> tuple[Response, int]:
    """A CAP 1.0, 1.1 or 1.2 alert (the XML document as the body). 201: it airs (``outcome`` aired, or waiting
    for the allowed hours: ``play_at``); 200: recorded without airing, held, or already received (``reason``
    says why); 4xx ``{"error"}``: refused, nothing kept (send it again once the cause is fixed)."""
    result = import_cap(db(), g.user, request.get_data(), common.cap_settings())
    return jsonify(result_json(result)), 201 if result.aired else 200


@bp.get("/cap/alerts")
@authenticated
def list_alerts() -> Response:
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 200)
    return jsonify([records.alert_json(r) for r in records.list_alerts(db(), g.user, limit)])


@bp.get("/cap/alerts/<int:alert_id>")
@authenticated
def get_alert(alert_id: int) -> Response:
    return jsonify(records.alert_json(records.visible_alert(db(), g.user, alert_id)))


@bp.post("/cap/alerts/<int:alert_id>/release")
@authenticated
def release_alert(alert_id: int) -> tuple[Response, int]:
    """Air a held alert: ``{}``, or ``{"text": "..."}`` with the Vietnamese text for one held for want of it."""
    record, sent, stopped = release.release_alert(db(), g.user, alert_id, optional_body(), common.cap_settings())
    return jsonify({**records.alert_json(record), "stopped": stopped,
                    "broadcasts": [serializers.broadcast_json(b) for s in sent for b in s.broadcasts]}), 201


@bp.get("/cap/issuers")
@authenticated
def list_issuers() -> Response:
    return jsonify([settings.issuer_json(i) for i in settings.list_issuers(db(), g.user)])


@bp.post("/cap/issuers")
@authenticated
def create_issuer() -> tuple[Response, int]:
    return jsonify(settings.issuer_json(settings.save_issuer(db(), g.user, body()))), 201


@bp.put("/cap/issuers/<int:issuer_id>")
@authenticated
def update_issuer(issuer_id: int) -> Response:
    return jsonify(settings.issuer_json(settings.save_issuer(db(), g.user, body(), issuer_id)))


@bp.get("/cap/feeds")
@authenticated
def list_feeds() -> Response:
    return jsonify([settings.feed_json(f) for f in settings.list_feeds(db(), g.user)])


@bp.post("/cap/feeds")
@authenticated
def add_feed() -> tuple[Response, int]:
    return jsonify(settings.feed_json(settings.add_feed(db(), g.user, body()))), 201


@bp.delete("/cap/feeds/<int:feed_id>")
@authenticated
def remove_feed(feed_id: int) -> tuple[str, int]:
    settings.remove_feed(db(), g.user, feed_id)
    return "", 204


@bp.get("/cap/mapping")
@authenticated
def get_mapping() -> Response:
    """The mapping table of urgency, severity and certainty to our priority (the first row that holds wins)."""
    require(g.user, "view")
    return jsonify(rules=[r.as_json() for r in policy.rules(db())], default=[r.as_json() for r in policy.DEFAULT_RULES])


@bp.put("/cap/mapping")
@authenticated
def set_mapping() -> Response:
    table = policy.set_rules(db(), g.user, body())
    return jsonify(rules=[r.as_json() for r in table], default=[r.as_json() for r in policy.DEFAULT_RULES])


@bp.get("/cap/geocodes")
@authenticated
def list_geocodes() -> Response:
    return jsonify([settings.geocode_json(r) for r in settings.list_geocodes(db(), g.user)])


@bp.post("/cap/geocodes")
@authenticated
def add_geocode() -> tuple[Response, int]:
    return jsonify(settings.geocode_json(settings.add_geocode(db(), g.user, body()))), 201


@bp.delete("/cap/geocodes/<int:geocode_id>")
@authenticated
def remove_geocode(geocode_id: int) -> tuple[str, int]:
    settings.remove_geocode(db(), g.user, geocode_id)
    return "", 204


@bp.put("/areas/<int:area_id>/outline")
@authenticated
def set_outline(area_id: int) -> Response:
    """An area's outline as GeoJSON (Polygon or MultiPolygon): ``{"geojson": {...}}``, or null to remove it."""
    data = body()
    if "geojson" not in data:
        raise Refusal("missing_field", "'geojson' is required (a Polygon, a MultiPolygon, or null)", field="geojson")
    outline = settings.set_outline(db(), g.user, area_id, data)
    return jsonify(area_id=area_id, has_outline=outline.geojson != "null")
