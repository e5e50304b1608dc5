"""A web server on loopback for tests of what the server fetches (voices, CAP feeds and resources)."""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalServer:
    """An HTTP server on a free loopback port, in a thread: ``url`` reaches it, ``stop`` ends it."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Site(LocalServer):
    """A local web server of files by path (with query), each with an ETag (a request that has it gets 304);
    what was asked and answered is kept. It stands in for Hugging Face, GitHub and warning centres' feeds."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.answers: list[tuple[str, int]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                body = site.files.get(self.path)
                if body is None:
                    self._answer(404, b"not here", {})
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._answer(304, b"", {"ETag": etag})
                    return
                self._answer(200, body, {"ETag": etag, "Last-Modified": formatdate(usegmt=True),
                                         "Content-Type": "application/xml"})

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                site.answers.append((self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.serve(Handler)
