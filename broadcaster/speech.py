"""From bulletin text to a stored, broadcast-ready asset; the same input is never synthesized twice."""

from __future__ import annotations

import hashlib
import json
import logging

from sqlalchemy.orm import Session

from broadcaster.assets import AssetStore
from broadcaster.audio import VOICES, AudioSettings, duration_of, finish, speech_program
from broadcaster.config import SpeechSettings
from broadcaster.db import Asset
from broadcaster.normalize import NORTH, SOUTH, Normalizer

logger = logging.getLogger(__name__)


class Speech:
    def __init__(self, settings: SpeechSettings, store: AssetStore) -> None:
        self.settings = settings
        self.store = store
        self.voice = VOICES[settings.voice]
        self.audio = AudioSettings(
            loudness_lufs=settings.loudness_lufs, bitrate_kbps=settings.bitrate_kbps, chime=settings.chime
        )
        self.normalizer = Normalizer(SOUTH if settings.dialect == "south" else NORTH)

    def render_key(self, sentences: list[str]) -> str:
        blob = json.dumps([sentences, self.voice.__dict__, self.audio.key()], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def render(self, session: Session, text: str) -> Asset:
        """The asset for ``text``: from the cache when this text, voice and settings were rendered before."""
        sentences = self.normalizer.sentences(text)
        key = self.render_key(sentences)
        cached = session.query(Asset).filter_by(render_key=key).one_or_none()
        if cached is not None and self.store.path(cached.id).exists():
            return cached
        data = finish(speech_program(sentences, self.voice, self.audio), self.audio, ".opus")
        asset_id = self.store.put(data)
        asset = session.get(Asset, asset_id)
        if asset is None:
            asset = Asset(id=asset_id, codec="opus", size=len(data), duration_s=duration_of(data))
            session.add(asset)
        asset.render_key = key
        session.flush()
        logger.info("rendered %d sentences into %s (%.1f s)", len(sentences), asset_id[:12], asset.duration_s)
        return asset
