"""Speech in the API: the voices, the commune's dictionary, how a text will be read and heard."""

from __future__ import annotations

from flask import Response, g, jsonify, url_for

from broadcaster.db import LexiconEntry
from broadcaster.domain import bulletins, errors
from broadcaster.domain import voices as area_voices
from broadcaster.speech.voices import fallback_for
from broadcaster.web import common
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import config, db


@bp.get("/voices")
@authenticated
def voices() -> Response:
    """Every voice (label, region, gender, natural or robotic, whether it can speak on this server and why not),
    the server's default and the one your commune's bulletins are read with when none is chosen."""
    speech = config().speech
    choices = common.voices(g.user)
    usable = {v["name"] for v in choices["voices"] if v["available"]}
    default = choices["default"]
    return jsonify(voices=choices["voices"], configured=speech.voice, default=default,
                   in_use=default if default in usable else fallback_for(speech.catalog().get(default)),
                   natural_available=choices["natural"])


@bp.put("/areas/<int:area_id>/voice")
@authenticated
def set_area_voice(area_id: int) -> Response:
    """``{"voice": "<name>"}`` for the bulletins of the area and the areas below it; ``null``: the default."""
    area = area_voices.set_area_voice(db(), g.user, area_id, body(), config().speech.catalog())
    return jsonify({"area_id": area.id, "voice": area.voice})


@bp.get("/lexicon")
@authenticated
def list_lexicon() -> Response:
    """The commune's own words and their readings (applied before the built-in dictionary)."""
    entries = db().query(LexiconEntry).order_by(LexiconEntry.word)
    return jsonify([{"id": e.id, "word": e.word, "reading": e.reading} for e in entries])


@bp.post("/lexicon")
@authenticated
def add_lexicon() -> tuple[Response, int]:
    entry = bulletins.add_lexicon_entry(db(), g.user, body())
    return jsonify({"id": entry.id, "word": entry.word, "reading": entry.reading}), 201


@bp.delete("/lexicon/<int:entry_id>")
@authenticated
def delete_lexicon(entry_id: int) -> Response:
    bulletins.delete_lexicon_entry(db(), g.user, entry_id)
    return Response(status=204)


@bp.post("/normalize")
@authenticated
def preview_reading() -> Response:
    """How ``text`` will be read aloud, with this commune's dictionary: a preview before approval, with
    ``marks`` where the reading is a guess (save a choice with ``POST /lexicon``)."""
    text = errors.text_field(body(), "text", bulletins.MAX_TEXT)
    return jsonify(common.reading(text))


@bp.post("/preview")
@authenticated
def preview() -> Response:
    """The audio that will air for ``text`` (optionally with ``voice`` and ``speed``), with what the listening
    check understood of it."""
    data = body()
    text = errors.text_field(data, "text", bulletins.MAX_TEXT)
    voice = area_voices.voice_field(data, config().speech.catalog())
    return jsonify(common.preview(g.user, text, url_for("api.asset_audio", asset_id="ASSET"), voice,
                                  area_voices.speed_field(data)))


@bp.get("/assets/<asset_id>")
@authenticated
def asset_audio(asset_id: str) -> Response:
    return common.asset_response(asset_id)
