"""Voices by name, checked on this machine, with a clear report and a fallback to the default voice."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.assets import AssetStore
from broadcaster.config import SpeechSettings, load_config
from broadcaster.database import Database
from broadcaster.speech.engines import EngineUnavailable, VoiceSettings
from broadcaster.speech.render import Speech
from broadcaster.speech.voices import DEFAULT_VOICE, all_voices, make_engine, resolve, voice_report
from edge_agent.settings import ConfigError
from tests.support.env import Env
from tests.support.web import login

BROKEN = {"cham": VoiceSettings(espeak_voice="cham-xx"), "neural": VoiceSettings(engine="wavenet")}


def test_builtin_voices_speak() -> None:
    for name in ("vi", "vi-central", "vi-south"):
        segment = make_engine(name).synthesize("Xin chào bà con.")
        assert len(segment) > 500 and segment.dBFS > -35


@pytest.mark.parametrize(("name", "reason"), [("cham", "no voice 'cham-xx'"), ("neural", "'wavenet' engine"),
                                              ("typo", "no voice named 'typo'")])
def test_unusable_voices_say_why(name: str, reason: str) -> None:
    with pytest.raises(EngineUnavailable, match=reason):
        make_engine(name, BROKEN)


def test_unusable_voice_falls_back_to_the_default_and_says_so() -> None:
    engine, problem = resolve("cham", BROKEN)
    assert engine.name == DEFAULT_VOICE
    assert problem is not None and "cham" in problem and "using 'vi' instead" in problem
    assert resolve("vi-south")[1] is None


def test_broadcasts_still_render_with_an_unusable_voice(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_all()
    speech = Speech(SpeechSettings(voice="cham", voices=BROKEN), AssetStore(tmp_path / "assets"))
    assert speech.engine()[1] is not None
    with db.session() as session:
        asset = speech.render(session, "Thông báo họp dân.")
    assert asset.duration_s > 1


def test_the_report_lists_every_voice_with_its_state() -> None:
    report = {v["name"]: v for v in voice_report(all_voices(BROKEN))}
    assert report["vi"]["available"] is True and report["vi"]["problem"] is None
    assert report["cham"]["available"] is False and "cham-xx" in str(report["cham"]["problem"])


def test_api_and_page_report_an_unusable_voice(env: Env) -> None:
    env.config.speech.voices = dict(BROKEN)
    env.config.speech.voice = "cham"
    body = env.client.get("/api/v1/voices", headers=env.auth).get_json()
    assert body["configured"] == "cham" and body["default"] == "cham" and body["in_use"] == "vi"
    assert {v["name"] for v in body["voices"]} >= {"vi", "vi-central", "vi-south", "cham", "neural"}
    login(env)
    assert "Giọng mặc định của xã (cham) không dùng được trên máy chủ" in env.client.get("/").get_data(as_text=True)
    env.config.speech.voice = "vi"
    assert "Giọng mặc định của xã (" not in env.client.get("/").get_data(as_text=True)


def test_voices_are_configured_by_name_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[speech]\nvoice = "cham"\n[speech.voices.cham]\nespeak_voice = "vi-vn-x-south"\nspeed_wpm = 120\n')
    config = load_config(path)
    assert config.speech.voices["cham"] == VoiceSettings(espeak_voice="vi-vn-x-south", speed_wpm=120)
    path.write_text('[speech]\nvoice = "nobody"\n')
    with pytest.raises(ConfigError, match=r"speech\.voice"):
        load_config(path)
