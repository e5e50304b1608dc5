"""The fleet's map (templates/_map.html with static/map.js, on the dashboard and full page at /map), its data as
compact JSON for the page's script, placing a cluster by a click on it, and one cluster's page (where a click
on its marker leads)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, render_template, request, url_for
from flask_babel import gettext

from broadcaster.db import User
from broadcaster.domain import fleet, fleetmap
from broadcaster.web.common import compact_json, config, db
from broadcaster.web.pages.base import Refused, bp, check_csrf, login_required


@bp.app_context_processor
def map_settings() -> dict[str, Any]:
    """``map_view()`` for templates/_map.html: where its data comes from and what to draw it on."""
    def map_view() -> dict[str, Any]:
        tiles = config().tile_url()
        return {"data": url_for("ui.map_json"), "tiles": tiles, "attribution": config().map.credit(tiles),
                "max_zoom": config().map.max_zoom, "place": url_for("ui.page_position", device_id="DEVICE"),
                "cluster": url_for("ui.device_page", device_id="DEVICE")}

    return {"map_view": map_view}


@bp.get("/map")
@login_required
def map_page(user: User) -> str:
    """The map alone, the whole screen's height (a phone in the field); ``?device=`` centres one cluster."""
    return render_template("map.html", user=user, focus=request.args.get("device", ""))


@bp.get("/map.json")
@login_required
def map_json(user: User) -> Response:
    """The map's data for its script (as ``GET /api/v1/map``, with the page's session)."""
    return compact_json(fleetmap.map_data(db(), user))


@bp.post("/devices/<device_id>/position")
@login_required
def page_position(user: User, device_id: str) -> Response | tuple[Response, int]:
    """Place a cluster where the operator clicked on the map (form fields ``lat`` and ``lon``; both empty clear
    it). JSON for the map's script: the position stored, with a sentence to show; or the refusal in words."""
    check_csrf()
    lat, lon = (_coordinate(request.form.get(name)) for name in ("lat", "lon"))
    with Refused() as refused:
        device = fleet.set_position(db(), user, device_id, {"lat": lat, "lon": lon})
        said = gettext("Đã đặt vị trí cho %(device)s.", device=device.name) if device.lat is not None else \
            gettext("Đã bỏ vị trí của %(device)s.", device=device.name)
        return jsonify(device=device.id, lat=device.lat, lon=device.lon, said=said)
    return refused.json_error()


def _coordinate(text: str | None) -> Any:
    """A typed or clicked coordinate as a number, nothing as None, anything else as itself (refused by the
    rules with their own words)."""
    if not text or not text.strip():
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return text


@bp.get("/devices/<device_id>")
@login_required
def device_page(user: User, device_id: str) -> str:
    """One cluster: its state, where it stands, its open alarms, and links to its calendar and the map."""
    with Refused():
        return render_template("device.html", user=user, **fleetmap.cluster(db(), user, device_id))
    abort(404)
