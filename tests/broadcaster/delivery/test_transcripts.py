"""What is said in a recording (uploaded, or kept from a live session) is written down by the offline recognizer,
for the reports: the words a listener hears, not the ones of another recording."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from broadcaster.delivery.transcribe import transcribe_next
from broadcaster.ops.microphone import Speaking, encoded
from broadcaster.speech.listening import compare
from tests.broadcaster.speech.test_listening import DIGITS, NEEDS_ASR
from tests.support.env import Env, wait_until

pytestmark = NEEDS_ASR


@pytest.fixture(scope="module")
def counting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Someone counting to ten, slowly (the recognizer knows numbers best; it hears about half of espeak-ng's
    robotic voice, and next to nothing of another sentence)."""
    path = tmp_path_factory.mktemp("counting") / "counting.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "110", "-w", str(path), ", ".join(DIGITS.split())], check=True)
    return path


def test_an_uploaded_recording_gets_its_transcript(env: Env, counting: Path) -> None:
    response = env.client.post("/api/v1/bulletins", headers=env.auth, content_type="multipart/form-data",
                               data={"title": "Đếm", "language": "vi",
                                     "audio": (io.BytesIO(counting.read_bytes()), "dem.wav")})
    assert response.status_code == 201
    assert transcribe_next(env.config, env.db) is True
    assert transcribe_next(env.config, env.db) is False, "each recording once"
    bulletin = env.client.get(f"/api/v1/bulletins/{response.get_json()['id']}", headers=env.auth).get_json()
    heard = bulletin["transcript"]
    assert compare(DIGITS, heard).understood >= 0.3, heard
    assert compare("hôm nay cơ quan thuế làm việc với doanh nghiệp", heard).understood < 0.2


def test_a_live_session_is_kept_with_what_was_said(env: Env, counting: Path) -> None:
    env.start_worker()
    agent = env.start_agent("loa-01")
    wait_until(lambda: agent.groups and agent.link.ready.is_set(), 30)
    body = env.client.post("/api/v1/live", json={"targets": ["loa-01"]}, headers=env.auth).get_json()
    speaking = Speaking(body["ws_url"], body["ticket"])
    speaking.open()
    speaking.send(encoded(str(counting)))
    broadcast_id = body["live"]["broadcast_id"]
    wait_until(lambda: env.client.get(f"/api/v1/live/{broadcast_id}", headers=env.auth).get_json()["recording"], 30)
    assert transcribe_next(env.config, env.db) is True
    live = env.client.get(f"/api/v1/live/{broadcast_id}", headers=env.auth).get_json()
    assert compare(DIGITS, live["transcript"]).understood >= 0.3, live["transcript"]
