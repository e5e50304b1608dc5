"""Ed25519 signatures on what the server sends: schedules, manifests and commands.

A signed message is the usual JSON object plus ``sig``::

    {"v": 1, "type": "schedule", ..., "sig": {"kid": "3f2a...", "seq": 1763800000123456,
                                              "exp": "2026-12-22T00:00:00.000Z", "value": "<base64>"}}

The signature covers the topic the message is published on, a newline, and the canonical JSON (RFC 8785) of
the whole object without ``sig.value``. So a message cannot be moved to another
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
import math
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge_agent.protocol.fields import ProtocolError, format_time, load_object, parse_time
from edge_agent.protocol.live import LivePacket
from edge_agent.protocol.messages import Message

REFUSAL_REASONS = ("unsigned", "unknown_key", "bad_signature", "expired", "replayed", "malformed",
                   "unsupported_version", "time_without_offset", "wrong_device", "unknown_session")
"""Why a receiver refuses a message from the server (docs/protocol.md): the first six are about the signature;
``unknown_session``: live audio of a session whose signed start it never had."""
M = TypeVar("M", bound=Message)


class SignatureError(ProtocolError):
    """A message refused for its signature; ``reason`` is one of REFUSAL_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}", reason)


def ecmascript_number(value: float) -> str:
    """A finite float as ECMAScript's Number::toString writes it (RFC 8785, section 3.2.2.3): the shortest
    digits that read back as the same double (Python's repr finds the same digits), with an exponent only from
    1e21 on and below 1e-6."""
    if value == 0:
        return "0"
    text = repr(abs(value))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    n = len(whole) + int(exponent or 0) - (len(whole + fraction) - len((whole + fraction).lstrip("0")))
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        out = "0." + "0" * -n + digits
    else:
        out = digits[0] + (f".{digits[1:]}" if k > 1 else "") + f"e{n - 1:+d}"
    return f"-{out}" if value < 0 else out


def canonical_json(value: Any) -> bytes:
    """The canonical form of a JSON value, as signed: RFC 8785 (JCS).

    Keys sorted, no spaces, ``,`` and ``:`` separators, strings in UTF-8 with only ``"``, ``\\`` and control
    characters escaped (``\\n``, ``\\u001f``), numbers as ECMAScript writes them. Python's JSON encoder agrees
    on all of it but numbers: a float with an integral value becomes an integer (``10.0`` is ``10``), and the
    rare float that Python would write with an exponent where ECMAScript does not (or the other way round) is
    put in by hand."""
    exact: dict[str, str] = {}
    nonce = os.urandom(6).hex()

    def numbers(item: Any) -> Any:
        kind = type(item)
        if kind is dict:
            return {key: numbers(inner) for key, inner in item.items()}
        if kind is list:
            return [numbers(inner) for inner in item]
        if kind is float and math.isfinite(item):
            if item.is_integer() and abs(item) < 1e21:
                return int(item)
            if "e" in repr(item):
                token = f"jcs-{nonce}-{len(exact)}"
                exact[f'"{token}"'] = ecmascript_number(item)
                return token
        return item

    text = json.dumps(numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for token, number in exact.items():
        text = text.replace(token, number, 1)
    return text.encode("utf-8")


def _signed_bytes(topic: str, data: dict[str, Any]) -> bytes:
    sig = {key: value for key, value in data["sig"].items() if key != "value"}
    return topic.encode("utf-8") + b"\n" + canonical_json({**data, "sig": sig})


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
        return canonical_json(data)


    def sign_packet(self, topic: str, packet: LivePacket) -> bytes:
        """A live audio packet, signed for ``topic`` (no sequence number of the server's: the packet's own
        ``seq`` orders it within its session)."""
        body = packet.body(self.kid)
        return body + self._key.sign(LivePacket.signed_bytes(topic, body))


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
            signed = _signed_bytes(topic, data)
        except ValueError as exc:
            raise SignatureError("malformed", str(exc)) from None
        try:
            signature = base64.b64decode(sig["value"], validate=True)
            key.verify(signature, signed)
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


def open_packet(verifier: Verifier, topic: str, payload: bytes) -> LivePacket:
    """A live audio packet received on ``topic``, if a trusted key signed it for that topic; raises
    ProtocolError (SignatureError for the signature) with the refusal to report. Whether it belongs to a
    session the receiver knows, and comes after what it already had, is the receiver's check."""
    packet, kid, body, signature = LivePacket.parse(payload)
    key = verifier.keys.get(kid)
    if key is None:
        raise SignatureError("unknown_key", f"signed with key {kid!r}, which this receiver does not trust")
    try:
        key.verify(signature, LivePacket.signed_bytes(topic, body))
    except InvalidSignature:
        raise SignatureError("bad_signature", "the live packet's signature does not match it") from None
    return packet


def open_signed(verifier: Verifier, topic: str, payload: bytes, kind: type[M], now: datetime,
                newest_seq: int = 0, device: str | None = None) -> tuple[M, int]:
    """Everything a receiver checks before it acts on a signed message received on ``topic``: the JSON, the
    protocol version, the signature, the type, every field and, for a message addressed to a device (a
    schedule), that ``device`` is it. Returns the message and its ``seq``; raises ProtocolError (SignatureError
    for the signature) whose ``reason`` is the refusal to report."""
    data = load_object(payload)
    seq = verifier.verify(topic, data, now, newest_seq)
    if data.get("type") != kind.TYPE:
        raise ProtocolError(f"expected a {kind.TYPE!r} message")
    message = kind.from_dict(data)
    addressed = getattr(message, "device", None)
    if device is not None and addressed is not None and addressed != device:
        raise ProtocolError(f"a {kind.TYPE} addressed to {addressed!r}", "wrong_device")
    return message, seq
