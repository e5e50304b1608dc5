"""Fetching and verifying audio: the manifests and chunks of the assets this receiver still needs, over MQTT
(retained on the asset's topics, or following an alert on a group's topic) or over HTTP(S) from the manifest's
URL, written to the card chunk by chunk and handed on only once the whole file matches its signed hash.

The asset's own topics are read a few chunks at a time (``pacing``: a window of ``blob/{asset}/{seq}``
subscriptions, a couple of seconds of the link), so the broker never queues a whole file of older audio for this
receiver, and audio an emergency needs goes first. The server is asked again only for chunks that are missing:
those the broker showed it does not hold (a chunk subscribed later came first), or those that did not come in
twice the time the link needs for them, waiting twice as long after each ask that went unanswered."""

from __future__ import annotations

import http.client
import logging
import queue
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from edge_agent import __version__
from edge_agent.config import AgentConfig
from edge_agent.link import Link
from edge_agent.pacing import WINDOW_MIN, Backoff, LinkRate
from edge_agent.protocol import ChunkRequest, Manifest, Topics
from edge_agent.store import Store
from edge_agent.transfer import Download, TransferError

logger = logging.getLogger(__name__)

MAX_EARLY_CHUNKS = 256
"""Chunks kept in memory when they arrive before their manifest (retained messages come in any order)."""
HTTP_TIMEOUT_S = 20.0
"""An HTTP(S) download of audio that stalls this long gives way to asking for the chunks over MQTT."""


@dataclass
class Fetch:
    """An asset this device still needs."""

    asset: str
    download: Download | None = None
    early: dict[int, bytes] = field(default_factory=dict)
    backoff: Backoff = field(default_factory=lambda: Backoff(time.monotonic()))
    http: threading.Thread | None = None
    """Fetching the file from the manifest's URL, if it has one (once per asset)."""
    subscribed: bool = False
    """Reading the asset's own retained topics; not when its chunks come behind a group's alert (until that
    stalls)."""
    window: dict[int, int] = field(default_factory=dict)
    """The chunks subscribed to on the asset's own topics and not yet here, each with the order it was
    subscribed in (the broker sends retained chunks in that order)."""
    subscribed_count: int = 0
    waiting_since: float = field(default_factory=time.monotonic)
    """When the chunks now awaited were last subscribed to or asked for."""
    urgent: bool = False
    """An emergency needs it: other assets' windows wait until it is here."""
    stream_high: int | None = None
    """Following a group's alert: the highest chunk its stream brought (the asset's own topics are read only
    for the chunks the stream skipped, until it stalls; then None)."""
    ask_ahead: bool = False
    """The broker holds none of its chunks (the HTTP download failed): each chunk subscribed is asked for."""


