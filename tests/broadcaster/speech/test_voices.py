"""Voices as vendors offer them: an accent and a gender to choose, a reading speed, natural voices fetched with one
command and found by the server by themselves, and the robotic fallback said plainly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from broadcaster.assets import AssetStore
from broadcaster.cli import main
from broadcaster.config import SpeechSettings
from broadcaster.database import Database
from broadcaster.speech import voicefetch
from broadcaster.speech.engines import BUILTIN_VOICES, VoiceSettings
from broadcaster.speech.render import Speech
from broadcaster.speech.voicefetch import FetchError, PiperSource, fetch_piper, verify
from broadcaster.speech.voices import all_voices, make_engine, write_installed
from tests.broadcaster.speech.test_piper import tiny_piper_model
from tests.support.sites import Site

SENTENCE = "Bà con thôn Đông chú ý, chiều nay có mưa to và gió mạnh."


def pitch_hz(samples: np.ndarray, rate: int) -> float:
    """The median fundamental frequency of the voiced frames (autocorrelation, 60-400 Hz): what a listener
    hears as a deep or a high voice."""
    frame = int(rate * 0.04)
    found = []
    loudest = np.max(np.abs(samples)) or 1.0
    for start in range(0, len(samples) - frame, frame):
        chunk = samples[start:start + frame].astype(np.float64)
        if np.max(np.abs(chunk)) < 0.3 * loudest:
            continue
        chunk -= chunk.mean()
        corr = np.correlate(chunk, chunk, "full")[frame - 1:]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.3 * corr[0]:
            found.append(rate / lag)
    return float(np.median(found))


def spoken(name: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
    segment = make_engine(name, speed=speed).synthesize(SENTENCE)
    return np.array(segment.get_array_of_samples(), dtype=np.float64), segment.frame_rate


@pytest.mark.parametrize("region", ["north", "central", "south"])
def test_each_accent_has_a_man_and_a_woman_and_the_woman_is_heard_higher(region: str) -> None:
    by_gender = {s.gender: n for n, s in BUILTIN_VOICES.items() if s.region == region}
    assert set(by_gender) == {"male", "female"}
    man, woman = (pitch_hz(*spoken(by_gender[g])) for g in ("male", "female"))
    assert woman > man * 1.4, (man, woman)


def test_a_faster_reading_is_shorter_and_a_slower_one_longer() -> None:
    lengths = {speed: len(spoken("vi", speed)[0]) for speed in (0.8, 1.0, 1.2)}
    assert lengths[0.8] > lengths[1.0] * 1.12 and lengths[1.2] < lengths[1.0] * 0.9, lengths


def installed_piper(folder: Path, name: str = "piper-tiny", **settings: str) -> Path:
    voice = folder / name
    voice.mkdir(parents=True)
    model = tiny_piper_model(voice)
    write_installed(voice, VoiceSettings(engine="piper", model=model.name, label="Nữ miền Bắc (thử)",
                                         region=settings.get("region", "north"), gender="female"))
    return voice


def test_a_voice_installed_in_the_voices_folder_is_found_and_auto_reads_with_it(tmp_path: Path) -> None:
    settings = SpeechSettings(voices_dir=str(tmp_path / "voices"))
    assert settings.default_voice() == "vi", "with espeak-ng alone, its northern voice"
    assert SpeechSettings(dialect="south", voices_dir=str(tmp_path / "voices")).default_voice() == "vi-south"
    voice = installed_piper(tmp_path / "voices")
    assert settings.catalog()["piper-tiny"].label == "Nữ miền Bắc (thử)"
    assert settings.default_voice() == "piper-tiny", "a natural voice that speaks here is chosen first"
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_all()
    speech = Speech(settings, AssetStore(tmp_path / "assets"))
    with db.session() as session:
        preview = speech.preview(session, "Xin chào bà con.")
    assert (preview.voice, preview.natural, preview.voice_problem) == ("piper-tiny", True, None)
    (voice / "vi_VN-tiny.onnx").unlink()
    assert SpeechSettings(voices_dir=str(tmp_path / "voices"), voice="piper-tiny").default_voice() == "piper-tiny"
    engine, problem = Speech(settings, AssetStore(tmp_path / "assets")).engine("piper-tiny")
    assert engine.name == "vi-nu" and problem is not None and "not found" in problem, \
        "a northern woman's voice that is gone is replaced by espeak-ng's northern woman"


class Hub(Site):
    """A web server laid out like Hugging Face: files under /resolve/<revision>/, and the repository's tree with
    each file's git object id (and, for large files, the SHA-256 of the stored object)."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.base = self.url
        self.source = PiperSource("vi_VN-tiny", "vi/vi_VN/tiny/x_low", "Thử (Piper)", "north", "female")
        folder.mkdir(parents=True, exist_ok=True)
        tiny_piper_model(folder)
        self.model = (folder / "vi_VN-tiny.onnx").read_bytes()
        self.config = (folder / "vi_VN-tiny.onnx.json").read_bytes()

    def publish(self, model: bytes | None = None, config: bytes | None = None, model_sha256: str | None = None) -> None:
        model, config = model or self.model, config or self.config
        where = f"{voicefetch.PIPER_REVISION}/{self.source.path}"
        self.files[f"/resolve/{where}/vi_VN-tiny.onnx"] = model
        self.files[f"/resolve/{where}/vi_VN-tiny.onnx.json"] = config
        blob = hashlib.sha1(b"blob %d\0" % len(config) + config, usedforsecurity=False).hexdigest()
        self.files[f"/tree/{where}"] = json.dumps([
            {"type": "file", "path": f"{self.source.path}/vi_VN-tiny.onnx", "size": len(model),
             "lfs": {"oid": model_sha256 or hashlib.sha256(model).hexdigest(), "size": len(model)}},
            {"type": "file", "path": f"{self.source.path}/vi_VN-tiny.onnx.json", "oid": blob, "size": len(config)},
            {"type": "file", "path": f"{self.source.path}/MODEL_CARD", "oid": "0" * 40, "size": 10},
        ]).encode()

    def fetch(self, dest: Path, **changes: object) -> Path:
        return fetch_piper("tiny", dest, source=self.source, base=self.base, tree=f"{self.base}/tree",
                           progress=None, **changes)  # type: ignore[arg-type]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path / "published")
    yield h
    h.stop()


