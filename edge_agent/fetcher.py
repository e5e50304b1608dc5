"""Fetching and verifying audio: the manifests and chunks of the assets this receiver still needs, over MQTT
(retained on the asset's topics, or following an alert on a group's topic) or over HTTP(S) from the manifest's
URL, written to the card chunk by chunk and handed on only once the whole file matches its signed hash."""

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
    progress_at: float = field(default_factory=time.monotonic)
    http: threading.Thread | None = None
    """Fetching the file from the manifest's URL, if it has one (once per asset)."""
    subscribed: bool = False
    """Subscribed to the asset's retained chunks; not when they come behind a group's alert (until it stalls)."""


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

    def need(self, asset: str) -> None:
        """Make sure ``asset`` is on the card or on its way (from its retained topics)."""
        if self.store.has_asset(asset):
            self.on_delivered(asset)
        elif asset not in self.fetches:
            self.fetches[asset] = fetch = Fetch(asset)
            self._subscribe(fetch)

    def follow(self, asset: str, manifest: Manifest) -> None:
        """Fetch ``asset`` from the chunks that follow an alert on a group's topic (its manifest came with it)."""
        if self.store.has_asset(asset) or asset in self.fetches:
            self.need(asset)
            return
        fetch = self.fetches[asset] = Fetch(asset)
        self._begin(fetch, manifest)

    def on_blob(self, asset: str, part: str, payload: bytes) -> None:
        """A manifest or chunk on the asset's own topics."""
        fetch = self.fetches.get(asset)
        if fetch is None or not payload:
            return
        if part == "manifest":
            self._on_manifest(fetch, payload)
        elif part.isdigit():
            self.on_chunk(asset, int(part), payload)

    def on_chunk(self, asset: str, seq: int, data: bytes) -> None:
        fetch = self.fetches.get(asset)
        if fetch is None or not data:
            return
        if fetch.download is None:
            if len(fetch.early) < MAX_EARLY_CHUNKS:
                fetch.early[seq] = data
            return
        try:
            accepted = fetch.download.accept(seq, data)
        except OSError as exc:
            self._storage_failed(fetch, exc)
            return
        if accepted:
            fetch.progress_at = time.monotonic()
            self._maybe_complete(fetch)

    def retry_stalled(self) -> None:
        """Ask again for what has not moved for ``retry_s``; forget assets nothing waiting needs any more."""
        now = time.monotonic()
        for fetch in list(self.fetches.values()):
            if now - fetch.progress_at < self.config.retry_s:
                continue
            if not any(local.entry.asset == fetch.asset for local in self.store.waiting()):
                # Every entry that needed it was missed or failed: stop asking (a partial file resumes
                # from its bitmap if the asset is scheduled again).
                self._forget(fetch)
                continue
            missing = fetch.download.missing() if fetch.download else []
            logger.info("asking again for %s (%s)", fetch.asset[:12],
                        f"chunks {missing}" if missing else "manifest and all chunks")
            self._request(fetch, missing)
            fetch.progress_at = now

    # one asset -------------------------------------------------------------------------------------

    def _subscribe(self, fetch: Fetch) -> None:
        if not fetch.subscribed:
            fetch.subscribed = True
            self.link.subscribe(self.topics.blob_all(fetch.asset))

    def _forget(self, fetch: Fetch) -> None:
        if fetch.subscribed:
            self.link.unsubscribe(self.topics.blob_all(fetch.asset))
        del self.fetches[fetch.asset]

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
            fetch.progress_at = time.monotonic()
            for seq, data in sorted(fetch.early.items()):
                fetch.download.accept(seq, data)
        except OSError as exc:
            self._storage_failed(fetch, exc)
            return
        fetch.early.clear()
        if manifest.url and fetch.subscribed and fetch.http is None and not fetch.download.complete():
            # (Not behind an alert: its chunks follow it at once over the group's subscription.)
            fetch.http = threading.Thread(target=self._fetch_over_http, args=(fetch, manifest),
                                          name=f"http-{fetch.asset[:8]}", daemon=True)
            fetch.http.start()
        self._maybe_complete(fetch)

    def _fetch_over_http(self, fetch: Fetch, manifest: Manifest) -> None:
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
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S, context=self._tls()) as answer:
                seq = first if answer.status == 206 else 0  # a server that ignores ranges sends it all
                while data := answer.read(manifest.chunk_size):
                    self.inbox.put((self.topics.chunk(manifest.asset, seq), data))
                    seq, got = seq + 1, got + len(data)
            logger.info("asset %s: %d bytes over HTTP", manifest.asset[:12], got)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.warning("asset %s over HTTP failed after %d bytes (%s): asking over MQTT", manifest.asset[:12],
                           got, exc)
            fetch.progress_at = 0.0  # the work thread's next look at stalled downloads asks at once

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.mqtt.ca_file:  # a deployment's own CA signs its web server too, as often as its broker
            context.load_verify_locations(self.config.mqtt.ca_file)
        return context

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
            self._request(fetch, [])
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
            self._request(fetch, [])
            return
        except OSError as exc:
            self.on_failed(fetch.asset, f"cannot store audio: {exc.strerror}")
            return
        self._forget(fetch)
        logger.info("asset %s complete (%d bytes)", fetch.asset[:12], download.manifest.size)
        self.on_delivered(fetch.asset)

    def _request(self, fetch: Fetch, seqs: list[int]) -> None:
        """Ask the server for chunks again (``seqs``, or everything): they come on the asset's own topics."""
        self._subscribe(fetch)
        self.link.publish(self.topics.request(self.config.device_id), ChunkRequest(fetch.asset, seqs).to_bytes())
