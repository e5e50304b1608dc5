"""Webhooks: the message as JSON, POSTed to the subscriber's URL, signed so that the receiver can tell it came
from this server and is fresh.

The header ``X-Loaxa-Signature: t=<unix seconds>,v1=<hex>`` carries the HMAC-SHA256, keyed with the shared
secret, of ``<t>.`` followed by the exact bytes of the body (docs/operations.md, "Notifications")."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from broadcaster.config import WebhookSettings
from broadcaster.notify.base import Outgoing, SendError

SIGNATURE_HEADER = "X-Loaxa-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Webhook:
    one_endpoint = False

    def __init__(self, settings: WebhookSettings, secret: str | None) -> None:
        self.settings = settings
        self._secret = secret or ""

    def send(self, message: Outgoing) -> None:
        body = json.dumps({**message.data, "id": message.id, "title": message.title, "text": message.body},
                          ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(message.address, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "loa-xa-broadcaster",
            SIGNATURE_HEADER: signature(self._secret, int(time.time()), body),
            "X-Loaxa-Event": str(message.data.get("event", "alarm")), "X-Loaxa-Delivery": str(message.id)})
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as answer:
                answer.read(65536)
        except urllib.error.HTTPError as exc:
            retry = exc.headers.get("Retry-After", "") if exc.headers else ""
            raise SendError(f"HTTP {exc.code} from {_origin(message.address)}",
                            float(retry) if retry.isdigit() else None) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            described = f"{reason.__class__.__name__}: {reason}" if isinstance(reason, Exception) else str(reason)
            raise SendError(f"{_origin(message.address)}: {described}") from None
        except (OSError, ValueError) as exc:
            raise SendError(f"{_origin(message.address)}: {exc.__class__.__name__}: {exc}") from None


def _origin(url: str) -> str:
    """The URL without its path and query, which may hold a receiver's own secret."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
