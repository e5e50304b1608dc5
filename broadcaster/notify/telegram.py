"""A Telegram bot: ``POST <api_url>/bot<token>/sendMessage`` with ``chat_id`` and ``text`` (the Bot API,
https://core.telegram.org/bots/api#sendmessage). A 429 answer's ``parameters.retry_after`` is honoured: the
channel sends nothing more until then."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from broadcaster.config import TelegramSettings
from broadcaster.notify.base import Outgoing, SendError

MAX_TEXT = 4096
"""The Bot API's limit on a message's text."""


class Telegram:
    one_endpoint = True

    def __init__(self, settings: TelegramSettings, token: str | None) -> None:
        self.settings = settings
        self._token = token or ""

    def send(self, message: Outgoing) -> None:
        text = f"{message.title}\n\n{message.body}"[:MAX_TEXT]
        body = json.dumps({"chat_id": message.address, "text": text, "disable_web_page_preview": True},
                          ensure_ascii=False).encode("utf-8")
        url = f"{self.settings.api_url.rstrip('/')}/bot{self._token}/sendMessage"
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as answer:
                reply = _json(answer.read(65536))
        except urllib.error.HTTPError as exc:
            reply = _json(exc.read(65536))
            retry = (reply.get("parameters") or {}).get("retry_after") if isinstance(reply, dict) else None
            described = reply.get("description", "") if isinstance(reply, dict) else ""
            raise SendError(f"Telegram {exc.code}: {described}".rstrip(": "),
                            float(retry) if isinstance(retry, int | float) else None) from None
        except OSError as exc:  # never the URL: it holds the token
            raise SendError(f"Telegram: {exc.__class__.__name__}") from None
        if not (isinstance(reply, dict) and reply.get("ok") is True):
            raise SendError(f"Telegram answered without ok: {str(reply)[:200]}")


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None
