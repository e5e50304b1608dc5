"""Speech and post-processing: espeak-ng voice, our chime, EBU R128 loudness, Opus/MP3/WAV encoding."""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import ffmpeg
from pydub import AudioSegment
from pydub.generators import Sine

if TYPE_CHECKING:
    from broadcaster.speech.engines import Engine

logger = logging.getLogger(__name__)

SAMPLE_RATE = 22050
ENCODINGS = {
    ".opus": ("libopus", "ogg"),
    ".ogg": ("libopus", "ogg"),
    ".mp3": ("libmp3lame", "mp3"),
    ".wav": ("pcm_s16le", "wav"),
}


class AudioError(Exception):
    """Speech could not be produced or processed; the text says why, ``code`` names the reason."""

    def __init__(self, message: str, code: str = "audio_error") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AudioSettings:
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.5
    bitrate_kbps: int = 24
    sentence_pause_ms: int = 350
    chime: bool = True
    horn_filter: bool = False
    """Keep 250 Hz - 6 kHz only: horn speakers cannot reproduce the rest, and lows waste amplifier power."""

    def key(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AudioError(f"{name} is not installed (apt-get install {name})")
    return path


@lru_cache(maxsize=1)
def chime() -> AudioSegment:
    """Our two-note attention chime (E5 then C5 with a soft decay), about 1.3 s."""
    notes = []
    for freq, length in ((659.25, 550), (523.25, 750)):
        tone = Sine(freq, sample_rate=SAMPLE_RATE).to_audio_segment(duration=length, volume=-14)
        overtone = Sine(freq * 2, sample_rate=SAMPLE_RATE).to_audio_segment(duration=length, volume=-26)
        notes.append(tone.overlay(overtone).fade_in(15).fade_out(int(length * 0.8)))
    return (notes[0] + notes[1]).set_channels(1)


def speech_program(sentences: list[str], engine: Engine, settings: AudioSettings) -> AudioSegment:
    """Chime, then the sentences with pauses between them, as one segment (not yet loudness-normalized)."""
    if not sentences:
        raise AudioError("nothing to say: the text has no words")
    pause = AudioSegment.silent(settings.sentence_pause_ms, frame_rate=SAMPLE_RATE)
    program = AudioSegment.silent(200, frame_rate=SAMPLE_RATE)
    if settings.chime:
        program += chime() + AudioSegment.silent(400, frame_rate=SAMPLE_RATE)
    for index, sentence in enumerate(sentences):
        if index:
            program += pause
        program += engine.synthesize(sentence)
    return program + AudioSegment.silent(600, frame_rate=SAMPLE_RATE)


def finish(segment: AudioSegment, settings: AudioSettings, extension: str = ".opus") -> bytes:
    """Loudness-normalize (EBU R128) and encode; returns the encoded file.

    Gentle compression tames espeak's peaks, a limiter keeps true-peak headroom for the lossy encoder,
    and the gain is corrected against the loudness measured on the encoded output (two passes usually).
    """
    if extension not in ENCODINGS:
        raise AudioError(f"unsupported output format {extension!r} (use .wav, .opus or .mp3)")
    codec, container = ENCODINGS[extension]
    options: dict[str, object] = {"ac": 1, "acodec": codec, "format": container}
    if codec == "libopus":
        options.update(ar=48000, audio_bitrate=f"{settings.bitrate_kbps}k", application="voip")
    elif codec == "libmp3lame":
        options.update(ar=SAMPLE_RATE, audio_bitrate="48k")
    else:
        options.update(ar=SAMPLE_RATE)
    limit = 10 ** ((settings.true_peak_db - 1.0) / 20)
    band = "highpass=f=250:poles=2,lowpass=f=6000:poles=2," if settings.horn_filter else ""

    def chain(gain: float) -> str:
        return (f"{band}acompressor=threshold=0.125:ratio=3:attack=5:release=150,volume={gain:.2f}dB,"
                f"alimiter=limit={limit:.3f}:level=false")

    with tempfile.TemporaryDirectory(prefix="audio-") as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / f"out{extension}"
        segment.export(str(raw), format="wav").close()  # pydub returns the open file
        measured = _loudness(raw)
        if not math.isfinite(measured):
            raise AudioError("the audio is silent")
        gain = settings.loudness_lufs - measured
        # Settle the gain on PCM (cheap), aiming off by what this encoder did to loudness last time; then
        # encode once and check the encoded file, correcting only if the encoder surprised us.
        codec_key = (codec, settings.bitrate_kbps)
        target = settings.loudness_lufs - _CODEC_SHIFT.get(codec_key, 0.0)
        for _ in range(3):
            miss = target - _loudness(raw, chain(gain))
            gain += miss
            if abs(miss) <= 0.2:
                break
        expected = target  # the PCM loudness this gain gives
        for _ in range(3):
            try:
                ffmpeg.input(str(raw)).output(str(out), af=chain(gain), **options).global_args(
                    "-nostdin", "-hide_banner", "-v", "error"
                ).overwrite_output().run(capture_stdout=True, capture_stderr=True)
            except ffmpeg.Error as exc:
                raise AudioError(f"encoding failed: {exc.stderr.decode(errors='replace')[-300:]}") from None
            encoded = _loudness(out)
            _CODEC_SHIFT[codec_key] = encoded - expected
            error = settings.loudness_lufs - encoded
            if abs(error) <= 0.3:
                break
            gain += error
            expected += error
        return out.read_bytes()


_CODEC_SHIFT: dict[tuple[str, int], float] = {}
"""How much each encoder (at each bitrate) moved loudness last time, in LU: Opus at 24 kbit/s lowers it by
about 0.4, which would otherwise cost a second encode of every bulletin."""


def _loudness(path: Path, chain: str | None = None) -> float:
    """Integrated loudness (LUFS) by ffmpeg's EBU R128 meter, after ``chain`` if given; -inf for silence."""
    try:
        _, err = (
            ffmpeg.input(str(path)).output("-", format="null", af=f"{chain},ebur128" if chain else "ebur128")
            .global_args("-nostdin", "-hide_banner", "-nostats")
            .run(capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as exc:
        raise AudioError(f"loudness measurement failed: {exc.stderr.decode(errors='replace')[-300:]}") from None
    text = err.decode(errors="replace")
    match = re.search(r"Integrated loudness:\s+I:\s+(-?[0-9.]+|-inf) LUFS", text[text.rfind("Summary:"):])
    value = float(match.group(1)) if match else float("-inf")
    return value if value > -70 else float("-inf")  # the meter's floor (-70 LUFS) means silence


def load_recording(data: bytes, max_seconds: float) -> AudioSegment:
    """An uploaded recording (anything ffmpeg reads: mp3, m4a, wav, ogg, amr...) as mono audio.

    Refuses, with a message an officer understands, a file that is empty, not audio, too long or silent.
    """
    if not data:
        raise AudioError("the file is empty", "empty_file")
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        source, wav = Path(tmp) / "upload", Path(tmp) / "decoded.wav"
        source.write_bytes(data)
        try:
            info = ffmpeg.probe(str(source))
        except ffmpeg.Error:
            raise AudioError("the file is not audio that can be read", "not_audio") from None
        streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
        if not streams:
            raise AudioError("the file has no sound in it", "not_audio")
        duration = float(info.get("format", {}).get("duration") or streams[0].get("duration") or 0)
        if duration > max_seconds:
            raise AudioError(f"the recording is {duration / 60:.0f} minutes long; at most "
                             f"{max_seconds / 60:.0f} minutes are accepted", "recording_too_long")
        try:
            ffmpeg.input(str(source)).output(str(wav), ac=1, ar=SAMPLE_RATE, acodec="pcm_s16le").global_args(
                "-nostdin", "-hide_banner", "-v", "error"
            ).overwrite_output().run(capture_stdout=True, capture_stderr=True)
        except ffmpeg.Error:
            raise AudioError("the file is damaged and cannot be decoded", "not_audio") from None
        with wav.open("rb") as fh:
            segment = AudioSegment.from_wav(fh)
    if len(segment) < 200 or not math.isfinite(segment.dBFS) or segment.dBFS < -60:
        raise AudioError("the recording is silent or too short", "silent_audio")
    return segment


def recording_program(recording: AudioSegment, settings: AudioSettings) -> AudioSegment:
    """Chime, then the officer's recording, with the same spacing as synthesized bulletins."""
    program = AudioSegment.silent(200, frame_rate=SAMPLE_RATE)
    if settings.chime:
        program += chime() + AudioSegment.silent(400, frame_rate=SAMPLE_RATE)
    return program + recording.set_frame_rate(SAMPLE_RATE) + AudioSegment.silent(600, frame_rate=SAMPLE_RATE)


def duration_of(data: bytes, extension: str = ".opus") -> float:
    """Duration in seconds of an encoded file, as ffprobe reads it."""
    with tempfile.NamedTemporaryFile(suffix=extension) as fh:
        fh.write(data)
        fh.flush()
        try:
            info = ffmpeg.probe(fh.name)
        except ffmpeg.Error as exc:
            raise AudioError(f"not readable audio: {exc.stderr.decode(errors='replace')[-200:]}") from None
    return float(info["format"]["duration"])
