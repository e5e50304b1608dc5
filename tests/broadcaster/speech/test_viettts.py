"""vietTTS voices: our NumPy implementation against vietTTS's own code, on checkpoints in the official layout.

``tests/data/viettts/`` holds facts recorded by running vietTTS's Haiku code (underthesea's maintained copy,
with JAX) once, by hand, on a machine that had it:

- ``layout_full.json``: every module, parameter and BatchNorm statistic of the three official checkpoints with
  its shape (1,839,873 + 12,519,840 + 13,926,017 parameters, as published); ``layout_small.json`` the same
  graph with narrower layers;
- ``reference_*.npz``: the outputs of each network for weights drawn by ``fill`` (tests/support/voices.py;
  prenet dropout off, the one random part), which our code must reproduce;
- ``duration_tiny_optax.pickle``: a small duration checkpoint written the way vietTTS's trainer writes it
  (JAX arrays, real optax optimizer state), and its expected output.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from broadcaster.speech import viettts
from broadcaster.speech.checkpoints import CheckpointError, load_model_checkpoint
from broadcaster.speech.engines import EngineUnavailable, VoiceSettings
from broadcaster.speech.viettts import (
    AcousticModel,
    DurationModel,
    VietTTSVoice,
    Vocoder,
    tokens_for,
)
from broadcaster.speech.voices import make_engine, resolve, voice_problem
from tests.support.voices import DATA, LEXICON, fill, layout, voices, write_voice


@pytest.mark.parametrize("size", ["small", "full"])
def test_every_network_computes_what_viettts_computes(size: str) -> None:
    shapes, ref = layout(size), np.load(DATA / f"reference_{size}.npz")
    tokens = ref["tokens"][0]

    durations = DurationModel(fill(shapes["duration"]["params"], 1), fill(shapes["duration"]["aux"], 2))(tokens)
    np.testing.assert_allclose(durations, ref["durations"][0], rtol=1e-5, atol=1e-6)

    acoustic = AcousticModel(fill(shapes["acoustic"]["params"], 3), fill(shapes["acoustic"]["aux"], 4))
    frames = ref["frames"][0]
    mel = acoustic(tokens, frames, int(frames.sum()), dropout=0.0)
    np.testing.assert_allclose(mel, ref["mel"][0], rtol=1e-4, atol=1e-5)

    wave = Vocoder(fill(shapes["hifigan"]["params"], 6))(ref["mel_in"][0])
    np.testing.assert_allclose(wave, ref["wave"][0, :, 0], rtol=1e-4, atol=1e-5)


def test_a_checkpoint_written_by_the_viettts_trainer_loads_without_jax_or_optax() -> None:
    assert "optax" not in sys.modules and "jax" not in sys.modules
    params, aux = load_model_checkpoint(DATA / "duration_tiny_optax.pickle")
    tokens = np.array([0, 5, 9, 3, 17, 40, 3, 0, 60, 88, 3, 0])
    np.testing.assert_allclose(DurationModel(params, aux)(tokens), np.load(DATA / "duration_tiny_expected.npy"),
                               rtol=1e-5)
    assert "optax" not in sys.modules and "jax" not in sys.modules


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "duration_latest_ckpt.pickle"
    bad.write_bytes(pickle.dumps({"params": {}, "aux": {}, "x": _Exploit(marker)}))
    with pytest.raises(CheckpointError, match=r"refusing to load (posix|os)\.system"):
        load_model_checkpoint(bad)
    assert not marker.exists()


def test_broken_files_are_named_in_the_error(tmp_path: Path) -> None:
    truncated = tmp_path / "acoustic_latest_ckpt.pickle"
    truncated.write_bytes(pickle.dumps({"params": {"a": {"w": np.ones(3)}}, "aux": {}})[:-20])
    with pytest.raises(CheckpointError, match=r"acoustic_latest_ckpt\.pickle is not a usable vietTTS checkpoint"):
        load_model_checkpoint(truncated)
    not_a_tree = tmp_path / "duration_latest_ckpt.pickle"
    not_a_tree.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(CheckpointError, match="expected a dict with 'params' and 'aux'"):
        load_model_checkpoint(not_a_tree)


def test_missing_parameter_is_named() -> None:
    shapes = layout("small")["duration"]
    params = fill(shapes["params"], 1)
    del params["duration_model/~/linear_1"]
    with pytest.raises(CheckpointError, match=r"missing duration_model/~/linear_1/w"):
        DurationModel(params, fill(shapes["aux"], 2))(np.array([0, 5, 3, 0]))


def test_text_becomes_symbols_through_the_lexicon() -> None:
    lexicon = {"xin": ["x", "i", "n"], "chào": ["c", "h", "à", "o"]}
    symbols = [viettts.SYMBOLS[i] for i in tokens_for("Xin chào, 2 bà!", lexicon)]
    # Silence at both ends and at the comma, a word end after each word; the digit (which the normalizer
    # should have read out first) is dropped, as vietTTS drops it.
    assert symbols == ["sil", "x", "i", "n", " ", "c", "h", "à", "o", " ", "sil", "b", "à", " ", "sil"]
    assert len(viettts.SYMBOLS) == 93


# --- a whole voice folder in the official layout ------------------------------------------------------------


@pytest.fixture(scope="module")
def voice_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_voice(tmp_path_factory.mktemp("viettts") / "infore")


def test_a_voice_folder_speaks_for_as_long_as_its_duration_model_says(voice_folder: Path) -> None:
    engine = make_engine("nam", voices(voice_folder))
    segment = engine.synthesize("xin chào bà con")

    voice = VietTTSVoice.load(voice_folder)
    tokens = np.array(tokens_for("xin chào bà con", voice.lexicon))
    seconds = voice.duration(tokens)
    seconds = np.where(tokens == viettts.SIL, np.maximum(seconds, 0.2), seconds)
    frames = np.where(tokens == viettts.WORD_END, 0.0, seconds) * viettts.FRAMES_PER_SECOND
    expected_ms = (int(frames.sum()) - int(frames[-1])) * viettts.HOP / 16
    assert abs(len(segment) - expected_ms) <= 2
    assert segment.rms > 0
    # The same sentence sounds the same every time, so renders are cacheable.
    assert engine.synthesize("xin chào bà con").raw_data == segment.raw_data


def test_speed_setting_slows_speech(voice_folder: Path) -> None:
    normal = make_engine("nam", voices(voice_folder)).synthesize("xin chào bà con")
    slow = make_engine("nam", voices(voice_folder, length_scale=1.5)).synthesize("xin chào bà con")
    assert len(slow) > len(normal) * 1.2


def test_a_folder_missing_files_is_reported_and_the_default_voice_speaks(tmp_path: Path) -> None:
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "lexicon.txt").write_text(LEXICON)
    problem = voice_problem("nam", voices(folder))
    assert problem is not None
    assert "hk_hifi.pickle" in problem and "broadcaster voices fetch viettts" in problem
    engine, reason = resolve("nam", voices(folder))
    assert engine.name == "vi" and reason is not None and "duration_latest_ckpt.pickle" in reason
    with pytest.raises(EngineUnavailable, match="no checkpoint folder"):
        make_engine("nam", {"nam": VoiceSettings(engine="viettts")})


def test_a_changed_checkpoint_is_a_different_voice_for_the_render_cache(tmp_path: Path) -> None:
    folder = write_voice(tmp_path / "v", "small")
    before = make_engine("nam", voices(folder)).key()
    (folder / "lexicon.txt").write_text(LEXICON + "mới\tm ớ i\n")
    assert make_engine("nam", voices(folder)).key() != before


REAL = os.environ.get("LOAXA_VIETTTS_DIR")


@pytest.mark.skipif(not REAL, reason="set LOAXA_VIETTTS_DIR to a folder with the real vietTTS checkpoint")
def test_the_real_checkpoint_speaks() -> None:
    engine = make_engine("real", {"real": VoiceSettings(engine="viettts", model=REAL)})
    segment = engine.synthesize("xin chào bà con")
    assert 0.6 < segment.duration_seconds < 3.0
    assert segment.dBFS > -35


def test_bulletins_and_the_tts_command_use_a_viettts_voice(tmp_path: Path, voice_folder: Path) -> None:
    from broadcaster.cli import main
    from tests.support.audio import probe_duration, render_bulletin

    asset = render_bulletin(tmp_path, "nam", voices(voice_folder), "Xin chào bà con.")
    assert asset.duration_s > 1.5  # chime, speech, pauses

    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[speech]\nvoice = "nam"\n'
                      f'[speech.voices.nam]\nengine = "viettts"\nmodel = "{voice_folder}"\n')
    out = tmp_path / "out.mp3"
    assert main(["tts", "--config", str(config), "--no-chime", "xin chào bà con", "-o", str(out)]) == 0
    spoken = make_engine("nam", voices(voice_folder)).synthesize("xin chào bà con").duration_seconds
    assert probe_duration(out) == pytest.approx(spoken + 0.8, abs=0.15)  # with the lead-in and tail silence
