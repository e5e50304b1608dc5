"""A receiver's side of a live session, with real signed messages: when each frame plays (the same moment on
receivers whose clocks agree, later on a weak link, from arrivals on a receiver whose clock is off), a lost
frame concealed in its place, and the session's end when its audio stops coming."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge_agent.config import LiveSettings
from edge_agent.live import LiveBuffer, LiveListener
from edge_agent.protocol import Message, Topics
from edge_agent.protocol.live import LivePacket, LiveStart, LiveStop
from edge_agent.protocol.signing import Signer, Verifier, open_signed

FRAME = bytes.fromhex("fc5e7a10")  # a 20 ms Opus frame (its first byte says so)
SESSION = "b7-0a1b2c3d4e5f"


def packet(first: int, count: int, stamp_ms: float, seq: int) -> LivePacket:
    return LivePacket(SESSION, seq, first, int(stamp_ms), [FRAME] * count)


def test_every_frame_is_due_a_fixed_delay_after_the_server_had_it() -> None:
    now = 1_000_000.0
    a, b = LiveBuffer(20, 300, 2000), LiveBuffer(20, 300, 2000)
    a.add(packet(0, 8, now, 0), now + 170)   # a receiver whose packet took 10 ms after the 160 ms of frames
    b.add(packet(0, 8, now, 0), now + 230)   # one whose packet took 70 ms
    assert a.due_ms(0) == b.due_ms(0) == now + 300, "both play frame 0 at the same moment"
    assert a.due_ms(50) == now + 300 + 50 * 20


def test_frames_that_come_late_raise_the_delay_up_to_its_limit() -> None:
    now = 1_000_000.0
    weak = LiveBuffer(20, 300, 2000)
    weak.add(packet(0, 8, now, 0), now + 900)  # frame 0 came 600 ms after its moment
    assert weak.due_ms(0) > now + 900, "from then on it plays late enough to have its frames"
    weak.add(packet(8, 8, now + 160, 1), now + 10_000)
    assert weak.due_ms(0) == now + 2000, "but never more than max_delay_ms behind the server"


def test_a_receiver_whose_clock_is_off_takes_its_timing_from_arrivals() -> None:
    server = 1_000_000.0
    behind = LiveBuffer(20, 300, 2000)
    behind.add(packet(0, 8, server, 0), server - 3_600_000 + 180)  # its clock is an hour behind
    assert behind.due_ms(0) == pytest.approx(server - 3_600_000 + 180 + 300)


class Bench:
    """A listener wired to a real signer and verifier, as the agent wires it."""

    def __init__(self, silence_s: float = 10.0) -> None:
        self.signer = Signer.generate()
        self.topics = Topics("t")
        self.refused: list[tuple[str, str]] = []
        self.sessions: list[Any] = []
        self.seqs: dict[str, int] = {}
        self.listener = LiveListener("loa-01", LiveSettings(delay_ms=200, silence_s=silence_s),
                                     Verifier([self.signer.public_text]), self.topics, self.open,
                                     lambda topic, reason, detail: self.refused.append((topic, reason)),
                                     self.sessions.append, lambda: datetime.now(UTC))

    def open(self, topic: str, payload: bytes, kind: type[Message]) -> Message | None:
        message, seq = open_signed(Verifier([self.signer.public_text]), topic, payload, kind, datetime.now(UTC),
                                   self.seqs.get(topic, 0), "loa-01")
        self.seqs[topic] = seq
        return message

    def start(self) -> None:
        topic = self.topics.live("a1")
        start = LiveStart(SESSION, 7, "a1", "normal", "Thử", datetime.now(UTC), 600)
        self.listener.on_control(topic, self.signer.sign(topic, start.to_dict(), timedelta(hours=1)))

    def stop(self) -> None:
        topic = self.topics.live("a1")
        stop = LiveStop(SESSION, 7, "a1", datetime.now(UTC))
        self.listener.on_control(topic, self.signer.sign(topic, stop.to_dict(), timedelta(hours=1)))

    def send(self, first: int, count: int, seq: int, frames: list[bytes] | None = None) -> None:
        topic = self.topics.live_audio("a1")
        stamp = time.time() * 1000 - (count - 1) * 20
        item = LivePacket(SESSION, seq, first, int(stamp), frames or [FRAME] * count)
        self.listener.on_audio(topic, self.signer.sign_packet(topic, item))


def test_a_lost_packet_keeps_its_place_and_the_stop_ends_it() -> None:
    bench = Bench()
    bench.start()
    assert len(bench.sessions) == 1
    bench.send(0, 5, 0)
    bench.send(10, 5, 1)  # frames 5-9 never came
    written: list[bytes] = []
    outcomes: list[Any] = []
    playing = threading.Thread(target=lambda: outcomes.append(
        bench.listener.play(bench.sessions[0], written.append, threading.Event(), lambda at: None)))
    playing.start()
    time.sleep(0.2)
    bench.stop()
    playing.join(5)
    assert len(written) == 15, "frames 0-14: the five lost ones concealed in their place"
    assert written[5:10] == [bytes([FRAME[0] & 0xFC])] * 5 and written[10:] == [FRAME] * 5
    assert outcomes[0].state == "played" and outcomes[0].error is None


def test_a_session_whose_audio_stops_coming_ends_by_itself() -> None:
    bench = Bench(silence_s=1.0)
    bench.start()
    bench.send(0, 8, 0)
    started = time.monotonic()
    outcome = bench.listener.play(bench.sessions[0], lambda frame: None, threading.Event(), lambda at: None)
    assert outcome.state == "played" and "stopped arriving" in (outcome.error or "")
    assert time.monotonic() - started >= 1.0, "it waited silence_s for the audio before giving up"


def test_packets_out_of_order_or_replayed_are_refused() -> None:
    bench = Bench()
    bench.start()
    bench.send(0, 8, 3)
    bench.send(8, 8, 2)
    bench.send(8, 8, 3)
    assert [reason for _, reason in bench.refused] == ["replayed", "replayed"]
