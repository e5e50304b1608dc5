"""Fetching over HTTP(S) for CAP (feeds, alerts they link to, audio resources by URL): http and https only, a
timeout, a size limit, conditional requests. The standard library's client: no new dependency for one GET."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

TIMEOUT_S = 15.0
MAX_BYTES = 8 * 1024 * 1024
USER_AGENT = "loaxa-cap/1 (commune loudspeaker radio)"


class FetchError(Exception):
    """The address could not be fetched: a message that says why (for the feed's health, the import's answer)."""


@dataclass(frozen=True)
class Fetched:
    status: int
    """200, or 304 when a conditional request found nothing new."""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Fetch = Callable[[str, dict[str, str]], Fetched]
"""``fetch(url, extra_headers)``: what the import and the feed poller call (tests may pass their own)."""


class _NoRedirectToOtherSchemes(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, "redirect to a scheme other than http(s)", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_NoRedirectToOtherSchemes)


def fetch(url: str, headers: dict[str, str] | None = None, max_bytes: int = MAX_BYTES,
          timeout_s: float = TIMEOUT_S) -> Fetched:
    """GET ``url`` (http or https), at most ``max_bytes``; ``FetchError`` with the reason otherwise."""
    if not url.lower().startswith(("http://", "https://")) or len(url) > 2000 or any(c.isspace() for c in url):
        raise FetchError(f"not an http(s) address: {url[:100]!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(f"larger than {max_bytes // 1024} KiB")
            return Fetched(response.status, body, {k.lower(): v for k, v in response.headers.items()})
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(304, b"", {k.lower(): v for k, v in (exc.headers or {}).items()})
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot reach {url[:100]}: {reason}") from None


def default_fetch(url: str, headers: dict[str, str]) -> Fetched:
    return fetch(url, headers)
