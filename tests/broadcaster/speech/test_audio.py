"""Speech and audio post-processing with the real espeak-ng and ffmpeg."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broadcaster.assets import AssetStore
from broadcaster.config import SpeechSettings
from broadcaster.database import Database
from broadcaster.db import Asset
from broadcaster.speech.audio import AudioError, AudioSettings, chime, finish, speech_program
from broadcaster.speech.engines import BUILTIN_VOICES
from broadcaster.speech.render import Speech
from broadcaster.speech.voices import make_engine
from tests.support.audio import integrated_loudness, probe_duration, voiced_seconds

TEXT = "Ủy ban nhân dân xã thông báo: ngày mai mất điện từ bảy giờ đến mười một giờ."


def run_tts(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadcaster.cli", "tts", *args], input=stdin,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("suffix", "codec"), [(".wav", "pcm_s16le"), (".opus", "opus"), (".mp3", "mp3")])
def test_tts_command_writes_each_format(tmp_path: Path, suffix: str, codec: str) -> None:
    out = tmp_path / f"bulletin{suffix}"
    result = run_tts("UBND xã thông báo lịch tiêm phòng lúc 7h30.", "-o", str(out))
    assert result.returncode == 0, result.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=codec_name,channels", "-of", "csv=p=0", str(out)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert probe == f"{codec},1", "mono audio in the format the extension names"
    assert voiced_seconds(out) > 2


def test_tts_reads_standard_input_and_refuses_unknown_formats(tmp_path: Path) -> None:
    out = tmp_path / "from-stdin.wav"
    assert run_tts("-", "-o", str(out), stdin="Xin chào bà con.").returncode == 0
    assert out.stat().st_size > 10_000
    bad = run_tts("Xin chào", "-o", str(tmp_path / "x.flac"))
    assert bad.returncode == 2 and "use .wav, .opus or .mp3" in bad.stderr
    empty = run_tts("...", "-o", str(tmp_path / "y.wav"))
    assert empty.returncode == 1 and "nothing to say" in empty.stderr
    assert run_tts("Xin chào", "-o", str(tmp_path / "z.wav"), "--voice", "klingon").returncode == 2


def test_broadcast_audio_is_loudness_normalized_opus(tmp_path: Path) -> None:
    settings = AudioSettings()
    out = tmp_path / "b.opus"
    out.write_bytes(finish(speech_program([TEXT], make_engine("vi"), settings), settings, ".opus"))
    loudness, peak = integrated_loudness(out)
    assert abs(loudness - settings.loudness_lufs) <= 1.0
    assert peak <= -1.0
    # About 24 kbit/s: a minute of speech costs far less than the 250 KB budget.
    assert out.stat().st_size / probe_duration(out) < 250_000 / 60


def test_chime_comes_before_the_speech(tmp_path: Path) -> None:
    settings = AudioSettings()
    with_chime = speech_program(["Xin chào."], make_engine("vi"), settings)
    without = speech_program(["Xin chào."], make_engine("vi"), AudioSettings(chime=False))
    assert len(with_chime) - len(without) >= len(chime())
    assert chime().dBFS > -30, "the chime is audible"


@pytest.mark.parametrize("voice", sorted(BUILTIN_VOICES))
def test_every_configured_voice_speaks(voice: str) -> None:
    segment = speech_program(["Thông báo của ủy ban nhân dân xã."], make_engine(voice), AudioSettings(chime=False))
    assert len(segment) > 1500 and segment.dBFS > -35


def test_silence_is_refused() -> None:
    from pydub import AudioSegment

    with pytest.raises(AudioError, match="silent"):
        finish(AudioSegment.silent(2000), AudioSettings())


def test_same_text_is_never_synthesized_twice(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_all()
    speech = Speech(SpeechSettings(), AssetStore(tmp_path / "assets"))
    with db.session() as session:
        first = speech.render(session, TEXT)
    stored = speech.store.path(first.id).stat().st_mtime_ns
    with db.session() as session:
        second = speech.render(session, TEXT)
        assert session.query(Asset).count() == 1
    assert second.id == first.id
    assert speech.store.path(first.id).stat().st_mtime_ns == stored, "the cached file was reused, not rewritten"
    with db.session() as session:
        assert speech.render(session, TEXT + " Xin cảm ơn.").id != first.id


def band_level(path: Path, filter_: str) -> float:
    """RMS level (dBFS) of the part of ``path`` that passes ``filter_``."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af",
                             f"{filter_},astats=metadata=0:reset=0", "-f", "null", "-"],
                            capture_output=True, text=True, check=True)
    return float(result.stderr.rsplit("RMS level dB:", 1)[1].split()[0])


def test_horn_filter_removes_what_horns_cannot_play_and_keeps_the_loudness(tmp_path: Path) -> None:
    outputs = {}
    for horn in (False, True):
        settings = AudioSettings(horn_filter=horn)
        out = tmp_path / f"horn-{horn}.wav"
        out.write_bytes(finish(speech_program([TEXT], make_engine("vi"), settings), settings, ".wav"))
        outputs[horn] = out
    lows = {horn: band_level(path, "lowpass=f=120:poles=2,lowpass=f=120:poles=2") for horn, path in outputs.items()}
    assert lows[False] - lows[True] >= 10, "the horn filter takes the lows out"
    assert abs(integrated_loudness(outputs[True])[0] - AudioSettings().loudness_lufs) <= 1.0
