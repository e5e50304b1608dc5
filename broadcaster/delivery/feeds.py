"""The leader's feed poll: every subscribed CAP feed in its turn, with a conditional request (ETag,
If-Modified-Since); each new entry's alert fetched and imported under its issuer's policy, in a transaction of
its own, as the admin who subscribed; the feed's health written whatever happened. The network is never
waited on inside a database transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import User, utcnow
from broadcaster.domain.access import Denied
from broadcaster.domain.cap.feeds import (
    Entry,
    FeedError,
    FeedTask,
    due_feeds,
    mark_entry,
    new_entries,
    parse_index,
    record_health,
)
from broadcaster.domain.cap.http import Fetch, FetchError, default_fetch
from broadcaster.domain.cap.importer import ImportSettings, import_cap
from broadcaster.domain.errors import Refusal

logger = logging.getLogger(__name__)


def poll_feeds(config: ServerConfig, db: Database, now: datetime | None = None, fetch: Fetch = default_fetch) -> int:
    """Poll the feeds that are due; how many alerts were taken."""
    now = now or utcnow()
    with db.session() as session:
        tasks = due_feeds(session, now)
    return sum(poll_feed(config, db, task, now, fetch) for task in tasks)


def poll_feed(config: ServerConfig, db: Database, task: FeedTask, now: datetime, fetch: Fetch) -> int:
    headers = {k: v for k, v in (("If-None-Match", task.etag), ("If-Modified-Since", task.last_modified)) if v}
    try:
        fetched = fetch(task.url, headers)
        entries = [] if fetched.status == 304 else parse_index(fetched.body)
    except (FetchError, FeedError) as exc:
        logger.warning("CAP feed %s: %s", task.url, exc)
        with db.session() as session:
            record_health(session, task.id, now, error=str(exc))
        return 0
    if fetched.status == 304:
        with db.session() as session:
            record_health(session, task.id, now, not_modified=True)
        return 0
    with db.session() as session:
        fresh = new_entries(session, task.id, entries)
    imported, problems = 0, []
    for entry in fresh:
        try:
            taken, problem = _take(config, db, task, entry, now, fetch)
        except Exception:  # one bad entry must not stop the feed, nor the leader's other jobs
            logger.exception("CAP feed %s: entry %s", task.url, entry.key)
            taken, problem = 0, f"{entry.key[:120]}: internal error (see the worker's log)"
        imported += taken
        if problem:
            problems.append(problem)
    error = None
    if problems:
        error = f"{len(problems)} of {len(fresh)} new entries not taken: " + "; ".join(problems[:5])
    with db.session() as session:
        record_health(session, task.id, now, error=error, entries=len(entries), imported=imported,
                      etag=fetched.headers.get("etag"), last_modified=fetched.headers.get("last-modified"))
    return imported


def _take(config: ServerConfig, db: Database, task: FeedTask, entry: Entry, now: datetime, fetch: Fetch
          ) -> tuple[int, str | None]:
    """Fetch and import one entry's alert. A refusal is remembered (the entry is not fetched again); a network
    failure is not, so the next poll tries again."""
    try:
        payload = fetch(entry.key, {}).body
    except FetchError as exc:
        if "HTTP 4" in str(exc):
            with db.session() as session:
                mark_entry(session, task.id, entry, f"not fetched: {exc}", now)
        return 0, f"{entry.key[:120]}: {exc}"
    settings = ImportSettings(grace_s=config.grace_s, timezone=config.timezone,
                              uploads=AssetStore(config.upload_dir, suffix=""),
                              max_recording_s=config.speech.max_recording_s, fetch=fetch, now=now,
                              feed_id=task.id, issuer_id=task.issuer_id)
    try:
        with db.session() as session:
            user = session.get(User, task.created_by)
            if user is None:
                raise Refusal("no_user", "the admin who subscribed this feed no longer exists")
            result = import_cap(session, user, payload, settings)
            mark_entry(session, task.id, entry, f"{result.outcome}: {result.reason}", now)
    except (Refusal, Denied) as exc:
        with db.session() as session:
            mark_entry(session, task.id, entry, f"refused: {exc.code}: {exc.message}", now)
        return 0, None if isinstance(exc, Refusal) and exc.code in QUIET else f"{entry.key[:120]}: {exc.message}"
    return (0 if result.reason == "duplicate" else 1), None


QUIET = ("no_matching_area",)
"""Refusals that are normal for a feed (an alert for places we have no loudspeakers in): remembered with the
entry, not reported as the feed's error."""
