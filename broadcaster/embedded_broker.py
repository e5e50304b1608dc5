"""Embedded amqtt broker for the demo on machines without mosquitto: authentication on, the same ACL.

amqtt is fine for a demo (see ../shared/MQTT.md) but not for production: mosquitto is always preferred.
Run as ``python -m broadcaster.embedded_broker --port P --users FILE --root R --server-user U``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

logger = logging.getLogger(__name__)
ITERATIONS = 200_000


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"pbkdf2-sha256${ITERATIONS}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2-sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


def write_users(path: Path, users: dict[str, str]) -> None:
    """Store hashed passwords only, readable by the owner."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({user: hash_password(password) for user, password in users.items()}, fh)


def allowed(root: str, server_user: str, user: str | None, topic: str, write: bool) -> bool:
    """The rules of broadcaster.broker.acl_text: devices reach their own topics and read audio and alerts only."""
    if not user:
        return False
    if user == server_user:
        return topic == root or topic.startswith(root + "/")
    own = f"{root}/dev/{user}/"
    if write:
        return topic in (own + "status", own + "hb", own + "req") or topic.startswith(own + "evt/")
    return topic in (own + "schedule", own + "cmd") or topic.startswith((f"{root}/blob/", f"{root}/grp/"))


class PasswordAuth(BaseAuthPlugin):
    @dataclass
    class Config:
        users_file: str = ""

    async def authenticate(self, *, session: Any) -> bool:
        users = json.loads(Path(self.config.users_file).read_text())
        stored = users.get(session.username or "")
        ok = bool(stored and session.password and check_password(str(session.password), stored))
        if not ok:
            logger.warning("refused connection for user %r", session.username)
        return ok


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


async def serve(port: int, users_file: Path, root: str, server_user: str) -> None:
    broker = Broker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}", "max_connections": 1000}},
        "plugins": {
            f"{__name__}.PasswordAuth": {"users_file": str(users_file)},
            f"{__name__}.DeviceAcl": {"root": root, "server_user": server_user},
        },
    })
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
    parser.add_argument("--users", type=Path, required=True, help="JSON file of user -> password hash")
    parser.add_argument("--root", default="loaxa")
    parser.add_argument("--server-user", default="broadcaster")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)
    asyncio.run(serve(args.port, args.users, args.root, args.server_user))


if __name__ == "__main__":
    main()
