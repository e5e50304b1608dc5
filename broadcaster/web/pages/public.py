"""A commune's public page (no login): what aired there, with its text and audio, newest first, and the same as an
RSS 2.0 podcast feed. A commune that has not opted in is not found."""

from __future__ import annotations

from email.utils import format_datetime
from xml.etree import ElementTree

from flask import Response, abort, render_template, request, send_file, url_for
from flask_babel import gettext

from broadcaster.assets import AssetStore
from broadcaster.domain import errors
from broadcaster.domain import public as public_rules
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import bp, zone

PER_PAGE = 20
CACHE = "public, max-age=300"


@bp.get("/p/<int:area_id>")
def public_page(area_id: int) -> Response:
    try:
        commune = public_rules.public_commune(db(), area_id)
        items = public_rules.aired(db(), area_id)
    except errors.Refusal:
        abort(404)
    pages = max(1, -(-len(items) // PER_PAGE))
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    shown = [{"title": i.title, "text": i.text, "aired": i.aired_at.astimezone(zone()).strftime("%d/%m/%Y %H:%M"),
              "audio": url_for("ui.public_audio", area_id=area_id, asset_id=i.asset.id),
              "duration": round(i.asset.duration_s)}
             for i in items[(number - 1) * PER_PAGE:number * PER_PAGE]]
    response = Response(render_template("public.html", commune=commune, items=shown, number=number, pages=pages))
    response.headers["Cache-Control"] = "max-age=60"
    return response


@bp.get("/p/<int:area_id>/feed.xml")
def public_feed(area_id: int) -> Response:
    try:
        commune = public_rules.public_commune(db(), area_id)
        items = public_rules.aired(db(), area_id, limit=100)
    except errors.Refusal:
        abort(404)
    rss = ElementTree.Element("rss", version="2.0")
    channel = ElementTree.SubElement(rss, "channel")
    title = gettext("Đài truyền thanh %(name)s", name=commune.name)
    for name, value in (("title", title), ("link", url_for("ui.public_page", area_id=area_id, _external=True)),
                        ("description", gettext("Những gì đã phát trên loa của %(name)s.", name=commune.name)),
                        ("language", "vi")):
        ElementTree.SubElement(channel, name).text = value
    for item in items:
        entry = ElementTree.SubElement(channel, "item")
        ElementTree.SubElement(entry, "title").text = item.title
        ElementTree.SubElement(entry, "pubDate").text = format_datetime(item.aired_at)
        ElementTree.SubElement(entry, "description").text = item.text
        ElementTree.SubElement(entry, "enclosure", url=url_for("ui.public_audio", area_id=area_id,
                                                               asset_id=item.asset.id, _external=True),
                               length=str(item.asset.size), type="audio/ogg")
        ElementTree.SubElement(entry, "guid", isPermaLink="false").text = f"loaxa-{item.guid}"
    body = ElementTree.tostring(rss, encoding="utf-8", xml_declaration=True)
    response = Response(body, mimetype="application/rss+xml")
    response.headers["Cache-Control"] = CACHE
    return response


@bp.get("/p/<int:area_id>/audio/<asset_id>.ogg")
def public_audio(area_id: int, asset_id: str) -> Response:
    try:
        asset = public_rules.public_asset(db(), area_id, asset_id)
    except errors.Refusal:
        abort(404)
    path = AssetStore(config().asset_dir).path(asset.id)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="audio/ogg", conditional=True, max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
