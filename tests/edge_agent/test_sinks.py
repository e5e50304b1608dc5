"""Audio sinks. The ALSA sink (through ALSA's null device, as there is no sound card here) and the file sink
pass the same contract; the file sink's timing, stop and volume are checked on what it writes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from broadcaster.speech.audio import AudioSettings, finish, speech_program
from broadcaster.speech.voices import make_engine
from edge_agent.sinks import AlsaSink, AudioSink, FileSink, PlaybackError
from tests.support.audio import wav_stats


@pytest.fixture(scope="module")
def bulletin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "bulletin.opus"
    settings = AudioSettings(chime=False)
    path.write_bytes(finish(speech_program(["Xin chào bà con thôn Đông."], make_engine("vi"), settings), settings))
    return path


@pytest.fixture(params=["file", "alsa"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> AudioSink:
    if request.param == "file":
        return FileSink(tmp_path / "played", realtime=False)
    return AlsaSink("null")


def test_plays_a_bulletin(sink: AudioSink, bulletin: Path) -> None:
    assert sink.play(bulletin, "b1") is True, "played to its end"


def test_refuses_a_broken_file_with_the_reason(sink: AudioSink, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + b"\x00" * 500)
    with pytest.raises(PlaybackError) as info:
        sink.play(broken, "b2")
    assert str(info.value).strip() and "Traceback" not in str(info.value)


def test_alsa_names_a_missing_sound_card(bulletin: Path) -> None:
    with pytest.raises(PlaybackError, match="hw:9,9"):
        AlsaSink("hw:9,9").play(bulletin, "b3")


def test_file_sink_takes_the_real_duration_and_writes_the_audio(tmp_path: Path, bulletin: Path) -> None:
    sink = FileSink(tmp_path, volume=100)
    started = time.monotonic()
    sink.play(bulletin, "b4")
    elapsed = time.monotonic() - started
    (written,) = tmp_path.glob("*-b4.wav")
    duration, level = wav_stats(written)
    assert elapsed >= duration - 0.05, "a simulated speaker is busy as long as a real one"
    assert level > -30


def test_file_sink_stops_when_asked_and_keeps_only_what_was_heard(tmp_path: Path, bulletin: Path) -> None:
    full = FileSink(tmp_path / "full", realtime=False)
    full.play(bulletin, "whole")
    whole = wav_stats(next((tmp_path / "full").glob("*-whole.wav")))[0]
    sink = FileSink(tmp_path)
    threading.Timer(0.5, sink.stop).start()
    started = time.monotonic()
    assert sink.play(bulletin, "b5") is False, "cut off"
    elapsed = time.monotonic() - started
    (written,) = tmp_path.glob("*-b5.wav")
    heard = wav_stats(written)[0]
    assert elapsed < whole - 0.5
    assert heard == pytest.approx(elapsed, abs=0.3) and heard < whole - 0.5


def test_file_sink_applies_the_volume(tmp_path: Path, bulletin: Path) -> None:
    FileSink(tmp_path, volume=100, realtime=False).play(bulletin, "loud")
    FileSink(tmp_path, volume=25, realtime=False).play(bulletin, "quiet")
    loud = wav_stats(next(tmp_path.glob("*-loud.wav")))[1]
    quiet = wav_stats(next(tmp_path.glob("*-quiet.wav")))[1]
    assert loud - quiet == pytest.approx(12.0, abs=1.0), "25% volume is 12 dB down"
