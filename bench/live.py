"""Live broadcasting, mouth to loudspeaker.

System: ``broadcaster web`` and ``broadcaster worker`` as processes on a real mosquitto; the microphone is
``broadcaster live speak``'s client (broadcaster/ops/microphone.py) sending a voice recording at its natural
pace through the worker's live endpoint; N simulated receivers (bench/fleet.py, the whole protocol: the start's
and every packet's signature checked, each frame held in the receiver's own jitter buffer,
edge_agent.live.LiveBuffer, and given its moment to play), plus one real receiver (edge_agent's Agent with a
sink that notes when each frame reaches ffmpeg).

Figures: mouth to speaker (a frame leaving the microphone to the moment the receiver plays it: its moment in
the jitter buffer for the simulated ones, the write into the decoder for the real one), p50 and p99; the spread
between receivers (for each frame, latest minus earliest moment); frames that came too late to play; bytes per
receiver per minute (topics and payloads of the session); the fleet's CPU per receiver.

    .venv/bin/python -m bench.live --receivers 1 50 200 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fleet import Fleet, Receiver, now
from bench.stack import ROOT, Stack, percentile, running
from broadcaster.ops.broker import free_port
from broadcaster.ops.microphone import Speaking, encoded, start_session
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, AudioSettings, MqttSettings
from edge_agent.live import LiveBuffer, now_ms
from edge_agent.protocol import ProtocolError
from edge_agent.protocol.fields import load_object
from edge_agent.protocol.live import LiveStart, admit
from edge_agent.protocol.signing import open_packet
from edge_agent.sinks import FileSink, Stream

SPEECH = ("Kính thưa bà con, tôi là chủ tịch ủy ban nhân dân xã. Theo tin của đài khí tượng, chiều và đêm nay "
          "trên địa bàn xã có mưa to đến rất to, có nơi mưa đặc biệt to, gió giật mạnh. Đề nghị bà con chằng "
          "chống nhà cửa, thu hoạch lúa và hoa màu đã chín, đưa gia súc đến nơi cao ráo, không đi qua ngầm tràn "
          "và sông suối, không đánh bắt cá khi có lũ. Các thôn trưởng kiểm tra các hộ ở vùng trũng thấp và sẵn "
          "sàng di dời khi có lệnh. Xin cảm ơn bà con. ")


class LiveReceiver(Receiver):
    """A simulated receiver that takes a live session as edge_agent does, and notes when each frame plays."""

    def __init__(self, fleet: Fleet, device_id: str, password: str) -> None:
        super().__init__(fleet, device_id, password)
        self.buffer: LiveBuffer | None = None
        self.newest = -1
        self.plays: dict[int, float] = {}
        """Frame number -> when it plays (ms, wall clock); a frame that came after its moment is left out."""
        self.late = 0
        self.live_bytes = 0
        self.refused: list[str] = []

    def on_live(self, topic: str, part: str, payload: bytes) -> None:
        self.live_bytes += len(topic) + len(payload)
        try:
            if part == "live":
                data = load_object(payload)
                self.fleet.verifier.verify(topic, data, now())
                if data.get("type") == LiveStart.TYPE and self.buffer is None:
                    self.buffer = LiveBuffer(LiveStart.from_dict(data).frame_ms, 300, 2000)
                return
            arrived = now_ms()
            packet = open_packet(self.fleet.verifier, topic, payload)
            admit(packet, self.newest if self.buffer is not None else None)
        except ProtocolError as exc:
            self.refused.append(exc.reason)
            return
        assert self.buffer is not None
        self.newest = packet.seq
        self.buffer.add(packet, arrived)
        for index in range(len(packet.frames)):
            number = packet.first + index
            due = self.buffer.due_ms(number)
            if arrived > due:
                self.late += 1
            else:
                self.plays[number] = due


class TimedSink(FileSink):
    """The real receiver's sink: a WAV file, and the moment each live frame reached the decoder."""

    def __init__(self, played_dir: Path) -> None:
        super().__init__(played_dir)
        self.writes: list[float] = []

    def open_stream(self, label: str) -> Stream:
        stream = super().open_stream(label)
        write = stream.write

        def timed(packet: bytes) -> None:
            self.writes.append(now_ms())
            write(packet)

        stream.write = timed  # type: ignore[method-assign]
        return stream


