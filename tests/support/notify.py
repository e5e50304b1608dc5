"""Real servers on loopback for the notification channels: an SMTP server that insists on STARTTLS and a login
(aiosmtpd, with a certificate made here), a webhook receiver, and a Telegram Bot API stand-in."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broadcaster.ops.broker import free_port
from tests.support.sites import LocalServer


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key: (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Mailbox:
    """An SMTP server (aiosmtpd) that refuses mail before STARTTLS and a login with ``username``/``password``;
    each message received is kept with whether it came over TLS and logged in."""

    def __init__(self, folder: Path, username: str, password: str) -> None:
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.received: list[tuple[EmailMessage, bool, bool]] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
                content = envelope.original_content or b""
                parsed = message_from_bytes(content, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                box.received.append((parsed, session.ssl is not None, bool(session.authenticated)))
                return "250 OK"

        def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login == username.encode() \
                and data.password == password.encode()
            return AuthResult(success=ok)

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=check, auth_required=True,
                                     auth_require_tls=True)
        self.controller.start()

    def messages(self) -> list[EmailMessage]:
        return [m for m, _tls, _auth in self.received]

    def stop(self) -> None:
        self.controller.stop()


class Receiver(LocalServer):
    """An HTTP server keeping every POST (path, headers, body); it answers the statuses in ``statuses`` in
    turn, then 200."""

    def __init__(self, answer: Callable[[Receiver, str, dict[str, str], bytes], tuple[int, bytes]] | None = None
                 ) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append((self.path, headers, body))
                    if answer is not None:
                        status, reply = answer(receiver, self.path, headers, body)
                    else:
                        status, reply = (receiver.statuses.pop(0) if receiver.statuses else 200), b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.serve(Handler)


class TelegramBotApi(Receiver):
    """A stand-in for Telegram's Bot API as documented at https://core.telegram.org/bots/api: requests are
    ``POST /bot<token>/METHOD`` with parameters as JSON (or URL-encoded form); every answer is a JSON object
    with ``ok``, and ``result`` when ok, else ``error_code`` and ``description``, and for flood control
    (429) ``parameters.retry_after``, the seconds to wait (ResponseParameters). Only ``sendMessage`` (chat_id,
    text) is served; a wrong token answers 401, a missing chat_id or text 400. ``flood`` makes the next that
    many sendMessage calls answer 429 with ``retry_after`` seconds. Messages accepted are kept in ``sent``."""

    def __init__(self, token: str, retry_after: int = 1) -> None:
        self.token, self.retry_after, self.flood = token, retry_after, 0
        self.sent: list[dict[str, Any]] = []
        self.answers: list[int] = []
        super().__init__(self._answer)

    def _answer(self, _: Receiver, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        status, reply = self._reply(path, headers, body)
        self.answers.append(status)
        return status, json.dumps(reply).encode()

    def _reply(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if path != f"/bot{self.token}/sendMessage":
            if not path.startswith(f"/bot{self.token}/"):
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or b"{}")
        else:
            from urllib.parse import parse_qsl
            params = dict(parse_qsl(body.decode()))
        if not params.get("chat_id"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
        if not params.get("text"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if self.flood > 0:
            self.flood -= 1
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {self.retry_after}",
                         "parameters": {"retry_after": self.retry_after}}
        self.sent.append(params)
        return 200, {"ok": True, "result": {"message_id": len(self.sent), "date": int(time.time()),
                                            "chat": {"id": params["chat_id"], "type": "private"},
                                            "text": params["text"]}}
