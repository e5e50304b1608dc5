"""Speech in the API: the voices, the commune's dictionary, how a text will be read and heard."""

from __future__ import annotations

from flask import Response, g, jsonify, url_for

from broadcaster.db import LexiconEntry
from broadcaster.domain import bulletins, errors
from broadcaster.speech.engines import DEFAULT_VOICE, voice_report
from broadcaster.web import common
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import config, db


@bp.get("/voices")
@authenticated
def voices() -> Response:
    """Every voice, whether it can speak on this server, and the one bulletins use now."""
    speech = config().speech
    report = voice_report(speech.voices)
    usable = {v["name"] for v in report if v["available"]}
    return jsonify(voices=report, configured=speech.voice,
                   in_use=speech.voice if speech.voice in usable else DEFAULT_VOICE)


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
    """The audio that will air for ``text``, with what the listening check understood of it."""
    text = errors.text_field(body(), "text", bulletins.MAX_TEXT)
    return jsonify(common.preview(text, url_for("api.asset_audio", asset_id="ASSET")))


@bp.get("/assets/<asset_id>")
@authenticated
def asset_audio(asset_id: str) -> Response:
    return common.asset_response(asset_id)