class Fetcher:
    """The assets on their way to the card. Runs on the agent's work thread; the HTTP reader thread only
    puts chunks into the work thread's inbox."""

    def __init__(
        self,
        config: AgentConfig,
        store: Store,
        link: Link,
        topics: Topics,
        inbox: queue.Queue[tuple[str, bytes]],
        open_manifest: Callable[[str, bytes], Manifest | None],
        on_delivered: Callable[[str], None],
        on_failed: Callable[[str, str], None],
    ) -> None:
        self.config = config
        self.store = store
        self.link = link
        self.topics = topics
        self.inbox = inbox
        self.open_manifest = open_manifest
        """Verifies a manifest's signature for its topic: the manifest, or None (refused and reported)."""
        self.on_delivered = on_delivered
        """Called with an asset once its file is complete and matches its hash."""
        self.on_failed = on_failed
        """Called with an asset and the reason when it cannot be stored."""
        self.fetches: dict[str, Fetch] = {}
        self.rate = LinkRate()
        """The rate chunks have been reaching this receiver at."""
        self._probed: int | None = None
        """The connection (``link.generation``) the probe topic was last subscribed on."""

    def need(self, asset: str) -> None:
        """Make sure ``asset`` is on the card or on its way (from its retained topics)."""
        if self.store.has_asset(asset):
            self.on_delivered(asset)
        elif asset not in self.fetches:
            self.fetches[asset] = fetch = Fetch(asset, urgent=for_emergency(self.store, asset))
            self._subscribe(fetch)

    def follow(self, asset: str, manifest: Manifest) -> None:
        """Fetch ``asset`` from the chunks that follow an alert on a group's topic (its manifest came with it)."""
        if self.store.has_asset(asset) or asset in self.fetches:
            self.need(asset)
            return
        fetch = self.fetches[asset] = Fetch(asset, urgent=True, stream_high=-1)
        self._begin(fetch, manifest)

    def on_blob(self, asset: str, part: str, payload: bytes) -> None:
        """A manifest or chunk on the asset's own topics."""
        fetch = self.fetches.get(asset)
        if fetch is None or not payload:
            return
        if part == "manifest":
            self._on_manifest(fetch, payload)
        elif part.isdigit():
            self.on_chunk(asset, int(part), payload, own_topic=True)

    def on_chunk(self, asset: str, seq: int, data: bytes, own_topic: bool = False) -> None:
        """A chunk, on the asset's own topic or behind a group's alert (in the order it was published)."""
        fetch = self.fetches.get(asset)
        if fetch is None or not data:
            return
        now = time.monotonic()
        self.rate.arrived(len(data), now, fetch.waiting_since)
        if not own_topic and fetch.stream_high is not None:
            fetch.stream_high = max(fetch.stream_high, seq)
        order = fetch.window.get(seq)
        if fetch.download is None:
            if len(fetch.early) < MAX_EARLY_CHUNKS:
                fetch.early[seq] = data
            self._release(fetch, seq)
            fetch.backoff.progressed(now)
            self._top_up(fetch)
            return
        new = seq not in fetch.download.received
        try:
            accepted = fetch.download.accept(seq, data)
        except OSError as exc:
            self._storage_failed(fetch, exc)
            return
        if not accepted:  # a corrupt copy (the broker's retained one, most likely): have the server replace it
            if not fetch.backoff.recently_asked(seq, now, self.config.retry_s):
                self._request(fetch, [seq], now)
            return
        self._release(fetch, seq)
        if new:
            fetch.backoff.progressed(now)
        self._maybe_complete(fetch)
        if fetch.asset in self.fetches:
            self._gaps(fetch, seq, order if own_topic else None, now)
            self._top_up(fetch)

    def retry_stalled(self) -> None:
        """Ask again for what is not on its way (once every subscription is acknowledged, ``_probe``, and every
        message handled, a chunk of the window that has not come); until then ask nothing, however slow the link.
        The backoff times an alert's stream gone quiet and asks that went unanswered."""
        now = time.monotonic()
        if self.fetches and self._probed != self.link.generation and self.link.settled():
            self._probe()  # a new connection subscribed everything at once: its acknowledgement proves nothing
        drained = self.link.settled() and self.inbox.empty() and self._probed == self.link.generation
        for fetch in list(self.fetches.values()):
            download = fetch.download
            if fetch.http is not None and fetch.http.is_alive():
                continue  # the file is coming over HTTP (its failure asks at once)
            if drained and fetch.subscribed:
                if fetch.stream_high is not None:
                    fetch.stream_high = None  # what the alert's stream still lacks is not coming: read the rest
                    self._top_up(fetch)
                    continue
                absent = [-1] if download is None else [s for s in fetch.window if s not in download.received]
                absent = [s for s in absent if not fetch.backoff.recently_asked(s, now, self.config.retry_s)]
                if absent and self._needed(fetch):
                    logger.info("asset %s: the broker holds no %s; asking the server (%d unanswered before)",
                                fetch.asset[:12], f"chunks {absent}" if download else "manifest",
                                fetch.backoff.asks)
                    self._request(fetch, [] if download is None else absent, now)
                continue
            outstanding = 0 if download is None else \
                len(fetch.window if fetch.subscribed else download.missing()) * download.manifest.chunk_size
            if not fetch.backoff.due(now, self.config.retry_s, outstanding, self.rate):
                continue
            if not self._needed(fetch):
                continue
            if not fetch.subscribed:  # an alert's stream gone quiet: find out whether more of it is coming
                fetch.subscribed = True
                self.link.subscribe(self.topics.manifest(fetch.asset))
                self._probe()
            fetch.backoff.waited(now)

    def _probe(self) -> None:
        """Subscribe (again) to the topic nothing is published on. The broker acknowledges a subscription before
        sending its retained message, and each after the retained messages of those before: once this one is
        acknowledged, every chunk subscribed to before it that has not come is not on the broker."""
        self._probed = self.link.generation
        self.link.subscribe(self.topics.probe(self.config.device_id))

    def _needed(self, fetch: Fetch) -> bool:
        """Whether an entry waiting needs the asset; if none (all missed or failed), stop fetching it (a partial
        file resumes from its bitmap if the asset is scheduled again)."""
        if any(local.entry.asset == fetch.asset for local in self.store.waiting()):
            return True
        self._forget(fetch)
        return False

    # one asset -------------------------------------------------------------------------------------

    def _subscribe(self, fetch: Fetch) -> None:
        """Read the asset's own topics: its manifest, and a window of the chunks still missing."""
        if not fetch.subscribed:
            fetch.subscribed = True
            self.link.subscribe(self.topics.manifest(fetch.asset))
            if not self._top_up(fetch):
                self._probe()
            return
        self._top_up(fetch)

    def _top_up(self, fetch: Fetch) -> bool:
        """Subscribe to the next missing chunks, up to the window the link's rate allows; none while an
        emergency's audio is on its way and this is not it."""
        if not fetch.subscribed or (not fetch.urgent and any(f.urgent for f in self.fetches.values())):
            return False
        download = fetch.download
        if download is None:  # before the manifest: the first chunks (they come in any order)
            size, candidates = WINDOW_MIN, (s for s in range(WINDOW_MIN) if s not in fetch.early)
        else:
            size = self.rate.window(download.manifest.chunk_size)
            stream = fetch.stream_high
            candidates = (s for s in download.missing() if stream is None or s < stream)
        added = []
        for seq in candidates:
            if len(fetch.window) >= size:
                break
            if seq not in fetch.window:
                fetch.subscribed_count += 1
                fetch.window[seq] = fetch.subscribed_count
                self.link.subscribe(self.topics.chunk(fetch.asset, seq))
                added.append(seq)
        if added:
            self._probe()
            fetch.waiting_since = time.monotonic()
            if fetch.ask_ahead:
                self._request(fetch, added, fetch.waiting_since)
        return bool(added)

    def _release(self, fetch: Fetch, seq: int) -> None:
        if fetch.window.pop(seq, None) is not None:
            self.link.unsubscribe(self.topics.chunk(fetch.asset, seq))

    def _gaps(self, fetch: Fetch, seq: int, order: int | None, now: float) -> None:
        """Chunk ``seq`` came: any chunk before it in the same stream that has not come is not on its way. On
        the asset's own topics (``order``: when ``seq`` was subscribed), the broker holds no copy of those
        subscribed earlier: ask for them. Behind an alert, subscribe to those missing (their retained copies)."""
        assert fetch.download is not None
        received = fetch.download.received
        if order is None:
            if not fetch.subscribed and any(s not in received for s in range(seq)):
                fetch.subscribed = True
                self.link.subscribe(self.topics.manifest(fetch.asset))
                self._probe()
            return
        gaps = [s for s, o in fetch.window.items() if o < order and s not in received
                and not fetch.backoff.recently_asked(s, now, self.config.retry_s)]
        if gaps:
            logger.info("asset %s: the broker holds no chunks %s; asking for them", fetch.asset[:12], gaps)
            self._request(fetch, sorted(gaps), now)

    def _forget(self, fetch: Fetch) -> None:
        if fetch.subscribed:
            self.link.unsubscribe(self.topics.manifest(fetch.asset))
        for seq in fetch.window:
            self.link.unsubscribe(self.topics.chunk(fetch.asset, seq))
        fetch.window.clear()
        del self.fetches[fetch.asset]
        if fetch.urgent:  # the others' windows move again
            for other in list(self.fetches.values()):
                self._top_up(other)

    def _on_manifest(self, fetch: Fetch, payload: bytes) -> None:
        manifest = self.open_manifest(self.topics.manifest(fetch.asset), payload)
        if manifest is None or manifest.asset != fetch.asset or fetch.download is not None:
            return
        self._begin(fetch, manifest)

    def _begin(self, fetch: Fetch, manifest: Manifest) -> None:
        """Start writing the asset ``manifest`` describes (chunks that came early go in first)."""
        if not self._make_room(manifest.size):
            self.on_failed(fetch.asset, f"cache full: {manifest.size} bytes do not fit in cache_max_mb = "
                                         f"{self.config.cache_max_mb:g} beside the audio still to play")
            return
        try:
            fetch.download = Download(self.store.partial, manifest)
            fetch.backoff.progressed(time.monotonic())
            for seq, data in sorted(fetch.early.items()):
                fetch.download.accept(seq, data)
        except OSError as exc:
            self._storage_failed(fetch, exc)
            return
        fetch.early.clear()
        if manifest.url and fetch.subscribed and fetch.http is None and not fetch.download.complete():
            # (Not behind an alert: its chunks follow it at once over the group's subscription.)
            fetch.http = threading.Thread(target=fetch_over_http, args=(self, fetch, manifest),
                                          name=f"http-{fetch.asset[:8]}", daemon=True)
            fetch.http.start()
        self._maybe_complete(fetch)
        if fetch.asset in self.fetches:
            self._top_up(fetch)

    def _make_room(self, size: int) -> bool:
        """Evict cached audio no waiting entry needs (played, expired: oldest first) until ``size`` more bytes
        fit under cache_max_mb; False if they cannot."""
        limit = int(self.config.cache_max_mb * 1024 * 1024)
        needed = {local.entry.asset for local in self.store.waiting()}
        return self.store.evict(keep=needed, room_for=size, limit=limit)

    def _storage_failed(self, fetch: Fetch, exc: OSError) -> None:
        """The disk refused a write (full, failing): free what is not needed; if that is not enough, report the
        entries failed with the reason instead of retrying forever."""
        needed = {local.entry.asset for local in self.store.waiting()}
        freed = self.store.evict(keep=needed, room_for=0, limit=0)
        if fetch.download is not None:
            fetch.download.discard()
            fetch.download = None
        if freed:
            logger.warning("disk refused audio (%s); freed old audio, fetching %s again", exc.strerror,
                           fetch.asset[:12])
            self._request(fetch, [], time.monotonic())
            return
        self.on_failed(fetch.asset, f"cannot store audio: {exc.strerror or exc}")

    def _maybe_complete(self, fetch: Fetch) -> None:
        download = fetch.download
        if download is None or not download.complete():
            return
        try:
            download.finalize(self.store.asset_path(fetch.asset))
        except TransferError as exc:
            logger.error("%s; fetching again", exc)
            fetch.download = None
            self._request(fetch, [], time.monotonic())
            return
        except OSError as exc:
            self.on_failed(fetch.asset, f"cannot store audio: {exc.strerror}")
            return
        self._forget(fetch)
        logger.info("asset %s complete (%d bytes)", fetch.asset[:12], download.manifest.size)
        self.on_delivered(fetch.asset)

    def _request(self, fetch: Fetch, seqs: list[int], now: float) -> None:
        """Ask the server for chunks again (``seqs``, or the manifest and everything): they come on the asset's
        own topics, to the window subscribed to them. The next ask waits longer unless something comes."""
        if fetch.asset not in self.fetches:
            return
        self._subscribe(fetch)
        fetch.backoff.asking(now, seqs or [-1])
        fetch.waiting_since = now
        self.link.publish(self.topics.request(self.config.device_id), ChunkRequest(fetch.asset, seqs).to_bytes())