def test_a_piper_voice_is_fetched_checked_and_then_reads_bulletins(tmp_path: Path, hub: Hub) -> None:
    hub.publish()
    voices = tmp_path / "voices"
    dest = hub.fetch(voices / "piper-tiny")
    assert sorted(p.name for p in dest.iterdir()) == ["SHA256SUMS", "vi_VN-tiny.onnx", "vi_VN-tiny.onnx.json",
                                                      "voice.json"]
    assert verify(dest) == []
    found = all_voices(folder=voices)["piper-tiny"]
    assert (found.engine, found.region, found.gender, found.natural) == ("piper", "north", "female", True)
    assert make_engine("piper-tiny", all_voices(folder=voices)).synthesize("xin chào").duration_seconds > 0


@pytest.mark.parametrize("broken", ["model", "config", "pinned"])
def test_a_voice_that_does_not_match_its_checksum_installs_nothing(tmp_path: Path, hub: Hub, broken: str) -> None:
    hub.publish()
    where = f"/resolve/{voicefetch.PIPER_REVISION}/{hub.source.path}"
    if broken == "model":
        hub.files[f"{where}/vi_VN-tiny.onnx"] = hub.model[:-1] + b"x"
    elif broken == "config":
        hub.files[f"{where}/vi_VN-tiny.onnx.json"] = hub.config.replace(b"22050", b"22051") + b" "
    else:
        hub.source = PiperSource(**{**hub.source.__dict__, "model_sha256": "0" * 64})
    with pytest.raises(FetchError, match="checksum mismatch"):
        hub.fetch(tmp_path / "voices" / "piper-tiny")
    assert list((tmp_path / "voices").iterdir()) == []


def test_a_voice_for_another_language_is_refused(tmp_path: Path, hub: Hub) -> None:
    config = json.loads(hub.config)
    config["espeak"]["voice"] = "en-us"
    hub.publish(config=json.dumps(config).encode())
    with pytest.raises(FetchError, match="not Vietnamese"):
        hub.fetch(tmp_path / "voices" / "piper-tiny")
    assert list((tmp_path / "voices").iterdir()) == []


def test_without_internet_the_command_says_so_and_installs_nothing(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voicefetch, "PIPER_BASE", "http://voices.invalid")
    monkeypatch.setattr(voicefetch, "PIPER_TREE", "http://voices.invalid/tree")
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["voices", "fetch", "piper", "25hours", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "cannot reach voices.invalid" in err and "no internet access" in err
    assert not (tmp_path / "voices" / "piper-25hours").exists()
    assert main(["voices", "fetch", "piper", "--config", str(config)]) == 2
    assert "vais1000" in capsys.readouterr().err, "the published voices are named"


def test_voices_list_shows_each_voice_natural_or_robotic_and_the_default(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    installed_piper(tmp_path / "voices")
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["voices", "list", "--config", str(config)]) == 0
    lines = {line.split()[1] if line.startswith("*") else line.split()[0]: line
             for line in capsys.readouterr().out.splitlines()}
    assert lines["piper-tiny"].startswith("*") and "natural" in lines["piper-tiny"]
    assert "robotic" in lines["vi-nu"] and "Giọng máy, nữ miền Bắc" in lines["vi-nu"]
