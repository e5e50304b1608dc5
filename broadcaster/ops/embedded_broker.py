"""Embedded amqtt broker for the demo on machines without mosquitto: authentication on, the same ACL, and
the same binding of a device's client id to its user name.

amqtt is fine for a demo but not for production (see docs/architecture.md, "broker"): mosquitto is always preferred.
Run as ``python -m broadcaster.ops.embedded_broker --port P --passwords DIR --root R --server-user U``, where DIR
holds the two mosquitto password files ``broadcaster broker files`` writes (the same hashes).

amqtt 0.12 acts on a CONNECT before it authenticates it: a clean session under a connected client's id
deletes that client's session, and a second connection takes the first over, whatever the password. So the
first packet of every connection is read and checked here (password, and client id = user name for every
user but the server's) before amqtt sees it; a refused client gets a CONNACK refusal and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from broadcaster.ops.broker import DEVICE_PASSWORDS, SERVER_PASSWORDS, check_hash, read_password_file
from edge_agent.protocol.topics import Topics, covers, valid_device_id

logger = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
BAD_CREDENTIALS, IDENTIFIER_REJECTED = 4, 2
"""MQTT 3.1.1 CONNACK return codes."""


def allowed(root: str, server_user: str, user: str | None, topic: str, write: bool) -> bool:
    """The rules of broadcaster.ops.broker.acl_text: devices reach what ``Topics.device_access`` grants them."""
    if not user:
        return False
    if user == server_user:
        return covers(f"{root}/#", topic)
    access = "write" if write else "read"
    return valid_device_id(user) and any(
        kind == access and covers(granted, topic) for kind, granted in Topics(root).device_access(user))


def password_ok(folder: Path, server_user: str, username: str | None, password: str | None) -> bool:
    """The server's user against its own file, every other user against the devices' file."""
    name = SERVER_PASSWORDS if username == server_user else DEVICE_PASSWORDS
    stored = read_password_file(folder / name).get(username or "")
    return bool(stored and password is not None and check_hash(password, stored))


@dataclass
class Connect:
    """What a CONNECT packet says about who is connecting."""

    client_id: str
    username: str | None
    password: str | None


def _string(body: bytes, at: int) -> tuple[bytes, int]:
    size = int.from_bytes(body[at:at + 2], "big")
    if at + 2 + size > len(body):
        raise ValueError("truncated field")
    return body[at + 2:at + 2 + size], at + 2 + size


def parse_connect(body: bytes) -> Connect:
    """The variable header and payload of an MQTT 3.1/3.1.1 CONNECT; ValueError when it is not one."""
    _, at = _string(body, 0)  # protocol name
    if at + 4 > len(body):
        raise ValueError("truncated header")
    flags = body[at + 1]
    at += 4  # level, flags, keep-alive
    client_id, at = _string(body, at)
    if flags & 0x04:  # a will: its topic and message
        _, at = _string(body, at)
        _, at = _string(body, at)
    username = password = None
    if flags & 0x80:
        raw, at = _string(body, at)
        username = raw.decode("utf-8")
    if flags & 0x40:
        raw, at = _string(body, at)
        password = raw.decode("utf-8", "replace")
    return Connect(client_id.decode("utf-8"), username, password)


async def read_packet(reader: ReaderAdapter) -> tuple[bytes, bytes]:
    """One MQTT packet: its raw bytes and its body (after the fixed header)."""
    head = await reader.read(1)
    length, shift, raw = 0, 0, bytearray(head)
    for _ in range(4):
        byte = (await reader.read(1))[0]
        raw.append(byte)
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    else:
        raise ValueError("bad remaining length")
    body = await reader.read(length) if length else b""
    return bytes(raw) + body, body


class Replay(ReaderAdapter):
    """A reader that hands out bytes already read before the rest of the stream."""

    def __init__(self, first: bytes, rest: ReaderAdapter) -> None:
        self.buffer, self.rest = bytearray(first), rest

    async def read(self, n: int = -1) -> bytes:
        if not self.buffer:
            return await self.rest.read(n)
        if n == -1:
            data, self.buffer = bytes(self.buffer), bytearray()
            return data + await self.rest.read(-1)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data + (await self.rest.read(n - len(data)) if len(data) < n else b"")

    def feed_eof(self) -> None:
        self.rest.feed_eof()


class GuardedBroker(Broker):
    """amqtt, with every connection's credentials and client id checked before amqtt acts on them."""

    def __init__(self, config: dict[str, Any], passwords: Path, server_user: str) -> None:
        super().__init__(config)
        self.passwords, self.server_user = passwords, server_user

    def refusal(self, connect: Connect) -> int | None:
        if not password_ok(self.passwords, self.server_user, connect.username, connect.password):
            logger.warning("refused connection for user %r", connect.username)
            return BAD_CREDENTIALS
        if connect.username != self.server_user and connect.client_id != connect.username:
            logger.warning("refused user %r connecting as client %r: a device's client id is its user name",
                           connect.username, connect.client_id)
            return IDENTIFIER_REJECTED
        return None

    async def _client_connected(self, listener_name: str, reader: ReaderAdapter, writer: WriterAdapter) -> None:
        try:
            raw, body = await asyncio.wait_for(read_packet(reader), CONNECT_TIMEOUT_S)
            code = self.refusal(parse_connect(body)) if raw[0] >> 4 == 1 else BAD_CREDENTIALS
        except (ValueError, IndexError, UnicodeDecodeError, asyncio.IncompleteReadError, TimeoutError,
                ConnectionError):
            code, raw = BAD_CREDENTIALS, b""
        if code is not None:
            with contextlib.suppress(Exception):
                writer.write(bytes([0x20, 0x02, 0x00, code]))
                await writer.drain()
            with contextlib.suppress(Exception):
                await writer.close()
            return
        await super()._client_connected(listener_name, Replay(raw, reader), writer)


class PasswordAuth(BaseAuthPlugin):
    """amqtt's own check, after ours: the same password files."""

    @dataclass
    class Config:
        passwords: str = ""
        server_user: str = "broadcaster"

    async def authenticate(self, *, session: Any) -> bool:
        return password_ok(Path(self.config.passwords), self.config.server_user, session.username,
                           None if session.password is None else str(session.password))


class DeviceAcl(BaseTopicPlugin):
    @dataclass
    class Config:
        root: str = "loaxa"
        server_user: str = "broadcaster"

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Action | None = None) -> bool:
        if session is None or topic is None:
            return False
        ok = allowed(self.config.root, self.config.server_user, session.username, topic, action == Action.PUBLISH)
        if not ok:
            logger.warning("denied %s on %s for %r", action, topic, session.username)
        return ok


async def serve(port: int, passwords: Path, root: str, server_user: str) -> None:
    broker = GuardedBroker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}", "max_connections": 1000}},
        "plugins": {
            f"{__name__}.PasswordAuth": {"passwords": str(passwords), "server_user": server_user},
            f"{__name__}.DeviceAcl": {"root": root, "server_user": server_user},
        },
    }, passwords, server_user)
    await broker.start()
    logger.info("embedded amqtt broker listening on 127.0.0.1:%d", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):
        await broker.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--passwords", type=Path, required=True,
                        help=f"folder of mosquitto password files: {SERVER_PASSWORDS} and {DEVICE_PASSWORDS}")
    parser.add_argument("--root", default="loaxa")
    parser.add_argument("--server-user", default="broadcaster")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)
    asyncio.run(serve(args.port, args.passwords, args.root, args.server_user))


if __name__ == "__main__":
    main()
