"""Request helpers shared by the API and the pages."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, g, request, send_file
from sqlalchemy.orm import Session

from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Asset, Bulletin, User, utcnow
from broadcaster.domain import errors
from broadcaster.speech.audio import AudioError

if TYPE_CHECKING:
    from broadcaster.domain.cap.importer import ImportSettings

_RENDER_LOCK = threading.Lock()


def db() -> Session:
    """This request's database session (committed when the request ends without error)."""
    if "db" not in g:
        database: Database = current_app.extensions["broadcaster"]["db"]
        g.db = database.sessions()
    session: Session = g.db
    return session


def clock() -> datetime:
    """The time a request is judged at (a CAP alert's expiry, its play time): now; tests move it."""
    return utcnow()


def cap_settings() -> ImportSettings:
    """The server's settings for a CAP import (API and pages alike), judged at ``clock()``."""
    from broadcaster.assets import AssetStore
    from broadcaster.domain.cap.importer import ImportSettings

    cfg = config()
    return ImportSettings(grace_s=cfg.grace_s, timezone=cfg.timezone, uploads=AssetStore(cfg.upload_dir, suffix=""),
                          max_recording_s=cfg.speech.max_recording_s, now=clock())


def config() -> ServerConfig:
    cfg: ServerConfig = current_app.extensions["broadcaster"]["config"]
    return cfg


def reading(text: str) -> dict[str, Any]:
    """How ``text`` will be read with this commune's dictionary, and where that reading is a guess (``marks``:
    what was written, its likely readings, the chosen one first), for the officer to settle."""
    from broadcaster.domain.bulletins import lexicon
    from broadcaster.speech.normalize import DIALECTS, Normalizer

    normalizer = Normalizer(DIALECTS[config().speech.dialect], extra=lexicon(db()))
    return {"sentences": normalizer.sentences(text),
            "marks": [{"kind": m.kind, "text": m.text, "readings": list(m.readings)} for m in normalizer.marks(text)]}


def live_url() -> str:
    """Where browsers and clients reach the worker's live endpoint: the configured public address, else the
    host of this request at the endpoint's port (the demo, a site on localhost)."""
    settings = config().live
    if settings.public_url:
        return settings.public_url
    scheme = "wss" if request.scheme == "https" else "ws"
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return f"{scheme}://{host}:{settings.port}/live"


def voices(user: User) -> dict[str, Any]:
    """The voices an officer may choose (natural ones first, each with whether it speaks here), and the one
    that reads this officer's commune's bulletins when none is chosen."""
    from broadcaster.domain.access import home_area
    from broadcaster.domain.voices import area_voice
    from broadcaster.speech.voices import voice_report

    speech = config().speech
    report = voice_report(speech.catalog())
    default = area_voice(db(), home_area(user)) or speech.default_voice()
    usable = {v["name"] for v in report if v["available"]}
    return {"voices": report, "default": default, "natural": any(v["natural"] for v in report
                                                                 if v["name"] in usable)}


def preview(user: User, text: str, audio_url: str, voice: str | None = None, speed: float | None = None
            ) -> dict[str, Any]:
    """Render ``text`` as it will air with ``voice`` at ``speed`` (None: the commune's; cached: the broadcast
    reuses it) and run the listening check.

    One render at a time per web process: a preview is a click, not a batch job.
    """
    from broadcaster.assets import AssetStore
    from broadcaster.domain.access import home_area
    from broadcaster.domain.voices import area_voice
    from broadcaster.speech.render import Speech

    state = current_app.extensions["broadcaster"]
    voice = voice or area_voice(db(), home_area(user))
    with _RENDER_LOCK:
        if "speech" not in state:
            state["speech"] = Speech(config().speech, AssetStore(config().asset_dir))
        try:
            result = state["speech"].preview(db(), text, voice, speed or 1.0)
        except AudioError as exc:
            raise errors.Refusal("cannot_render", f"the text cannot be read aloud: {exc}", field="text") from None
    return {**result.as_json(), "marks": reading(text)["marks"],
            "audio_url": audio_url.replace("ASSET", result.asset.id)}


def listen(user: User, bulletin: Bulletin, audio_url: str) -> dict[str, Any]:
    """What will air for a bulletin, as ``preview`` says it: its text with its own voice and speed, or its
    recording as it will be played (chime and loudness included)."""
    from broadcaster.assets import AssetStore
    from broadcaster.domain.voices import reading_of
    from broadcaster.speech.render import Speech

    if bulletin.recording is None:
        voice, speed = reading_of(db(), bulletin)
        return preview(user, bulletin.text, audio_url, voice, speed)
    state = current_app.extensions["broadcaster"]
    cfg = config()
    with _RENDER_LOCK:
        if "speech" not in state:
            state["speech"] = Speech(cfg.speech, AssetStore(cfg.asset_dir))
        try:
            asset = state["speech"].render_recording(db(), bulletin.recording, AssetStore(cfg.upload_dir, suffix=""),
                                                     cfg.speech.max_recording_s)
        except AudioError as exc:
            raise errors.Refusal("cannot_render", f"the recording cannot be played: {exc}") from None
    return {"sentences": [], "asset_id": asset.id, "duration_s": round(asset.duration_s, 2), "natural_voice": True,
            "voice_label": bulletin.recording.language, "voice_problem": None, "listening": None,
            "listening_problem": None, "marks": [], "audio_url": audio_url.replace("ASSET", asset.id)}


def asset_response(asset_id: str) -> Response:
    """The encoded audio of a stored asset, for the page's player."""
    from broadcaster.assets import AssetStore

    asset = db().get(Asset, asset_id)
    path = AssetStore(config().asset_dir).path(asset_id) if asset is not None else None
    if path is None or not path.exists():
        raise errors.Refusal("not_found", f"audio {asset_id} does not exist", status=404)
    return send_file(path, mimetype="audio/ogg", conditional=True, max_age=3600)


def compact_json(data: Any) -> Response:
    """``data`` as small JSON (no spaces, Vietnamese unescaped) with an ETag: a browser that asks again with
    ``If-None-Match`` gets 304 without the body while nothing changed (the map, polled, at 5,000 clusters)."""
    answer = Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")
    answer.add_etag()
    answer.headers["Cache-Control"] = "private, no-cache"
    answer.make_conditional(request)  # turns it into a 304 in place when the browser has this one
    return answer
