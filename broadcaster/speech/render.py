"""From bulletin text to a stored, broadcast-ready asset; the same input is never synthesized twice."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from broadcaster.assets import AssetStore
from broadcaster.config import SpeechSettings
from broadcaster.db import Asset, ListeningCheck, Recording
from broadcaster.domain.bulletins import lexicon
from broadcaster.speech.audio import (
    AudioSettings,
    duration_of,
    finish,
    load_recording,
    recording_program,
    speech_program,
)
from broadcaster.speech.engines import Engine
from broadcaster.speech.listening import ListenerUnavailable, listen
from broadcaster.speech.normalize import DIALECTS, Normalizer
from broadcaster.speech.voices import CHECK_TTL_S, resolve

logger = logging.getLogger(__name__)


class Speech:
    def __init__(self, settings: SpeechSettings, store: AssetStore) -> None:
        self.settings = settings
        self.store = store
        self._engines: dict[tuple[str, float], tuple[float, Engine, str | None]] = {}
        self.audio = AudioSettings(
            loudness_lufs=settings.loudness_lufs, bitrate_kbps=settings.bitrate_kbps, chime=settings.chime,
            horn_filter=settings.horn_filter,
        )
        self.dialect = DIALECTS[settings.dialect]

    def engine(self, voice: str | None = None, speed: float = 1.0) -> tuple[Engine, str | None]:
        """The engine reading with ``voice`` (None: the server's default) at ``speed``, and why another voice
        reads instead if that one cannot speak here. Kept; a fallback is tried again after a minute (the
        voice may have been fetched meanwhile)."""
        name = voice or self.settings.default_voice()
        kept = self._engines.get((name, speed))
        if kept is not None and (kept[2] is None or time.monotonic() - kept[0] < CHECK_TTL_S):
            return kept[1], kept[2]
        engine, problem = resolve(name, self.settings.catalog(), speed)
        self._engines[(name, speed)] = (time.monotonic(), engine, problem)
        return engine, problem

    def render_key(self, sentences: list[str], engine: Engine) -> str:
        blob = json.dumps([sentences, engine.key(), self.audio.key()], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def render_recording(self, session: Session, recording: Recording, uploads: AssetStore,
                         max_seconds: float) -> Asset:
        """The asset for an uploaded recording: chime, the recording, loudness, Opus; cached like speech."""
        blob = json.dumps(["recording", recording.source_sha256, self.audio.key()])
        key = hashlib.sha256(blob.encode()).hexdigest()
        cached = self._cached(session, key)
        if cached is not None:
            return cached
        segment = load_recording(uploads.read(recording.source_sha256), max_seconds)
        return self._store(session, key, finish(recording_program(segment, self.audio), self.audio, ".opus"))

    def normalizer(self, session: Session) -> Normalizer:
        """The normalizer with the commune's own words, read from the database each time (they change)."""
        return Normalizer(self.dialect, extra=lexicon(session))

    def render(self, session: Session, text: str, voice: str | None = None, speed: float = 1.0) -> Asset:
        """The asset for ``text`` read by ``voice`` at ``speed``: from the cache when this text, voice and
        settings were rendered before."""
        return self._render(session, self.normalizer(session).sentences(text), self.engine(voice, speed)[0])

    def preview(self, session: Session, text: str, voice: str | None = None, speed: float = 1.0) -> Preview:
        """What will air for ``text``: its reading, its audio (the very asset a broadcast will use) and what the
        listening check understood of it (computed once per asset, where the check is installed)."""
        sentences = self.normalizer(session).sentences(text)
        engine, voice_problem = self.engine(voice, speed)
        asset = self._render(session, sentences, engine)
        check = session.get(ListeningCheck, asset.id)
        problem = None
        if check is None:
            try:
                heard = listen(self.store.read(asset.id), " ".join(sentences))
            except ListenerUnavailable as exc:
                problem = str(exc)
            else:
                check = ListeningCheck(asset_id=asset.id, understood=heard.understood, missed="\n".join(heard.missed),
                                       heard=heard.heard)
                session.add(check)
                session.flush()
        return Preview(sentences, asset, check, problem, engine.name, voice_problem,
                       engine.settings.label or engine.name, engine.settings.natural)

    def _render(self, session: Session, sentences: list[str], engine: Engine) -> Asset:
        key = self.render_key(sentences, engine)
        cached = self._cached(session, key)
        if cached is not None:
            return cached
        data = finish(speech_program(sentences, engine, self.audio), self.audio, ".opus")
        return self._store(session, key, data)

    def _cached(self, session: Session, key: str) -> Asset | None:
        """An asset rendered before from the same input, if its file is still in the store."""
        cached = session.query(Asset).filter_by(render_key=key).one_or_none()
        return cached if cached is not None and self.store.path(cached.id).exists() else None

    def _store(self, session: Session, key: str, data: bytes) -> Asset:
        asset_id = self.store.put(data)
        asset = session.get(Asset, asset_id)
        if asset is None:
            asset = Asset(id=asset_id, codec="opus", size=len(data), duration_s=duration_of(data))
            session.add(asset)
        asset.render_key = key
        session.flush()
        logger.info("rendered %s (%.1f s)", asset_id[:12], asset.duration_s)
        return asset


@dataclass
class Preview:
    sentences: list[str]
    asset: Asset
    listening: ListeningCheck | None
    listening_problem: str | None
    voice: str
    voice_problem: str | None
    voice_label: str
    natural: bool
    """False: the robotic fallback voice reads it (hard to understand; a natural voice can be fetched)."""

    def as_json(self) -> dict[str, object]:
        return {"sentences": self.sentences, "asset_id": self.asset.id, "duration_s": round(self.asset.duration_s, 2),
                "voice": self.voice, "voice_problem": self.voice_problem, "voice_label": self.voice_label,
                "natural_voice": self.natural,
                "listening": self.listening.as_json() if self.listening else None,
                "listening_problem": self.listening_problem}
