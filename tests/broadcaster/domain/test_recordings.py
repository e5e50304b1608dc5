"""Uploaded recordings (any language): accepted in the formats phones and PCs produce, refused clearly
when they are not usable audio, and aired through the same path as speech."""

from __future__ import annotations

import random
import subprocess
from io import BytesIO
from pathlib import Path

import pytest

from broadcaster.db import Bulletin, Recording
from broadcaster.speech.voices import make_engine
from tests.support.audio import wav_stats
from tests.support.env import Env, wait_until


@pytest.fixture(scope="module")
def voice_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 3 s of real speech, standing in for an officer's recording."""
    path = tmp_path_factory.mktemp("rec") / "speech.wav"
    make_engine("vi").synthesize("Bà con thôn bản chú ý, chiều nay họp dân tại nhà văn hóa.").export(
        str(path), format="wav").close()
    return path


def encode(source: Path, suffix: str, *args: str) -> bytes:
    out = source.with_name(f"rec{suffix}")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), *args, str(out)], check=True)
    return out.read_bytes()


def upload(env: Env, data: bytes, filename: str = "ghi-am.mp3", language: str = "hmn",
           title: str = "Thông báo tiếng Hmông") -> tuple[int, dict[str, object]]:
    response = env.client.post("/api/v1/bulletins", headers=env.auth, content_type="multipart/form-data",
                               data={"title": title, "language": language, "audio": (BytesIO(data), filename)})
    return response.status_code, response.get_json()


def stored(env: Env) -> tuple[int, int, int]:
    uploads = Path(env.config.upload_dir)
    files = len([p for p in uploads.rglob("*") if p.is_file()]) if uploads.exists() else 0
    with env.db.session() as session:
        return session.query(Bulletin).count(), session.query(Recording).count(), files


@pytest.mark.parametrize(("suffix", "args"), [
    (".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
    (".m4a", ["-c:a", "aac", "-b:a", "64k"]),
    (".ogg", ["-c:a", "libopus", "-b:a", "24k"]),
    (".wav", []),
])
def test_recordings_in_common_formats_are_accepted(env: Env, voice_wav: Path, suffix: str, args: list[str]) -> None:
    status, body = upload(env, encode(voice_wav, suffix, *args), f"thong-bao{suffix}")
    assert status == 201, body
    assert body["kind"] == "recording" and body["language"] == "hmn" and body["state"] == "draft"
    assert 2.0 < float(body["duration_s"]) < 6.0  # type: ignore[arg-type]
    assert stored(env) == (1, 1, 1)


def amr_nb(seconds: float, seed: int = 1) -> bytes:
    """An AMR-NB file as phones record them (the .amr storage format, 12.2 kbit/s frames of 20 ms).

    Debian's ffmpeg has no AMR encoder, so the frames carry random speech-codec parameters: the decoder
    turns them into loud, noise-like sound, which exercises the same container and codec path as a phone's
    recording.
    """
    rng = random.Random(seed)
    frame = 0x3C  # frame type 7 (12.2 kbit/s), quality bit set
    frames = [bytes([frame]) + bytes(rng.getrandbits(8) for _ in range(31)) for _ in range(int(seconds * 50))]
    return b"#!AMR\n" + b"".join(frames)


def test_an_amr_recording_from_a_phone_is_accepted(env: Env) -> None:
    status, body = upload(env, amr_nb(4.0), "ghi-am-dien-thoai.amr", language="hmn")
    assert status == 201, body
    assert float(body["duration_s"]) == pytest.approx(4.0, abs=0.2)  # type: ignore[arg-type]
    truncated = amr_nb(4.0)[:5]
    assert upload(env, truncated, "hong.amr")[1]["error"]["code"] in {"not_audio", "silent_audio"}  # type: ignore[index]


def test_unusable_uploads_are_refused_clearly_and_nothing_is_kept(env: Env, voice_wav: Path, tmp_path: Path) -> None:
    silence = tmp_path / "silence.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-t", "3", str(silence)], check=True)
    env.config.speech.max_recording_s = 2
    cases = [
        (b"", "empty_file"),
        ("Đây không phải âm thanh.".encode(), "not_audio"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not_audio"),
        (voice_wav.read_bytes()[:600], "silent_audio"),
        (silence.read_bytes(), "recording_too_long"),
        (voice_wav.read_bytes(), "recording_too_long"),
    ]
    for data, code in cases:
        status, body = upload(env, data)
        assert (status, body["error"]["code"]) == (422, code), (code, body)  # type: ignore[index]
        assert body["error"]["message"]  # type: ignore[index]
    env.config.speech.max_recording_s = 1800
    assert upload(env, silence.read_bytes())[1]["error"]["code"] == "silent_audio"  # type: ignore[index]
    assert upload(env, voice_wav.read_bytes(), language="Tiếng Hmông")[1]["error"]["code"] == "invalid_language"  # type: ignore[index]
    assert upload(env, voice_wav.read_bytes(), title="")[1]["error"]["code"] == "missing_field"  # type: ignore[index]
    response = env.client.post("/api/v1/bulletins", headers=env.auth, content_type="multipart/form-data",
                               data={"title": "Không có tệp"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "audio"
    assert stored(env) == (0, 0, 0)


def test_an_uploaded_recording_airs_after_the_chime(env: Env, voice_wav: Path) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    status, body = upload(env, encode(voice_wav, ".m4a", "-c:a", "aac"), "hop-dan.m4a", language="tay")
    assert status == 201
    assert env.client.post(f"/api/v1/bulletins/{body['id']}/approve", headers=env.auth).status_code == 200
    response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
        "bulletin_id": body["id"], "targets": ["loa-01"], "priority": "normal", "play_at": None})
    assert response.status_code == 201
    broadcast_id = response.get_json()["id"]
    wait_until(lambda: env.device_states(broadcast_id) == {"loa-01": "played"}, timeout=60)
    (played,) = env.played_files("loa-01")
    duration, level = wav_stats(played)
    recording_s = wav_stats(voice_wav)[0]
    assert recording_s + 1.5 < duration < recording_s + 4.0, "the chime and pauses plus the whole recording"
    assert level > -35
