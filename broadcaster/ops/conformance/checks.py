"""The conformance checks, in the order they run (later ones build on earlier ones): online, heartbeats, plays,
timing, priorities, emergency, stop, volume, the forgeries (forgeries.py), offline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from broadcaster.domain.lifecycle import NO_REPORT
from broadcaster.ops.conformance.common import (
    DEVICE,
    DURATION_TOLERANCE_S,
    EMERGENCY_TEXT,
    FORGERIES,
    LONG_TEXT,
    ON_TIME_S,
    PRIORITY_LEAD_S,
    CheckFailed,
    describe,
)
from broadcaster.ops.conformance.forgeries import Forger
from broadcaster.ops.conformance.rig import Rig
from edge_agent.protocol import Playback, ProtocolError, Status
from edge_agent.protocol.fields import format_time, utcnow

logger = logging.getLogger("broadcaster.ops.conformance")


class Kit(Rig):
    """The rig and the checks run against it, in order."""

    def __init__(self, template: list[str], workdir: Path, step_timeout: float) -> None:
        super().__init__(template, workdir, step_timeout)
        self.forger = Forger(self)

    def checks(self) -> list[tuple[str, Callable[[], None]]]:
        """Every check, in the order it runs (later ones build on earlier ones)."""
        refusals: list[tuple[str, Callable[[], None]]] = [
            (name, partial(self.forger.check_refusal, reason)) for reason, name in FORGERIES]
        return [
            ("comes online", self.check_online),
            ("sends heartbeats", self.check_heartbeats),
            ("plays a broadcast: delivered, playing, played", self.check_plays),
            ("plays for the audio's duration", self.check_duration),
            ("plays a priority item before a normal one due at the same time", self.check_priority_order),
            ("an emergency cuts off a normal broadcast", self.check_emergency),
            ("a broadcast stopped before it starts is cancelled", self.check_stop),
            ("applies a volume and reports it in its heartbeat", self.check_volume),
            *refusals,
            ("still plays a genuine broadcast after the forgeries", self.forger.check_genuine_after_forgeries),
            ("acted on no forged schedule", self.forger.check_no_forged_entry),
            ("goes offline when stopped", self.check_offline),
        ]

    def run(self) -> None:
        """Run every check, printing a line each and counting them in ``passed`` and ``failed``."""
        for name, check in self.checks():
            problem = self.fatal
            if problem is None:
                try:
                    check()
                except CheckFailed as exc:
                    problem = str(exc)
                except Exception as exc:
                    logger.exception("check %r broke", name)
                    problem = f"the kit itself failed ({exc.__class__.__name__}: {exc}); see server.log"
            if problem is None:
                self.passed += 1
                print(f"PASS {name}", flush=True)
            else:
                self.failed += 1
                print(f"FAIL {name}: {problem}", flush=True)

    def check_online(self) -> None:
        """The receiver connects and publishes a retained ``status`` ``online``, and the server takes the
        device for online."""
        try:
            self.until_status("online")
            self.until("the device online in GET /api/v1/devices",
                       lambda: True if self.device().get("online") is True else None, self.device)
        except CheckFailed:
            self.fatal = self.fatal or "skipped: the receiver never came online"
            raise

    def until_status(self, state: str) -> None:
        """Wait until the broker holds a valid ``status`` ``state`` retained on the device's status topic."""
        topic = self.topics.status(DEVICE)

        def probe() -> bool | None:
            payload = self.retained(topic, wait_s=0.5)
            try:
                return True if payload and Status.from_bytes(payload).state == state else None
            except ProtocolError:
                return None

        def seen() -> str:
            return (self.retained(topic, 0.5) or b"no retained status").decode("utf-8", "replace")

        self.until(f"a retained status {state!r} on {topic}", probe, seen)

    def check_heartbeats(self) -> None:
        """Two valid heartbeats reach the broker, the server stores the health they carry, and the receiver's
        clock agrees with the server's (a receiver off by more than 30 s plays at the wrong time)."""
        self.until("two valid heartbeats on dev/kit-01/hb",
                   lambda: True if len(self.heartbeats()) >= 2 else None,
                   lambda: f"{len(self.heartbeats())} valid of {len(self.messages('hb'))} received")
        self.until("health in GET /api/v1/devices", lambda: True if self.device().get("health") else None,
                   self.device)
        skew = self.device().get("clock_skew_s")
        if skew is not None and abs(skew) > 30:
            raise CheckFailed(f"expected the receiver's clock within 30 s of the server's; it is {skew:+.1f} s off")

    def check_plays(self) -> None:
        """A broadcast of a short text, to play at once, is reported ``delivered``, ``playing`` (with
        ``started_at``, no ``finished_at``) and ``played`` in that order, and the server stores ``played``."""
        broadcast_id = self.first = self.short_broadcast()
        self.reached(broadcast_id, "played", "failed", "missed", "interrupted", "cancelled")
        row = self.row(broadcast_id)
        reports = self.reports(broadcast_id)
        kinds = [(type(r).__name__, r.state) for r in reports]
        wanted = [("Delivery", "delivered"), ("Playback", "playing"), ("Playback", "played")]
        positions = [kinds.index(w) if w in kinds else -1 for w in wanted]
        if row["state"] != "played" or -1 in positions or positions != sorted(positions):
            raise CheckFailed(f"expected delivery delivered, playback playing, playback played in that order and "
                              f"'played' on the server; saw {describe(reports)} and {row['state']!r} "
                              f"({row.get('error')})")
        playing = reports[positions[1]]
        assert isinstance(playing, Playback)
        if playing.started_at is None or playing.finished_at is not None:
            raise CheckFailed(f"expected 'playing' with started_at and no finished_at; saw started_at "
                              f"{playing.started_at}, finished_at {playing.finished_at}")
        self.short_asset = self.api("GET", f"/broadcasts/{broadcast_id}")["asset"]

    def check_duration(self) -> None:
        """``played`` has started_at < finished_at, and the time between them is the audio's duration (the
        manifest's ``duration_s``) within 1.5 s: the receiver played it at real speed, to the end."""
        if self.first is None:
            raise CheckFailed("no broadcast was sent")
        played = self.playback(self.first, "played")
        if played is None or played.started_at is None or played.finished_at is None:
            raise CheckFailed(f"expected a 'played' report with started_at and finished_at; saw "
                              f"{self.seen_reports(self.first)}")
        assert self.short_asset is not None
        duration = self.duration_of(self.short_asset)
        if duration is None:
            raise CheckFailed(f"the kit saw no manifest for asset {self.short_asset}")
        took = (played.finished_at - played.started_at).total_seconds()
        if took <= 0 or abs(took - duration) > DURATION_TOLERANCE_S:
            raise CheckFailed(f"expected finished_at - started_at = {duration:.2f} s (duration_s) "
                              f"± {DURATION_TOLERANCE_S} s; saw {took:.2f} s")

    def check_priority_order(self) -> None:
        """A normal and then a priority broadcast, both due at the same play_at: the priority one starts on
        time (within 1.5 s) and plays first, the normal one after it, uncut."""
        play_at = utcnow() + timedelta(seconds=PRIORITY_LEAD_S)
        normal = self.short_broadcast("normal", play_at)
        urgent = self.short_broadcast("priority", play_at)
        wait = self.step_timeout + PRIORITY_LEAD_S
        first, second = self.final_report(urgent, wait), self.final_report(normal, wait)
        if (first.state, second.state) != ("played", "played"):
            raise CheckFailed(f"expected both played; saw the priority item {first.state} ({first.error}), the "
                              f"normal one {second.state} ({second.error})")
        if first.started_at is None or second.started_at is None or first.finished_at is None:
            raise CheckFailed("expected started_at and finished_at in both 'played' reports")
        late = (first.started_at - play_at).total_seconds()
        if not -0.5 <= late <= ON_TIME_S:
            raise CheckFailed(f"expected the priority item to start at its play_at (within {ON_TIME_S} s); it "
                              f"started {late:+.2f} s from it")
        if second.started_at < first.finished_at - timedelta(seconds=0.5):
            raise CheckFailed(f"expected the normal item to start after the priority one ended "
                              f"({format_time(first.finished_at)}); it started {format_time(second.started_at)}")

    def check_emergency(self) -> None:
        """While a long normal broadcast plays, an emergency comes: the normal one is cut off (``interrupted``,
        its error naming the emergency, heard for less than its length) and the emergency is ``played``."""
        normal = self.broadcast(self.bulletin(LONG_TEXT, "Kiểm thử dài"))
        self.reached(normal, "playing", "played", "failed", "missed", "interrupted")
        if self.row(normal)["state"] != "playing":
            raise CheckFailed(f"expected the long broadcast to be playing; it is {self.row(normal)['state']!r}")
        emergency = self.broadcast(self.bulletin(EMERGENCY_TEXT, "Khẩn cấp"), "emergency")
        cut = self.reached(normal, "interrupted", "played", "failed")
        done = self.reached(emergency, "played", "failed", "missed", "interrupted", "cancelled")
        if cut["state"] != "interrupted" or done["state"] != "played":
            raise CheckFailed(f"expected the normal broadcast interrupted and the emergency played; saw "
                              f"{cut['state']!r} ({cut.get('error')}) and {done['state']!r} ({done.get('error')})")
        if str(emergency) not in (cut.get("error") or ""):
            raise CheckFailed(f"expected the interruption's error to name emergency broadcast {emergency}; saw "
                              f"{cut.get('error')!r}")
        report = self.playback(normal, "interrupted")
        started, finished = (report.started_at, report.finished_at) if report else (None, None)
        if started is None or finished is None:
            raise CheckFailed("expected the 'interrupted' report to carry started_at and finished_at")
        asset = self.api("GET", f"/broadcasts/{normal}")["asset"]
        length = self.duration_of(asset) or 0.0
        if (finished - started).total_seconds() > length - 1:
            raise CheckFailed(f"expected the normal broadcast cut short of its {length:.1f} s; it played "
                              f"{(finished - started).total_seconds():.1f} s")

    def check_stop(self) -> None:
        """A broadcast scheduled 10 minutes ahead, delivered, then stopped by the operator (POST
        /broadcasts/{id}/stop): the receiver reports it ``cancelled`` (no started_at) and never plays it."""
        broadcast_id = self.short_broadcast(play_at=utcnow() + timedelta(minutes=10))
        row = self.reached(broadcast_id, "delivered", "playing", "played", "failed", "missed", "cancelled")
        if row["state"] != "delivered":
            raise CheckFailed(f"expected 'delivered' (it is due in 10 minutes); saw {row['state']!r}")
        self.api("POST", f"/broadcasts/{broadcast_id}/stop")
        row = self.reached(broadcast_id, "cancelled", "interrupted", "played", "failed", "missed")
        report = self.playback(broadcast_id, "cancelled")
        if row["state"] != "cancelled" or row.get("error") == NO_REPORT or report is None:
            raise CheckFailed(f"expected a 'cancelled' report from the receiver; saw "
                              f"{self.seen_reports(broadcast_id)} and {row['state']!r} ({row.get('error')})")
        if report.started_at is not None:
            raise CheckFailed(f"expected no started_at in 'cancelled'; saw {format_time(report.started_at)}")
        if self.playback(broadcast_id, "playing") is not None:
            raise CheckFailed("the stopped broadcast was reported playing")

    def check_volume(self) -> None:
        """PUT /devices/kit-01/volume: the receiver applies the signed command and its next heartbeat reports
        the new volume, which the server then shows."""
        current = self.device().get("volume")
        volume = 38 if current == 37 else 37
        asked = time.monotonic()
        self.api("PUT", f"/devices/{DEVICE}/volume", {"volume": volume})
        self.until(f"a heartbeat with volume {volume}",
                   lambda: True if any(b.volume == volume for b in self.heartbeats(asked)) else None,
                   lambda: f"volumes {[b.volume for b in self.heartbeats(asked)]} in heartbeats since")
        self.until(f"volume {volume} in GET /api/v1/devices",
                   lambda: True if self.device().get("volume") == volume else None,
                   lambda: self.device().get("volume"))

    def check_offline(self) -> None:
        """The kit stops the receiver (SIGTERM to its process group): the device's retained status turns
        ``offline`` (published before a planned disconnect, or the broker's Last Will) and the server shows
        the device offline."""
        self.stopping = True
        self.stop_receiver()
        self.until_status("offline")
        self.until("the device offline in GET /api/v1/devices",
                   lambda: True if self.device().get("online") is False else None, self.device)
