"""The listening check: word error rate against what was meant, by the real offline recognizer (viet-asr),
and the preview that shows it to the officer before air (API, page, browser)."""

from __future__ import annotations

import re

import pytest

from broadcaster.assets import AssetStore
from broadcaster.config import SpeechSettings
from broadcaster.database import Database
from broadcaster.db import Asset, ListeningCheck
from broadcaster.speech.audio import AudioSettings, finish, speech_program
from broadcaster.speech.listening import Listener, compare, listen, words
from broadcaster.speech.render import Speech
from broadcaster.speech.voices import make_engine
from tests.support.env import Env, wait_until
from tests.support.web import csrf, login

NEEDS_ASR = pytest.mark.skipif(Listener.problem() is not None, reason=f"{Listener.problem()}")
DIGITS = "một hai ba bốn năm sáu bảy tám chín mười"


def test_word_error_rate_and_missed_words() -> None:
    assert compare("Xin chào, bà con!", "xin chào bà con").understood == 1.0
    one_wrong = compare("xin chào bà con", "xin chào ba con")
    assert one_wrong.understood == pytest.approx(0.75) and one_wrong.missed == ["bà"]
    dropped = compare("họp dân tại nhà văn hóa", "họp dân nhà văn hóa")
    assert dropped.understood == pytest.approx(5 / 6) and dropped.missed == ["tại"]
    extra = compare("họp dân", "họp họp dân dân")
    assert extra.understood == 0.0 and extra.missed == []  # two insertions on two words: nothing understood
    assert compare("a b a b", "").missed == ["a", "b"]
    assert words("Đông-Phong: 7h30!") == ["đông", "phong", "7h30"]


@NEEDS_ASR
def test_the_recognizer_hears_what_was_said_not_something_else() -> None:
    settings = AudioSettings()
    audio = finish(speech_program([DIGITS], make_engine("vi"), settings), settings)
    right = listen(audio, DIGITS)
    wrong = listen(audio, "hôm nay cơ quan thuế làm việc với doanh nghiệp")
    assert right.heard.strip()
    assert right.understood > wrong.understood + 0.3
    assert set(right.missed) <= set(words(DIGITS))


@NEEDS_ASR
def test_preview_is_the_asset_that_airs_and_is_checked_once(tmp_path, monkeypatch) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_all()
    speech = Speech(SpeechSettings(), AssetStore(tmp_path / "assets"))
    spoken: list[str] = []
    engine = speech.engine()[0]
    real = engine.synthesize
    monkeypatch.setattr(engine, "synthesize", lambda s: spoken.append(s) or real(s))
    transcriptions: list[bytes] = []
    real_transcribe = Listener.transcribe
    monkeypatch.setattr(Listener, "transcribe", classmethod(
        lambda cls, audio: transcriptions.append(audio) or real_transcribe.__func__(cls, audio)))  # type: ignore
    with db.session() as session:
        first = speech.preview(session, DIGITS + ".")
        assert first.listening is not None and 0.0 <= first.listening.understood <= 1.0
        again = speech.preview(session, DIGITS + ".")
        aired = speech.render(session, DIGITS + ".")
    assert first.asset.id == again.asset.id == aired.id
    assert len(spoken) == 1 and len(transcriptions) == 1
    with db.session() as session:
        assert session.get(ListeningCheck, aired.id) is not None


@NEEDS_ASR
def test_api_preview_returns_reading_audio_and_check(env: Env) -> None:
    response = env.client.post("/api/v1/preview", json={"text": "UBND xã thông báo."}, headers=env.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["sentences"] == ["ủy ban nhân dân xã thông báo."]
    assert body["listening"]["understood"] >= 0 and body["voice"] == "vi"
    with env.client.get(body["audio_url"], headers=env.auth) as audio:
        assert audio.status_code == 200 and audio.mimetype == "audio/ogg"
        with env.db.session() as session:
            asset = session.get(Asset, body["asset_id"])
            assert asset is not None and audio.data == AssetStore(env.config.asset_dir).read(asset.id)
    with env.client.get(body["audio_url"], headers={**env.auth, "Range": "bytes=0-99"}) as part:
        assert part.status_code == 206 and len(part.data) == 100  # the page's player seeks with ranges
    assert env.client.get(body["audio_url"]).status_code == 401
    assert env.client.get("/api/v1/assets/" + "0" * 64, headers=env.auth).status_code == 404


def test_api_preview_refuses_bad_text(env: Env) -> None:
    for payload, code in (({}, "missing_field"), ({"text": "..."}, "cannot_render"), ({"text": 5}, "missing_field")):
        response = env.client.post("/api/v1/preview", json=payload, headers=env.auth)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == code


def test_page_preview_needs_login_and_csrf(env: Env) -> None:
    assert env.client.post("/preview", data={"text": "xin chào"}).status_code == 302
    login(env)
    assert env.client.post("/preview", data={"text": "xin chào"}).status_code == 400
    token = csrf(env.client.get("/").get_data(as_text=True))
    response = env.client.post("/preview", data={"text": "xin chào", "csrf_token": token})
    assert response.status_code == 200
    body = response.get_json()
    assert body["sentences"] == ["xin chào"] and body["audio_url"].startswith("/audio/")
    with env.client.get(body["audio_url"]) as audio:
        assert audio.status_code == 200
    refused = env.client.post("/preview", data={"text": " ", "csrf_token": token})
    assert refused.status_code == 422 and "nhập đầy đủ" in refused.get_json()["error"]["message"]
    assert re.search(r"Nghe thử", env.client.get("/").get_data(as_text=True))


@NEEDS_ASR
def test_what_was_previewed_is_what_airs_and_the_page_shows_its_check(env: Env) -> None:
    text = "Họp thôn lúc 19h."
    preview = env.client.post("/api/v1/preview", json={"text": text}, headers=env.auth).get_json()
    bulletin = env.client.post("/api/v1/bulletins", json={"title": "Họp", "text": text}, headers=env.auth).get_json()
    env.client.post(f"/api/v1/bulletins/{bulletin['id']}/approve", headers=env.auth)
    broadcast = env.client.post("/api/v1/broadcasts", json={"bulletin_id": bulletin["id"], "targets": ["all"]},
                                headers=env.auth).get_json()
    env.start_worker()

    def rendered() -> str | None:
        with env.db.session() as session:
            from broadcaster.db import Broadcast

            item = session.get(Broadcast, broadcast["id"])
            return item.asset_id if item is not None else None

    assert wait_until(rendered) == preview["asset_id"], "the worker aired the previewed audio, not a new render"
    login(env)
    page = env.client.get(f"/broadcasts/{broadcast['id']}").get_data(as_text=True)
    assert f"máy nghe hiểu {round(preview['listening']['understood'] * 100)}% số từ" in page
