"""Writing an announcement and hearing it before it is sent; the commune's dictionary."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from broadcaster.db import LexiconEntry, User
from broadcaster.domain import broadcasts as broadcast_rules
from broadcaster.domain import bulletins as bulletin_rules
from broadcaster.domain import errors, fleet, requested
from broadcaster.domain import voices as voice_rules
from broadcaster.domain.airtime import WORDS_PER_MINUTE
from broadcaster.web import common
from broadcaster.web.common import config, db
from broadcaster.web.pages.base import (
    REFUSALS,
    SPEED_LABELS,
    Refused,
    areas_in_scope,
    bp,
    check_csrf,
    login_required,
)
from broadcaster.web.pages.scheduling import when_from_form


@bp.get("/")
@login_required
def index(user: User) -> str:
    return _index_page(user)


def _index_page(user: User, form: Any = None, error: str | None = None) -> str:
    """Speakers, the announcement form (with what was typed and why it was refused) and recent broadcasts."""
    devices = fleet.pickable_devices(db(), user)
    broadcasts = broadcast_rules.list_broadcasts(db(), user, limit=20)
    voices = common.voices(user)
    default = next((v for v in voices["voices"] if v["name"] == voices["default"]), None)
    most = config().speech.max_spoken_s
    return render_template("index.html", user=user, devices=devices, broadcasts=broadcasts,
                           progress=broadcast_rules.progress(db(), broadcasts),
                           form=form or MultiDict(), error=error, voices=voices, default_voice=default,
                           speeds=SPEED_LABELS, fetch_command=FETCH_COMMAND, areas=areas_in_scope(user),
                           groups=fleet.list_groups(db(), user), words_per_minute=WORDS_PER_MINUTE,
                           max_spoken_s=most, most_minutes=f"{most / 60:g}", PICK_MOST=fleet.PICK_MOST)


FETCH_COMMAND = "broadcaster voices fetch piper vais1000"
"""The one command that gives a server with only the robotic voice a natural one."""


def _reading(form: Any) -> dict[str, Any]:
    """The form's voice and speed as the rules take them (a speed that is not a number is refused there)."""
    speed: Any = form.get("speed") or None
    with contextlib.suppress(ValueError):
        speed = float(speed) if speed is not None else None
    return {"voice": form.get("voice") or None, "speed": speed}


@bp.post("/send")
@login_required
def send(user: User) -> str | Response | tuple[str, int]:
    """An admin types, approves and sends in one step; anyone else who writes sends it for approval, with the
    time, priority and clusters they chose kept for the leader. A refusal keeps everything typed."""
    check_csrf()
    form = request.form
    cfg = config()
    broadcast = None
    with Refused(REFUSALS) as refused:
        data = {"title": form.get("title"), "text": form.get("text"), "submit": not user.is_admin,
                "request": when_from_form(form), **_reading(form)}
        bulletin = requested.write_bulletin(db(), user, data, cfg.speech.catalog(), cfg.timezone,
                                            cfg.speech.max_spoken_s)
        if user.is_admin:
            _, broadcast = requested.approve_and_schedule(db(), user, bulletin.id, None, None, cfg.grace_s,
                                                          cfg.timezone)
    if refused.message:
        return _index_page(user, form, refused.message), 422
    if broadcast is not None:
        return redirect(url_for("ui.broadcast", broadcast_id=broadcast.id))
    flash(gettext("Đã gửi bản tin để lãnh đạo duyệt."), "success")
    return redirect(url_for("ui.bulletin_page", bulletin_id=bulletin.id))


@bp.post("/preview")
@login_required
def preview(user: User) -> Response | tuple[Response, int]:
    """Nghe thử: the reading, the audio and the listening check for the text in the form (JSON for the page)."""
    check_csrf()
    with Refused(REFUSALS) as refused:
        reading = _reading(request.form)
        text = bulletin_rules.spoken_text({"text": request.form.get("text")}, config().speech.max_spoken_s,
                                          reading["speed"] if isinstance(reading["speed"], float) else None)
        voice = voice_rules.voice_field(reading, config().speech.catalog())
        return jsonify(common.preview(user, text, url_for("ui.audio", asset_id="ASSET"), voice,
                                      voice_rules.speed_field(reading)))
    return refused.json_error()


@bp.post("/reading")
@login_required
def reading(user: User) -> Response | tuple[Response, int]:
    """How the text in the form will be read (no audio): the form's live reading as one types."""
    check_csrf()
    with Refused(REFUSALS) as refused:
        text = errors.text_field({"text": request.form.get("text")}, "text", bulletin_rules.MAX_TEXT)
    if refused.exc is not None:
        return refused.json_error()
    return jsonify(common.reading(text))


@bp.get("/audio/<asset_id>")
@login_required
def audio(user: User, asset_id: str) -> Response:
    try:
        return common.asset_response(asset_id)
    except errors.Refusal:
        abort(404)


LEXICON_REFUSALS = {
    "missing_field": _l("Hãy nhập cả từ và cách đọc."),
    "too_long": _l("Từ hoặc cách đọc quá dài."),
    "invalid_reading": _l("Cách đọc phải viết bằng chữ, không có chữ số."),
    "duplicate_word": _l("Từ này đã có trong từ điển."),
}


@bp.route("/lexicon", methods=["GET", "POST"])
@login_required
def lexicon_page(user: User) -> str | Response | tuple[str, int]:
    """The commune's dictionary: local place names and abbreviations, read the commune's way."""
    error = None
    if request.method == "POST":
        check_csrf()
        with Refused(LEXICON_REFUSALS) as refused:
            bulletin_rules.add_lexicon_entry(db(), user, {"word": request.form.get("word"),
                                                          "reading": request.form.get("reading")})
        if not refused.message:
            return redirect(url_for("ui.lexicon_page"))
        error = refused.message
    entries = db().query(LexiconEntry).order_by(LexiconEntry.word).all()
    page = render_template("lexicon.html", user=user, entries=entries, error=error, form=request.form)
    return (page, 422) if error else page


@bp.post("/lexicon/choose")
@login_required
def lexicon_choose(user: User) -> Response | tuple[Response, int]:
    """One click on a reading the preview offered: saved in the commune's dictionary (JSON for the page)."""
    check_csrf()
    with Refused(LEXICON_REFUSALS) as refused:
        entry = bulletin_rules.choose_reading(db(), user, {"word": request.form.get("word"),
                                                           "reading": request.form.get("reading")})
        return jsonify(word=entry.word, reading=entry.reading)
    return refused.json_error()


@bp.post("/lexicon/<int:entry_id>/delete")
@login_required
def lexicon_delete(user: User, entry_id: int) -> Response:
    check_csrf()
    with Refused(LEXICON_REFUSALS) as refused:
        bulletin_rules.delete_lexicon_entry(db(), user, entry_id)
    if refused.message:
        flash(refused.message, "error")
    return redirect(url_for("ui.lexicon_page"))
