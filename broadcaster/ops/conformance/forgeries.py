"""The forgery checks: schedules a receiver must refuse (unknown key, moved, expired, replayed, unsigned,
addressed to another device), each sent once as the server's user, and what the receiver must do with them:
report each refused for its reason, act on none, and still play what the server really sends."""

from __future__ import annotations

import time
from datetime import timedelta

from broadcaster.db import RefusalRecord
from broadcaster.ops.conformance.common import (
    DEVICE,
    FORGED_BASE_ID,
    FORGERIES,
    OTHER_DEVICE,
    CheckFailed,
    describe,
    now_seq,
    sign_as,
)
from broadcaster.ops.conformance.rig import Rig
from edge_agent.protocol import ProtocolError, Refused, Schedule, ScheduleEntry
from edge_agent.protocol.fields import load_object, utcnow
from edge_agent.protocol.signing import SignatureError, Verifier, canonical_json


class Forger:
    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.forged: dict[int, str] = {}
        """Forged broadcast id -> the refusal reason its schedule should get."""
        self.forged_at = 0.0
        self.replay_seq = 0

    def forge(self, reason: str, broadcast_id: int) -> bytes:
        """A schedule with one entry (an emergency, to play at once, of audio the receiver has) that a receiver
        must refuse for ``reason``; every other part of it is as the server would send it."""
        topic = self.rig.topics.schedule(DEVICE)
        device = OTHER_DEVICE if reason in ("bad_signature", "wrong_device") else DEVICE
        asset = self.rig.short_asset or "0" * 64
        entry = ScheduleEntry(broadcast_id, asset, "Giả mạo", "emergency", None, utcnow(), 300)
        message = Schedule(device, utcnow(), [entry], [], self.rig.groups).to_dict()
        later, seq = utcnow() + timedelta(days=1), now_seq()
        if reason == "unsigned":
            return canonical_json(message)
        if reason == "unknown_key":
            return sign_as(self.rig.stranger, topic, message, seq, later)
        if reason == "bad_signature":  # another device's schedule, moved onto this device's topic
            return sign_as(self.rig.key, self.rig.topics.schedule(OTHER_DEVICE), message, seq, later)
        if reason == "expired":
            return sign_as(self.rig.key, topic, message, seq, utcnow() - timedelta(minutes=1))
        if reason == "replayed":
            return sign_as(self.rig.key, topic, message, self.replay_seq, later)
        if reason == "wrong_device":
            return sign_as(self.rig.key, topic, message, seq, later)
        raise ValueError(reason)

    def oldest_genuine_seq(self) -> int:
        """The lowest seq of the server's schedules for this device the kit saw: the receiver has accepted a
        schedule at least that new, so one signed below it is a replay."""
        verifier, topic, seqs = Verifier([self.rig.public]), self.rig.topics.schedule(DEVICE), []
        for item in self.rig.messages("schedule"):
            try:
                data = load_object(item.payload)
                seq = verifier.verify(topic, data, utcnow())
            except ProtocolError:
                continue
            if data.get("device") == DEVICE:
                seqs.append(seq)
        if not seqs:
            raise CheckFailed("the kit saw no schedule from the server, so it cannot replay one")
        return min(seqs)

    def send_forgeries(self) -> None:
        """Publish every forged schedule, once, as the server's user, on the receiver's schedule topic.

        Not retained: the broker hands them at once to the connected receiver and keeps the server's genuine
        retained schedule, so the worker never overwrites a forgery before it is read, and no forgery
        outlives the check."""
        if self.forged:
            return
        assert self.rig.observer is not None
        self.replay_seq = self.oldest_genuine_seq() - 1  # before any forgery goes out: they come back here too
        self.forged_at = time.monotonic()  # before the first publish: a refusal may be reported at once
        for index, (reason, _) in enumerate(FORGERIES):
            broadcast_id = FORGED_BASE_ID + index
            payload = self.forge(reason, broadcast_id)
            self._verify_forgery(reason, payload)
            self.forged[broadcast_id] = reason
            self.rig.observer.publish(self.rig.topics.schedule(DEVICE), payload, qos=1, retain=False)

    def _verify_forgery(self, reason: str, payload: bytes) -> None:
        """The kit's own check that a forgery has the one defect it is meant to have (our verifier refuses it
        for that reason and no other)."""
        data = load_object(payload)
        try:
            Verifier([self.rig.public]).verify(self.rig.topics.schedule(DEVICE), data, utcnow(),
                                           self.replay_seq + 1 if reason == "replayed" else 0)
            got = "wrong_device" if data["device"] != DEVICE else "accept"
        except SignatureError as exc:
            got = exc.reason
        if got != reason:
            raise RuntimeError(f"the kit forged a {reason!r} case that a verifier takes for {got!r}")

    def check_refusal(self, reason: str) -> None:
        """The receiver reports the forgery refused for ``reason`` on its schedule topic, and the server stores
        that report in its ``refusals`` table. The forgeries all go out at once, so the checks share one
        deadline: a receiver that refuses none fails them all in one step timeout, not six."""
        self.send_forgeries()
        assert self.rig.db is not None
        topic = self.rig.topics.schedule(DEVICE)

        def refusals() -> list[Refused]:
            found = []
            for item in self.rig.messages("evt/refused", since=self.forged_at):
                try:
                    found.append(Refused.from_bytes(item.payload))
                except ProtocolError:
                    continue
            return found

        self.rig.until(f"a 'refused' report with reason {reason!r} for topic {topic}",
                   lambda: True if any(r.reason == reason and r.topic == topic for r in refusals()) else None,
                   lambda: [f"{r.reason} on {r.topic}" for r in refusals()] or "no refusal report",
                   since=self.forged_at)

        def stored() -> bool | None:
            assert self.rig.db is not None
            with self.rig.db.session() as session:
                row = session.query(RefusalRecord).filter_by(device_id=DEVICE, reason=reason, topic=topic).first()
                return True if row is not None else None

        self.rig.until(f"the refusal ({reason}) in the server's refusals table", stored, timeout=10)

    def check_genuine_after_forgeries(self) -> None:
        """After the forgeries the broker still holds the server's own schedule, retained, and the receiver
        plays a new genuine broadcast: refusing forgeries did not break it."""
        topic = self.rig.topics.schedule(DEVICE)
        payload = self.rig.retained(topic)
        if payload is None:
            raise CheckFailed(f"expected the server's schedule retained on {topic}; there is none")
        try:
            data = load_object(payload)
            Verifier([self.rig.public]).verify(topic, data, utcnow())
            if data.get("device") != DEVICE:
                raise ProtocolError("not this device's")
        except ProtocolError as exc:
            raise CheckFailed(f"expected the server's schedule retained on {topic}; saw {exc}") from None
        broadcast_id = self.rig.short_broadcast()
        row = self.rig.reached(broadcast_id, "played", "failed", "missed", "interrupted", "cancelled")
        if row["state"] != "played":
            raise CheckFailed(f"expected 'played'; saw {row['state']!r} ({row.get('error')})")

    def check_no_forged_entry(self) -> None:
        """No delivery or playback report, nor a heartbeat's now_playing, names a forged entry: the receiver
        did not act on any forgery (their audio was cached, so an accepted one would have played at once)."""
        if not self.forged:
            raise CheckFailed("no forgery was sent")
        time.sleep(max(0.0, self.forged_at + 3 - time.monotonic()))
        acted = {f"{self.forged[b]} (broadcast {b}): {describe(reports)}"
                 for b in self.forged if (reports := self.rig.reports(b))}
        acted |= {f"{self.forged[b.now_playing]} (broadcast {b.now_playing}): now_playing in a heartbeat"
                  for b in self.rig.heartbeats() if b.now_playing in self.forged}
        if acted:
            raise CheckFailed(f"expected no report on a forged entry; saw {'; '.join(sorted(acted))}")
