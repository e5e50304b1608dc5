"""Bulletins: written, submitted, sent back, approved; recordings; the commune's dictionary of readings."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.assets import AssetStore
from broadcaster.db import (
    Bulletin,
    LexiconEntry,
    Recording,
    User,
    utcnow,
)
from broadcaster.domain.access import audit, home_area, require, scope_of
from broadcaster.domain.airtime import spoken_s
from broadcaster.domain.errors import Refusal, text_field
from broadcaster.domain.fleet import owned_area
from broadcaster.domain.lifecycle import BULLETIN_STATES
from broadcaster.domain.voices import speed_field, voice_field
from broadcaster.speech.audio import AudioError, load_recording

MAX_TITLE = 200


MAX_TEXT = 20_000


def spoken_text(data: dict[str, Any], max_spoken_s: float | None = None, speed: float | None = None) -> str:
    """The text to read, refused when it has nothing to say or (with ``max_spoken_s``) takes longer than that to
    read aloud: a 37-minute reading scheduled without a word is worse than a refusal that says to split it."""
    text = text_field(data, "text", MAX_TEXT)
    if not any(ch.isalnum() for ch in text):
        raise Refusal("nothing_to_say", "'text' has no letters or digits to read aloud", field="text")
    if max_spoken_s is not None:
        seconds = spoken_s(text, speed)
        if seconds > max_spoken_s:
            raise Refusal("too_long_to_read", f"'text' takes about {seconds / 60:.0f} min to read; the most is "
                          f"{max_spoken_s / 60:g} min: split it into several bulletins", field="text",
                          details=[{"spoken_s": round(seconds), "max_spoken_s": max_spoken_s}])
    return text


def create_bulletin(session: Session, user: User, data: dict[str, Any], voices: Collection[str] = (),
                    max_spoken_s: float | None = None) -> Bulletin:
    """A draft (or, with ``"submit": true``, submitted for approval at once), optionally with its ``voice`` (one
    of ``voices``) and reading ``speed``; with ``max_spoken_s``, no longer than that to read aloud."""
    require(user, "write")
    title = text_field(data, "title", MAX_TITLE)
    speed = speed_field(data)
    text = spoken_text(data, max_spoken_s, speed)
    now = utcnow()
    bulletin = Bulletin(title=title, text=text, state="draft", created_by=user.id, created_at=now,
                        area_id=owned_area(session, user, data.get("area_id")), voice=voice_field(data, voices),
                        speed=speed)
    if data.get("submit") is True:
        bulletin.state, bulletin.submitted_at = "submitted", now
    session.add(bulletin)
    session.flush()
    audit(session, user, "bulletin.create", f"bulletin {bulletin.id}", title)
    return bulletin


def visible_bulletin(session: Session, user: User, bulletin_id: int) -> Bulletin:
    """The bulletin if it exists in the user's scope; 404 otherwise (never say what exists elsewhere)."""
    require(user, "view")
    bulletin = session.get(Bulletin, bulletin_id)
    scope = scope_of(session, user)
    if bulletin is None or not (scope.everywhere or scope.has_area(bulletin.area_id)):
        raise Refusal("not_found", f"bulletin {bulletin_id} does not exist", status=404)
    return bulletin


def list_bulletins(session: Session, user: User, state: str | None = None, limit: int = 100) -> list[Bulletin]:
    require(user, "view")
    scope = scope_of(session, user)
    query = session.query(Bulletin).order_by(Bulletin.id.desc())
    if state is not None:
        if state not in BULLETIN_STATES:
            raise Refusal("invalid_state", f"'state' must be one of {', '.join(BULLETIN_STATES)}", field="state")
        query = query.filter(Bulletin.state == state)
    if not scope.everywhere:
        query = query.filter(Bulletin.area_id.in_(scope.areas))
    return query.limit(limit).all()


def update_bulletin(session: Session, user: User, bulletin_id: int, data: dict[str, Any],
                    voices: Collection[str] = (), max_spoken_s: float | None = None) -> Bulletin:
    """Change the title, text, voice or speed. Approved content that changes goes back for approval: only what
    an approver read (and heard) airs."""
    require(user, "write")
    bulletin = visible_bulletin(session, user, bulletin_id)
    changed = []
    if "title" in data:
        bulletin.title = text_field(data, "title", MAX_TITLE)
        changed.append("title")
    if "text" in data:
        if bulletin.recording is not None:
            raise Refusal("not_text", "a recording's audio cannot be edited as text; upload a new one",
                          field="text")
        bulletin.text = spoken_text(data, max_spoken_s, speed_field(data) if "speed" in data else bulletin.speed)
        changed.append("text")
    reading = [name for name in ("voice", "speed") if name in data]
    if reading and bulletin.recording is not None:
        raise Refusal("not_text", "a recording is heard as it was recorded; it has no voice or speed",
                      field=reading[0])
    if "voice" in data:
        bulletin.voice = voice_field(data, voices)
    if "speed" in data:
        bulletin.speed = speed_field(data)
    changed += reading
    if not changed:
        raise Refusal("missing_field", "send 'title', 'text', 'voice' or 'speed' to change")
    bulletin.updated_at = utcnow()
    if bulletin.state == "approved":
        bulletin.state, bulletin.submitted_at = "submitted", bulletin.updated_at
        bulletin.approved_by, bulletin.approved_at = None, None
    audit(session, user, "bulletin.edit", f"bulletin {bulletin.id}", ", ".join(changed))
    return bulletin


