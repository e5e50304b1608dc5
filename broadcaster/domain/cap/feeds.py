"""CAP feeds: an Atom or RSS index whose entries link to CAP alerts (as national warning services and the WMO
alert hubs publish them). Reading an index, and what the leading worker (broadcaster.delivery.feeds) asks of
the database: which feeds are due, which links are new, and the feed's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree
from sqlalchemy.orm import Session

from broadcaster.db import CapFeed, CapFeedEntry
from broadcaster.domain.cap.parse import parse_xml
from broadcaster.domain.errors import Refusal

ATOM = "{http://www.w3.org/2005/Atom}"
CAP_TYPES = ("application/cap+xml", "application/common-alerting-protocol+xml", "text/xml", "application/xml")
MAX_ENTRIES = 500


class FeedError(Exception):
    """The index cannot be read: said in the feed's health."""


@dataclass(frozen=True)
class Entry:
    key: str
    """Its link (what is fetched, and remembered once dealt with)."""
    title: str


def parse_index(payload: bytes) -> list[Entry]:
    """The entries of an Atom feed or an RSS 2.0 channel, newest as given, each with the link to its alert."""
    try:
        root = parse_xml(payload)
    except Refusal as exc:
        raise FeedError(exc.message) from None
    tag = etree.QName(root).localname
    if root.tag == f"{ATOM}feed":
        entries = [_atom_entry(e) for e in root.findall(f"{ATOM}entry")]
    elif tag == "rss":
        entries = [_rss_item(i) for i in root.findall("channel/item")]
    elif tag == "RDF":
        entries = [_rss_item(i) for i in root.iter() if isinstance(i.tag, str) and etree.QName(i).localname == "item"]
    else:
        raise FeedError(f"not an Atom or RSS feed: its root is <{tag}>")
    return [e for e in entries if e is not None][:MAX_ENTRIES]


def _atom_entry(entry: etree._Element) -> Entry | None:
    links = entry.findall(f"{ATOM}link")
    chosen = next((link for link in links if (link.get("type") or "").lower() in CAP_TYPES), None) or next(
        (link for link in links if (link.get("rel") or "alternate") == "alternate"), None)
    href = (chosen.get("href") or "").strip() if chosen is not None else ""
    title = (entry.findtext(f"{ATOM}title") or "").strip()
    return Entry(href[:500], title[:300]) if href else None


def _rss_item(item: etree._Element) -> Entry | None:
    def child(name: str) -> str:
        found = next((c for c in item if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
        return (found.text or "").strip() if found is not None else ""

    enclosure = next((c for c in item if isinstance(c.tag, str) and etree.QName(c).localname == "enclosure"), None)
    href = child("link") or (enclosure.get("url", "") if enclosure is not None else "") or child("guid")
    return Entry(href[:500], child("title")[:300]) if href.startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class FeedTask:
    id: int
    url: str
    etag: str | None
    last_modified: str | None
    created_by: int
    issuer_id: int | None


def due_feeds(session: Session, now: datetime) -> list[FeedTask]:
    """Active feeds whose time has come, each given its next time at once (another tick does not take it)."""
    due = []
    for feed in session.query(CapFeed).filter(CapFeed.active.is_(True)).order_by(CapFeed.id):
        if feed.next_poll_at is None or feed.next_poll_at <= now:
            feed.last_polled_at, feed.next_poll_at = now, now + timedelta(seconds=feed.poll_every_s)
            due.append(FeedTask(feed.id, feed.url, feed.etag, feed.last_modified, feed.created_by, feed.issuer_id))
    return due


def new_entries(session: Session, feed_id: int, entries: list[Entry]) -> list[Entry]:
    seen = {row.link for row in session.query(CapFeedEntry.link).filter_by(feed_id=feed_id)}
    fresh: dict[str, Entry] = {}
    for entry in entries:
        if entry.key not in seen:
            fresh.setdefault(entry.key, entry)
    return list(fresh.values())


def mark_entry(session: Session, feed_id: int, entry: Entry, outcome: str, now: datetime) -> None:
    session.merge(CapFeedEntry(feed_id=feed_id, link=entry.key, outcome=outcome[:300], seen_at=now))


def record_health(session: Session, feed_id: int, now: datetime, error: str | None = None,
                  entries: int | None = None, imported: int = 0, etag: str | None = None,
                  last_modified: str | None = None, not_modified: bool = False) -> None:
    """What the admin sees of a feed: its last success, its last error (cleared by a clean poll), how many
    entries its index had, how many alerts were taken from it."""
    feed = session.get(CapFeed, feed_id)
    if feed is None:
        return
    if error is not None:
        feed.last_error, feed.last_error_at = error[:2000], now
    if error is None or entries is not None:
        feed.last_success_at = now
    if error is None:
        feed.last_error = None
    if entries is not None:
        feed.entries_seen = entries
    feed.alerts_imported = (feed.alerts_imported or 0) + imported
    if not not_modified and (etag is not None or last_modified is not None):
        feed.etag, feed.last_modified = etag, last_modified