def fetch_over_http(fetcher: Fetcher, fetch: Fetch, manifest: Manifest) -> None:
    """Read the file from the manifest's URL, from the first missing chunk on, and hand each chunk to the
    work thread as if it had come over MQTT: the same hash checks, the same bitmap on disk. On any failure
    the work thread asks for the missing chunks over MQTT at once."""
    assert fetch.download is not None
    missing = fetch.download.missing()
    if not missing or manifest.url is None:
        return
    first = missing[0]
    request = urllib.request.Request(manifest.url, headers={
        "Range": f"bytes={first * manifest.chunk_size}-", "User-Agent": f"loaxa-edge/{__version__}"})
    got = 0
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S, context=_tls(fetcher.config)) as answer:
            seq = first if answer.status == 206 else 0  # a server that ignores ranges sends it all
            while data := answer.read(manifest.chunk_size):
                fetcher.inbox.put((fetcher.topics.chunk(manifest.asset, seq), data))
                seq, got = seq + 1, got + len(data)
        logger.info("asset %s: %d bytes over HTTP", manifest.asset[:12], got)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        logger.warning("asset %s over HTTP failed after %d bytes (%s): asking over MQTT", manifest.asset[:12],
                       got, exc)
        fetch.ask_ahead = True  # the broker holds no chunks: each one subscribed is asked for
        fetch.backoff.progress_at = 0.0  # the work thread's next look at stalled downloads asks at once

def _tls(config: AgentConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.mqtt.ca_file:  # a deployment's own CA signs its web server too, as often as its broker
        context.load_verify_locations(config.mqtt.ca_file)
    return context


def for_emergency(store: Store, asset: str) -> bool:
    """Whether an emergency waiting on this receiver needs ``asset``."""
    return any(local.entry.asset == asset and local.entry.priority == "emergency" for local in store.waiting())