def submit_bulletin(session: Session, user: User, bulletin_id: int) -> Bulletin:
    require(user, "write")
    bulletin = visible_bulletin(session, user, bulletin_id)
    if bulletin.state not in ("draft", "rejected"):
        raise Refusal("bad_state", f"bulletin {bulletin_id} is {bulletin.state}; only a draft or a rejected "
                                   "bulletin can be submitted", status=409)
    bulletin.state, bulletin.submitted_at = "submitted", utcnow()
    audit(session, user, "bulletin.submit", f"bulletin {bulletin.id}")
    return bulletin


def reject_bulletin(session: Session, user: User, bulletin_id: int, comment: Any) -> Bulletin:
    """Send it back to its writer with a comment saying what to change."""
    require(user, "approve")
    bulletin = visible_bulletin(session, user, bulletin_id)
    reason = text_field({"comment": comment}, "comment", 2000)
    if bulletin.state not in ("draft", "submitted"):
        raise Refusal("bad_state", f"bulletin {bulletin_id} is {bulletin.state}; only one awaiting approval can "
                                   "be rejected", status=409)
    bulletin.state, bulletin.review_comment = "rejected", reason
    audit(session, user, "bulletin.reject", f"bulletin {bulletin.id}", reason)
    return bulletin


LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def create_recording_bulletin(session: Session, user: User, title: Any, language: Any, filename: str,
                              data: bytes, uploads: AssetStore, max_seconds: float) -> Bulletin:
    """A bulletin that airs an uploaded recording, in any language (e.g. Hmông, Tày, Khmer)."""
    require(user, "write")
    title = text_field({"title": title}, "title", MAX_TITLE)
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise Refusal("invalid_language", "'language' must be a language code such as vi, hmn, tay or km",
                      field="language")
    try:
        segment = load_recording(data, max_seconds)
    except AudioError as exc:
        raise Refusal(exc.code, str(exc), field="audio") from None
    bulletin = Bulletin(title=title, text="", state="draft", created_by=user.id, area_id=home_area(user))
    session.add(bulletin)
    session.flush()
    audit(session, user, "bulletin.create", f"bulletin {bulletin.id}", f"recording in {language}: {title}")
    session.add(Recording(bulletin_id=bulletin.id, language=language, source_sha256=uploads.put(data),
                          filename=filename[:200], duration_s=round(len(segment) / 1000, 2)))
    session.flush()
    session.refresh(bulletin)
    return bulletin


def lexicon(session: Session) -> dict[str, str]:
    """The commune's words, as the normalizer takes them."""
    return {e.word: e.reading for e in session.query(LexiconEntry)}


def add_lexicon_entry(session: Session, user: User, data: dict[str, Any]) -> LexiconEntry:
    require(user, "write")
    word = text_field(data, "word", 80)
    reading = text_field(data, "reading", 300)
    if re.search(r"\d", reading) or not re.search(r"\w", reading):
        raise Refusal("invalid_reading", "'reading' must be words as they are spoken, without digits",
                      field="reading")
    if session.query(LexiconEntry).filter_by(word=word).one_or_none() is not None:
        raise Refusal("duplicate_word", f"'{word}' is already in the dictionary", status=409, field="word")
    entry = LexiconEntry(word=word, reading=reading, created_by=user.id)
    session.add(entry)
    session.flush()
    audit(session, user, "lexicon.add", word, reading)
    return entry


def choose_reading(session: Session, user: User, data: dict[str, Any]) -> LexiconEntry:
    """The officer settled how a word is read (a mark of the preview): the commune dictionary gets the word,
    or its reading changes if it was there."""
    entry = session.query(LexiconEntry).filter_by(word=text_field(data, "word", 80)).one_or_none()
    if entry is None:
        return add_lexicon_entry(session, user, data)
    require(user, "write")
    reading = text_field(data, "reading", 300)
    if re.search(r"\d", reading) or not re.search(r"\w", reading):
        raise Refusal("invalid_reading", "'reading' must be words as they are spoken, without digits",
                      field="reading")
    entry.reading = reading
    audit(session, user, "lexicon.change", entry.word, reading)
    return entry


def delete_lexicon_entry(session: Session, user: User, entry_id: int) -> None:
    require(user, "write")
    entry = session.get(LexiconEntry, entry_id)
    if entry is None:
        raise Refusal("not_found", f"dictionary entry {entry_id} does not exist", status=404)
    audit(session, user, "lexicon.delete", entry.word, entry.reading)
    session.delete(entry)


def approve_bulletin(session: Session, user: User, bulletin_id: int, comment: Any = None) -> Bulletin:
    """An approver (not its writer, unless an admin) lets it air."""
    require(user, "approve")
    bulletin = visible_bulletin(session, user, bulletin_id)
    if bulletin.state == "approved":
        return bulletin
    if bulletin.state not in ("draft", "submitted"):
        raise Refusal("bad_state", f"bulletin {bulletin_id} is {bulletin.state}; it must be submitted again",
                      status=409)
    if bulletin.created_by == user.id and not user.is_admin:
        raise Refusal("own_bulletin", "another approver must approve what you wrote yourself", status=403)
    bulletin.state, bulletin.approved_by, bulletin.approved_at = "approved", user.id, utcnow()
    bulletin.review_comment = comment.strip()[:2000] if isinstance(comment, str) and comment.strip() else None
    audit(session, user, "bulletin.approve", f"bulletin {bulletin.id}", bulletin.title)
    return bulletin
