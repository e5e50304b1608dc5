"""The commune's own dictionary: edited through the API and the page, applied to previews, renders and
`broadcaster normalize --config`, before the built-in words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from broadcaster.assets import AssetStore
from broadcaster.speech.render import Speech
from tests.support.env import Env
from tests.support.web import csrf, login


def add(env: Env, word: str, reading: str) -> tuple[int, dict[str, object]]:
    response = env.client.post("/api/v1/lexicon", json={"word": word, "reading": reading}, headers=env.auth)
    return response.status_code, response.get_json()


def preview(env: Env, text: str) -> list[str]:
    response = env.client.post("/api/v1/normalize", json={"text": text}, headers=env.auth)
    assert response.status_code == 200
    sentences: list[str] = response.get_json()["sentences"]
    return sentences


def test_commune_words_are_added_listed_and_removed(env: Env) -> None:
    status, entry = add(env, "Nà Lầu", "Nà Làu")
    assert status == 201 and entry["word"] == "Nà Lầu"
    assert add(env, "Nà Lầu", "khác")[0] == 409
    for word, reading, code in (("", "x", "missing_field"), ("HTX", "", "missing_field"),
                                ("HTX", "hợp tác xã 2", "invalid_reading"), ("HTX", "!!!", "invalid_reading")):
        status, body = add(env, word, reading)
        assert (status, body["error"]["code"]) == (422, code)  # type: ignore[index]
    listed = env.client.get("/api/v1/lexicon", headers=env.auth).get_json()
    assert [(e["word"], e["reading"]) for e in listed] == [("Nà Lầu", "Nà Làu")]
    assert env.client.delete(f"/api/v1/lexicon/{entry['id']}", headers=env.auth).status_code == 204
    assert env.client.delete(f"/api/v1/lexicon/{entry['id']}", headers=env.auth).status_code == 404
    assert env.client.get("/api/v1/lexicon", headers=env.auth).get_json() == []


def test_preview_reads_with_the_commune_words_first(env: Env) -> None:
    assert preview(env, "TYT bản Nà Lầu mở cửa lúc 7h.") == ["trạm y tế bản Nà Lầu mở cửa lúc bảy giờ."]
    add(env, "Nà Lầu", "Nà Làu")
    add(env, "TYT", "trạm xá")
    assert preview(env, "TYT bản Nà Lầu mở cửa lúc 7h.") == ["trạm xá bản Nà Làu mở cửa lúc bảy giờ."]


def test_renders_change_when_the_dictionary_does(env: Env) -> None:
    speech = Speech(env.config.speech, AssetStore(env.config.asset_dir))
    text = "Họp ở bản Nà Lầu lúc 19h."
    with env.db.session() as session:
        before = speech.render(session, text).id
    add(env, "Nà Lầu", "Nà Làu")
    with env.db.session() as session:
        after = speech.render(session, text).id
    assert after != before, "the bulletin is spoken again with the commune's reading"


def test_normalize_command_uses_the_dictionary_of_a_server(env: Env, tmp_path: Path) -> None:
    add(env, "Nà Lầu", "Nà Làu")
    config = tmp_path / "server.toml"
    url = env.db.engine.url.render_as_string(hide_password=False)
    config.write_text(f'data_dir = "{tmp_path}"\ndatabase_url = "{url}"\n')
    result = subprocess.run([sys.executable, "-m", "broadcaster.cli", "normalize", "--config", str(config),
                             "Họp ở Nà Lầu."], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Họp ở Nà Làu."


def test_officers_edit_the_dictionary_on_a_page(env: Env) -> None:
    login(env)
    page = env.client.get("/lexicon").get_data(as_text=True)
    assert "Chưa có từ nào" in page
    response = env.client.post("/lexicon", data={"csrf_token": csrf(page), "word": "Nà Lầu", "reading": "Nà Làu"})
    assert response.status_code == 302
    page = env.client.get("/lexicon").get_data(as_text=True)
    assert "Nà Làu" in page
    again = env.client.post("/lexicon", data={"csrf_token": csrf(page), "word": "Nà Lầu", "reading": "x"})
    assert again.status_code == 422 and "Từ này đã có trong từ điển" in again.get_data(as_text=True)
    entry_id = env.client.get("/api/v1/lexicon", headers=env.auth).get_json()[0]["id"]
    assert env.client.post(f"/lexicon/{entry_id}/delete", data={"csrf_token": csrf(page)}).status_code == 302
    assert "Chưa có từ nào" in env.client.get("/lexicon").get_data(as_text=True)
    assert env.client.post(f"/lexicon/{entry_id}/delete").status_code == 400, "CSRF is checked"


def marks(env: Env, text: str) -> list[dict[str, object]]:
    response = env.client.post("/api/v1/normalize", json={"text": text}, headers=env.auth)
    assert response.status_code == 200
    found: list[dict[str, object]] = response.get_json()["marks"]
    return found


def test_readings_the_machine_cannot_settle_are_offered_and_one_click_settles_them(env: Env) -> None:
    """"3/12" alone may be the third of December or three out of twelve; an acronym nobody listed is spelled.
    The preview says so with the likely readings; the officer's choice goes into the commune dictionary and
    the text is then read that way, with nothing left to settle."""
    text = "Kết quả 3/12 đạt, chi trả qua ví XYZK."
    assert marks(env, text) == [
        {"kind": "date_or_ratio", "text": "3/12", "readings": ["mùng ba tháng mười hai", "ba trên mười hai"]},
        {"kind": "acronym", "text": "XYZK", "readings": ["ích i dét ca"]},
    ]
    assert marks(env, "Họp ngày 3/12 tại nhà văn hóa.") == [], "after 'ngày' it is a date, no doubt"
    assert marks(env, "Tiêm vaccine phòng Covid-19 cho trẻ.") == [], "listed foreign words are not doubted"
    login(env)
    page = env.client.get("/").get_data(as_text=True)
    assert 'id="reading-marks"' in page
    chosen = env.client.post("/lexicon/choose", data={"csrf_token": csrf(page), "word": "3/12",
                                                      "reading": "ba trên mười hai"})
    assert chosen.status_code == 200 and chosen.get_json() == {"word": "3/12", "reading": "ba trên mười hai"}
    live = env.client.post("/reading", data={"csrf_token": csrf(page), "text": text}).get_json()
    assert live["sentences"] == ["Kết quả ba trên mười hai đạt, chi trả qua ví ích i dét ca."]
    assert [m["text"] for m in live["marks"]] == ["XYZK"]
    changed = env.client.post("/lexicon/choose", data={"csrf_token": csrf(page), "word": "3/12",
                                                       "reading": "mùng ba tháng mười hai"})
    assert changed.status_code == 200, "a second choice replaces the first"
    assert preview(env, text)[0].startswith("Kết quả mùng ba tháng mười hai đạt")
    wrong = env.client.post("/lexicon/choose", data={"csrf_token": csrf(page), "word": "XYZK", "reading": "x 2"})
    assert wrong.status_code == 422 and "không có chữ số" in wrong.get_json()["error"]["message"]
    listed = env.client.get("/api/v1/lexicon", headers=env.auth).get_json()
    assert [(e["word"], e["reading"]) for e in listed] == [("3/12", "mùng ba tháng mười hai")]


def test_only_those_who_write_may_save_a_reading(env: Env) -> None:
    env.user("van-hanh", ("operator",))
    page = env.client.get("/login").get_data(as_text=True)
    env.client.post("/login", data={"username": "van-hanh", "password": "van-hanh password 123",
                                    "csrf_token": csrf(page)})
    page = env.client.get("/").get_data(as_text=True)
    refused = env.client.post("/lexicon/choose", data={"csrf_token": csrf(page), "word": "3/12",
                                                       "reading": "ba trên mười hai"})
    assert refused.status_code == 403
    assert env.client.get("/api/v1/lexicon", headers=env.auth).get_json() == []
