"""``broadcaster voices fetch``: against a local web server laid out like the real source (a zip on a release
and a release document publishing its SHA-256), and against no network at all."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.cli import main
from broadcaster.speech import voicefetch
from broadcaster.speech.voicefetch import FetchError, fetch, verify
from broadcaster.speech.voices import make_engine
from tests.support.sites import Site
from tests.support.voices import voices, write_voice


def voice_zip(tmp_path: Path, extra: dict[str, bytes] | None = None) -> bytes:
    folder = write_voice(tmp_path / "src", "small")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"VIET_TTS_V0_4_1/{path.name}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


class Release(Site):
    """GitHub, as far as a release's zip and the document publishing its checksum go."""

    @property
    def requests(self) -> list[str]:
        return [path for path, _ in self.answers]

    def source(self, **changes: object) -> voicefetch.Source:
        real = voicefetch.SOURCES["viettts"]
        return replace(real, url=f"{self.url}/download/{real.asset}", digest_api=f"{self.url}/release",
                       **changes)  # type: ignore[arg-type]

    def publish(self, data: bytes, digest: str | None = None) -> None:
        asset = voicefetch.SOURCES["viettts"].asset
        self.files[f"/download/{asset}"] = data
        entry = {"name": asset, "digest": f"sha256:{digest or hashlib.sha256(data).hexdigest()}"}
        release = {"tag_name": "resources", "assets": [{"name": "other.zip"}, entry]}
        self.files["/release"] = json.dumps(release).encode()


@pytest.fixture
def site() -> Iterator[Release]:
    s = Release()
    yield s
    s.stop()


def test_fetch_verifies_against_the_published_checksum_and_installs_a_working_voice(
        tmp_path: Path, site: Release) -> None:
    site.publish(voice_zip(tmp_path))
    dest = fetch("viettts", tmp_path / "voices" / "viettts", source=site.source(), progress=None)
    assert sorted(p.name for p in dest.iterdir()) == sorted([*voicefetch.SOURCES["viettts"].files, "SHA256SUMS",
                                                             "voice.json"])
    assert verify(dest) == []
    assert make_engine("nam", voices(dest)).synthesize("xin chào").duration_seconds > 0
    (dest / "lexicon.txt").write_text("hỏng\n")
    assert verify(dest) == ["lexicon.txt"]


def test_a_download_that_does_not_match_its_checksum_installs_nothing(tmp_path: Path, site: Release) -> None:
    site.publish(voice_zip(tmp_path), digest="0" * 64)
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch("viettts", tmp_path / "voices" / "viettts", source=site.source(), progress=None)
    assert list((tmp_path / "voices").iterdir()) == []


def test_a_given_checksum_wins_over_the_published_one(tmp_path: Path, site: Release) -> None:
    data = voice_zip(tmp_path)
    site.publish(data, digest="0" * 64)
    dest = fetch("viettts", tmp_path / "v", sha256=hashlib.sha256(data).hexdigest(), source=site.source(),
                 progress=None)
    assert verify(dest) == []


def test_without_any_checksum_nothing_is_downloaded(tmp_path: Path, site: Release) -> None:
    site.files["/release"] = b'{"assets": []}'
    with pytest.raises(FetchError, match=r"no published SHA-256.*--sha256"):
        fetch("viettts", tmp_path / "v", source=site.source(), progress=None)
    assert not any(path.startswith("/download") for path in site.requests)


@pytest.mark.parametrize(("prefix", "reason"), [("", "not a usable vietTTS voice"), ("../", "archive lacks")])
def test_an_archive_with_files_that_are_not_a_voice_is_refused(tmp_path: Path, site: Release, prefix: str,
                                                               reason: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in voicefetch.SOURCES["viettts"].files:
            zf.writestr(f"{prefix}{name}", b"not a checkpoint")
    site.publish(buffer.getvalue())
    with pytest.raises(FetchError, match=reason):
        fetch("viettts", tmp_path / "voices" / "v", source=site.source(), progress=None)
    assert not (tmp_path / "lexicon.txt").exists() and not (tmp_path / "voices" / "v").exists()


def test_without_internet_the_command_says_so_and_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    unreachable = replace(voicefetch.SOURCES["viettts"], url="http://voices.invalid/v.zip",
                          digest_api="http://voices.invalid/release")
    monkeypatch.setitem(voicefetch.SOURCES, "viettts", unreachable)
    code = main(["voices", "fetch", "viettts", "--dest", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot reach voices.invalid" in err and "no internet access" in err and "copy the folder" in err
    assert not (tmp_path / "v").exists()


def test_voices_list_shows_which_voices_can_speak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[speech]\nvoice = "nam"\n'
                      f'[speech.voices.nam]\nengine = "viettts"\nmodel = "{tmp_path / "nowhere"}"\n')
    assert main(["voices", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "* nam" in out and "UNAVAILABLE" in out and "vi " in out
