"""Ed25519 signatures on what the server sends: schedules, manifests and commands.

A signed message is the usual JSON object plus ``sig``::

    {"v": 1, "type": "schedule", ..., "sig": {"kid": "3f2a...", "seq": 1763800000123456,
                                              "exp": "2026-12-22T00:00:00.000Z", "value": "<base64>"}}

The signature covers the topic the message is published on, a newline, and the canonical JSON of the whole
object without ``sig.value`` (keys sorted, no spaces, UTF-8). So a message cannot be moved to another
device's topic, and ``kid``, ``seq`` and ``exp`` cannot be altered. ``seq`` grows with every message the
server signs (microseconds since the epoch, kept increasing); a receiver refuses a message older than the
newest it accepted on the same topic (a replay), and any message past ``exp``.

Receivers pin the server's public keys in their config (``trusted_keys``), so rotating the server's key is:
add the new public key to every receiver, switch the server to the new key, then remove the old one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge_agent.protocol.messages import ProtocolError, format_time, parse_time

REFUSAL_REASONS = ("unsigned", "unknown_key", "bad_signature", "expired", "replayed", "malformed")


class SignatureError(ProtocolError):
    """A message refused for its signature; ``reason`` is one of REFUSAL_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _signed_bytes(topic: str, data: dict[str, Any]) -> bytes:
    sig = {key: value for key, value in data["sig"].items() if key != "value"}
    return topic.encode("utf-8") + b"\n" + _canonical({**data, "sig": sig})


def _now_us() -> int:
    return time.time_ns() // 1000


def key_id(public: bytes) -> str:
    """A short, stable name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public).hexdigest()[:16]


def public_key_text(public: bytes) -> str:
    return base64.b64encode(public).decode("ascii")


class Signer:
    """The server's signing key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._key = private
        self.public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.kid = key_id(self.public)
        self._last_seq = 0
        self._lock = threading.Lock()

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> Signer:
        """A key as 'broadcaster keys generate' writes it (base64 of the 32 raw bytes)."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
            return cls(Ed25519PrivateKey.from_private_bytes(raw))
        except (ValueError, TypeError):
            raise ValueError("not an Ed25519 private key written by 'broadcaster keys generate'") from None

    def save(self, path: Path) -> None:
        """Write the private key (base64 of the 32 raw bytes), readable by the owner only."""
        raw = self._key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(raw).decode("ascii") + "\n")

    @property
    def public_text(self) -> str:
        return public_key_text(self.public)

    def raise_floor(self, seq: int) -> None:
        """Never sign with a sequence number at or below ``seq`` (one issued before a restart)."""
        with self._lock:
            self._last_seq = max(self._last_seq, seq)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def next_seq(self) -> int:
        with self._lock:
            self._last_seq = max(self._last_seq + 1, _now_us())
            return self._last_seq

    def sign(self, topic: str, message: dict[str, Any], ttl: timedelta, now: datetime | None = None) -> bytes:
        """The message as signed JSON bytes for ``topic``, valid for ``ttl``."""
        expires = (now or datetime.now(UTC)) + ttl
        data = {**message, "sig": {"kid": self.kid, "seq": self.next_seq(), "exp": format_time(expires)}}
        signature = self._key.sign(_signed_bytes(topic, data))
        data["sig"]["value"] = base64.b64encode(signature).decode("ascii")
        return _canonical(data)


class Verifier:
    """A receiver's pinned keys, and the check every message from the server passes."""

    def __init__(self, trusted: list[str]) -> None:
        self.keys: dict[str, Ed25519PublicKey] = {}
        for text in trusted:
            try:
                raw = base64.b64decode(text.strip(), validate=True)
                key = Ed25519PublicKey.from_public_bytes(raw)
            except (ValueError, TypeError):
                raise ValueError(f"trusted_keys: {text[:20]!r}... is not a base64 Ed25519 public key") from None
            self.keys[key_id(raw)] = key

    def verify(self, topic: str, data: dict[str, Any], now: datetime, newest_seq: int = 0) -> int:
        """Check ``data`` (a decoded JSON object) received on ``topic``; returns its ``seq``.

        Raises SignatureError. A ``seq`` equal to ``newest_seq`` is the same message again (MQTT redelivers
        retained messages) and passes; an older one is a replay.
        """
        sig = data.get("sig")
        if sig is None:
            raise SignatureError("unsigned", "the message carries no signature")
        if not isinstance(sig, dict) or not all(isinstance(sig.get(k), str) for k in ("kid", "exp", "value")) \
                or not isinstance(sig.get("seq"), int) or isinstance(sig.get("seq"), bool):
            raise SignatureError("malformed", "sig must have kid, seq, exp and value")
        key = self.keys.get(sig["kid"])
        if key is None:
            raise SignatureError("unknown_key", f"signed with key {sig['kid'][:16]!r}, which this receiver does "
                                                "not trust")
        try:
            signature = base64.b64decode(sig["value"], validate=True)
            key.verify(signature, _signed_bytes(topic, data))
        except (InvalidSignature, ValueError):
            raise SignatureError("bad_signature", "the signature does not match the message") from None
        try:
            expires = parse_time(sig["exp"], "sig.exp")
        except ProtocolError as exc:
            raise SignatureError("malformed", str(exc)) from None
        assert expires is not None
        if expires < now:
            raise SignatureError("expired", f"valid until {sig['exp']}")
        if sig["seq"] < newest_seq:
            raise SignatureError("replayed", f"sequence {sig['seq']} is older than {newest_seq}, already accepted")
        return int(sig["seq"])
