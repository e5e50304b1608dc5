"""Transcripts of recordings (uploaded, or kept from a live session): the leader asks the offline recognizer
(the ``asr`` extra) what it hears in each, one at a time, so reports can show what was said."""

from __future__ import annotations

import logging

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Recording
from broadcaster.speech.listening import Listener, ListenerUnavailable, transcribe_long

logger = logging.getLogger(__name__)


def transcribe_next(config: ServerConfig, db: Database) -> bool:
    """Transcribe one recording that has no transcript yet; False when there was none (or no recognizer)."""
    if Listener.problem() is not None:
        return False
    with db.session() as session:
        recording = session.query(Recording).filter(Recording.transcript.is_(None)).order_by(
            Recording.bulletin_id).first()
        if recording is None:
            return False
        bulletin_id, source = recording.bulletin_id, recording.source_sha256
    try:
        text = transcribe_long(AssetStore(config.upload_dir, suffix="").read(source))
    except (ListenerUnavailable, OSError) as exc:
        logger.error("recording of bulletin %d cannot be transcribed: %s", bulletin_id, exc)
        text = ""  # tried: not tried again
    with db.session() as session:
        row = session.get(Recording, bulletin_id)
        if row is not None:
            row.transcript = text
    logger.info("recording of bulletin %d transcribed (%d words)", bulletin_id, len(text.split()))
    return True
