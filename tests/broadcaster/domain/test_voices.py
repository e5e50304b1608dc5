"""Choosing the voice: per bulletin (accent, gender, speed), else the commune's, else the server's; through the
API and the write page; what airs is what was chosen and heard."""

from __future__ import annotations

from typing import Any

from broadcaster.assets import AssetStore
from broadcaster.db import Area, Bulletin
from broadcaster.domain.voices import reading_of
from broadcaster.speech.render import Speech
from tests.support.env import Env, wait_until
from tests.support.web import csrf, login

TEXT = "Chiều nay họp dân tại nhà văn hóa thôn lúc 14h."


def write(env: Env, **fields: object) -> tuple[int, dict[str, Any]]:
    response = env.client.post("/api/v1/bulletins", json={"title": "Họp dân", "text": TEXT, **fields},
                               headers=env.auth)
    return response.status_code, response.get_json()


def test_a_bulletin_keeps_its_voice_and_speed_and_refuses_what_the_server_cannot_read(env: Env) -> None:
    status, bulletin = write(env, voice="vi-south-nu", speed=1.2)
    assert status == 201 and (bulletin["voice"], bulletin["speed"]) == ("vi-south-nu", 1.2)
    status, plain = write(env)
    assert (plain["voice"], plain["speed"]) == (None, 1.0), "nothing chosen: the commune's voice at its own pace"
    for fields, code in (({"voice": "giong-la"}, "unknown_voice"), ({"voice": 5}, "unknown_voice"),
                         ({"speed": 3}, "invalid_speed"), ({"speed": "nhanh"}, "invalid_speed"),
                         ({"speed": True}, "invalid_speed")):
        status, body = write(env, **fields)
        assert (status, body["error"]["code"]) == (422, code), fields


def test_a_new_voice_for_approved_content_sends_it_back_for_approval(env: Env) -> None:
    _, bulletin = write(env)
    assert env.client.post(f"/api/v1/bulletins/{bulletin['id']}/approve", headers=env.auth).status_code == 200
    response = env.client.patch(f"/api/v1/bulletins/{bulletin['id']}", json={"voice": "vi-nu"}, headers=env.auth)
    assert response.status_code == 200
    assert (response.get_json()["voice"], response.get_json()["state"]) == ("vi-nu", "submitted"), \
        "the approver hears again what will air"


def test_the_commune_chooses_its_voice_and_a_bulletin_may_choose_another(env: Env) -> None:
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one().id
    editor = env.user("bientap", ("editor",))
    assert env.client.put(f"/api/v1/areas/{commune}/voice", json={"voice": "vi-central"},
                          headers=editor).status_code == 403, "an area's voice is an admin's choice"
    response = env.client.put(f"/api/v1/areas/{commune}/voice", json={"voice": "vi-central"}, headers=env.auth)
    assert response.status_code == 200
    assert env.client.put(f"/api/v1/areas/{commune}/voice", json={"voice": "khong-co"},
                          headers=env.auth).status_code == 422
    _, plain = write(env, area_id=commune)
    _, chosen = write(env, area_id=commune, voice="vi-nu", speed=0.8)
    with env.db.session() as session:
        assert reading_of(session, session.get(Bulletin, plain["id"])) == ("vi-central", 1.0)
        assert reading_of(session, session.get(Bulletin, chosen["id"])) == ("vi-nu", 0.8)
    voices = env.client.get("/api/v1/voices", headers=editor).get_json()
    assert voices["default"] == "vi-central", "the editor of that commune hears its voice by default"
    assert voices["natural_available"] is False
    labels = {v["name"]: (v["label"], v["region"], v["gender"], v["natural"]) for v in voices["voices"]}
    assert labels["vi-south-nu"] == ("Giọng máy, nữ miền Nam", "south", "female", False)


def test_preview_reads_with_the_chosen_voice_and_speed(env: Env) -> None:
    def preview(**fields: object) -> dict[str, Any]:
        response = env.client.post("/api/v1/preview", json={"text": TEXT, **fields}, headers=env.auth)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    plain, woman, slow = preview(), preview(voice="vi-nu"), preview(voice="vi-nu", speed=0.8)
    assert (plain["voice"], woman["voice"]) == ("vi", "vi-nu")
    assert woman["voice_label"] == "Giọng máy, nữ miền Bắc" and woman["natural_voice"] is False
    assert len({plain["asset_id"], woman["asset_id"], slow["asset_id"]}) == 3
    assert slow["duration_s"] > woman["duration_s"] + 1, "read slower, it lasts longer"


def test_the_write_page_offers_the_voices_says_the_voice_is_robotic_and_keeps_the_choice(env: Env) -> None:
    login(env)
    page = env.client.get("/").get_data(as_text=True)
    assert "Giọng máy, nữ miền Nam" in page and "Giọng mặc định của xã: Giọng máy, nam miền Bắc" in page
    assert "broadcaster voices fetch piper vais1000" in page, "the one command that gives a natural voice"
    response = env.client.post("/send", data={"csrf_token": csrf(page), "title": "Họp dân", "text": "",
                                              "voice": "vi-south-nu", "speed": "1.1"})
    again = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<option value="vi-south-nu"  selected>' in again and '<option value="1.1" selected>' in again, \
        "a refusal keeps the voice and speed that were chosen"
    response = env.client.post("/send", data={"csrf_token": csrf(page), "title": "Họp dân", "text": TEXT,
                                              "voice": "vi-south-nu", "speed": "1.1"})
    assert response.status_code == 302
    with env.db.session() as session:
        bulletin = session.query(Bulletin).order_by(Bulletin.id.desc()).first()
        assert bulletin is not None and (bulletin.voice, bulletin.speed) == ("vi-south-nu", 1.1)


def test_what_airs_is_read_by_the_chosen_voice(env: Env) -> None:
    _, bulletin = write(env, voice="vi-south-nu", speed=1.1)
    assert env.client.post(f"/api/v1/bulletins/{bulletin['id']}/approve", headers=env.auth).status_code == 200
    env.start_worker()
    response = env.client.post("/api/v1/broadcasts", json={"bulletin_id": bulletin["id"], "targets": ["loa-01"]},
                               headers=env.auth)
    assert response.status_code == 201
    asset = wait_until(lambda: env.status(response.get_json()["id"])["asset"], timeout=60)
    speech = Speech(env.config.speech, AssetStore(env.config.asset_dir))
    with env.db.session() as session:
        assert asset == speech.render(session, TEXT, "vi-south-nu", 1.1).id
        assert asset != speech.render(session, TEXT).id


def test_an_admin_chooses_the_communes_voice_on_the_areas_page(env: Env) -> None:
    login(env)
    page = env.client.get("/admin/areas").get_data(as_text=True)
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one().id
    response = env.client.post("/admin/areas", data={"csrf_token": csrf(page), "action": "voice",
                                                     "area_id": str(commune), "voice": "vi-south"})
    assert response.status_code == 302
    body = env.client.get("/api/v1/areas", headers=env.auth).get_json()
    assert {a["id"]: a["voice"] for a in body}[commune] == "vi-south"
    _, bulletin = write(env, area_id=commune)
    page = env.client.get(f"/bulletins/{bulletin['id']}").get_data(as_text=True)
    assert "Giọng đọc: Giọng máy, nam miền Nam · tốc độ: Bình thường" in page, "the approver sees who will read it"