def real_receiver(stack: Stack, tmp: Path) -> tuple[Agent, TimedSink]:
    device = stack.devices[0]
    config = AgentConfig(device_id=device, cache_dir=str(tmp / "agent" / "cache"), heartbeat_s=30.0,
                         trusted_keys=[stack.signer.public_text],
                         mqtt=MqttSettings(port=stack.broker.port, password=stack.users[device], topic_root=ROOT),
                         audio=AudioSettings(sink="file", played_dir=str(tmp / "agent" / "played"))).check()
    sink = TimedSink(config.played_dir)
    agent = Agent(config, sink)
    agent.start()
    return agent, sink


def spoken(tmp: Path, seconds: int) -> Path:
    text = SPEECH * (1 + seconds // 40)
    path = tmp / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(path), text], check=True)
    trimmed = tmp / "speech-trimmed.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-t", str(seconds), str(trimmed)], check=True)
    return trimmed


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50)), "p99": round(percentile(values, 99)),
            "max": round(max(values)) if values else float("nan")}


def run(receivers: int, seconds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, running(Path(folder), receivers + 1,
                                                          live={"port": free_port()}) as stack:
        tmp = Path(folder)
        voice = spoken(tmp, seconds)
        agent, sink = real_receiver(stack, tmp)
        fleet = Fleet("127.0.0.1", stack.broker.port, ROOT, [stack.signer.public_text],
                      {d: stack.users[d] for d in stack.devices[1:]}, heartbeat_s=60.0, realtime=False,
                      make=LiveReceiver)
        fleet.start(max(200.0, receivers / 5))
        try:
            if not fleet.wait_connected(120):
                raise RuntimeError(fleet.not_connected())
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (agent.groups and all(
                    r.groups for r in fleet.receivers.values())):
                time.sleep(0.2)  # the worker tells every receiver its groups as it comes online
            session = start_session(stack.api, stack.token, {"targets": ["all"], "priority": "emergency"})
            speaking = Speaking(session["ws_url"], session["ticket"])
            speaking.open()
            cpu = time.process_time()
            began = time.monotonic()
            speaking.send(encoded(str(voice)))
            minutes = (time.monotonic() - began) / 60
            time.sleep(3)  # the last frames play out
            cpu = time.process_time() - cpu
        finally:
            fleet.stop()
            agent.stop()
    sims = [r for r in fleet.receivers.values() if isinstance(r, LiveReceiver)]
    sent = speaking.sent
    mouth = [play - sent[n] * 1000 for r in sims for n, play in r.plays.items() if n < len(sent)]
    spread = []
    for n in range(len(sent)):
        moments = [r.plays[n] for r in sims if n in r.plays]
        if len(moments) > 1:
            spread.append(max(moments) - min(moments))
    first = min(min(r.plays) for r in sims if r.plays)
    real = [at - sent[first + k] * 1000 for k, at in enumerate(sink.writes) if first + k < len(sent)]
    frames = len(sent)
    return {
        "receivers": receivers, "speech_s": round(frames * 0.02, 1),
        "mouth_to_speaker_ms (simulated receivers)": stats(mouth),
        "mouth_to_decoder_ms (the real receiver)": stats(real),
        "spread_between_receivers_ms": stats(spread) if spread else None,
        "frames_too_late_per_receiver": round(sum(r.late for r in sims) / len(sims), 1),
        "frames_missing_per_receiver": round(sum(frames - len(r.plays) for r in sims) / len(sims), 1),
        "kb_per_receiver_per_minute": round(sum(r.live_bytes for r in sims) / len(sims) / minutes / 1000, 1),
        "fleet_cpu_ms_per_receiver_per_minute": round(cpu * 1000 / len(sims) / minutes, 1),
        "refused": sum(len(r.refused) for r in sims),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--seconds", type=int, default=60, help="how long the speaker speaks")
    args = parser.parse_args()
    for n in args.receivers:
        print(json.dumps(run(n, args.seconds), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
