"""The HTTP API: the happy path's shapes, and every bad input refused with a clear JSON error, storing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.db import Broadcast, Bulletin, Delivery
from tests.support.env import DEVICES, EXTRA_DEVICES, Env


def counts(env: Env) -> tuple[int, int, int]:
    with env.db.session() as session:
        return (session.query(Bulletin).count(), session.query(Broadcast).count(), session.query(Delivery).count())


def approved_bulletin(env: Env) -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": "Họp", "text": "Họp thôn lúc 19h."},
                               headers=env.auth)
    bulletin_id: int = response.get_json()["id"]
    env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth)
    return bulletin_id


def test_health_needs_no_token(env: Env) -> None:
    response = env.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_devices_list_their_village_and_state(env: Env) -> None:
    devices = env.client.get("/api/v1/devices", headers=env.auth).get_json()
    assert [d["id"] for d in devices] == sorted(DEVICES + EXTRA_DEVICES)
    first = devices[0]
    assert set(first) >= {"id", "name", "village", "online", "last_seen"}
    assert first["village"].startswith("Thôn") and first["online"] is False and first["last_seen"] is None


def test_bulletin_starts_as_draft_and_can_be_approved(env: Env) -> None:
    response = env.client.post("/api/v1/bulletins", json={"title": "Tiêm phòng", "text": "Tiêm phòng dại."},
                               headers=env.auth)
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "draft" and body["text"] == "Tiêm phòng dại."
    approved = env.client.post(f"/api/v1/bulletins/{body['id']}/approve", headers=env.auth).get_json()
    assert approved["state"] == "approved" and approved["approved_at"]


def test_broadcast_to_all_creates_one_pending_row_per_device(env: Env) -> None:
    bulletin_id = approved_bulletin(env)
    play_at = (datetime.now(UTC) + timedelta(hours=2)).astimezone().isoformat()
    response = env.client.post("/api/v1/broadcasts", headers=env.auth, json={
        "bulletin_id": bulletin_id, "targets": ["all"], "priority": "priority", "play_at": play_at})
    assert response.status_code == 201
    body = response.get_json()
    assert body["priority"] == "priority"
    assert abs(datetime.fromisoformat(body["play_at"]) - datetime.fromisoformat(play_at)) < timedelta(milliseconds=1)
    assert {d["device_id"] for d in body["devices"]} == set(DEVICES + EXTRA_DEVICES)
    assert {d["state"] for d in body["devices"]} == {"pending"}
    again = env.client.get(f"/api/v1/broadcasts/{body['id']}", headers=env.auth).get_json()
    assert again["id"] == body["id"] and len(again["devices"]) == len(body["devices"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}])
def test_missing_or_wrong_token_is_refused(env: Env, headers: dict[str, str]) -> None:
    before = counts(env)
    response = env.client.post("/api/v1/bulletins", json={"title": "x", "text": "y"}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert env.client.get("/api/v1/devices", headers=headers).status_code == 401
    assert counts(env) == before


@pytest.mark.parametrize(("body", "code"), [
    ({"title": "Tiêu đề", "text": ""}, "missing_field"),
    ({"title": "Tiêu đề", "text": "   \n "}, "missing_field"),
    ({"title": "", "text": "Nội dung"}, "missing_field"),
    ({"text": "Nội dung"}, "missing_field"),
    ({"title": "Tiêu đề", "text": 42}, "missing_field"),
    ({"title": "Tiêu đề", "text": "!!! ... ???"}, "nothing_to_say"),
    ({"title": "x" * 201, "text": "Nội dung"}, "too_long"),
    ({"title": "Tiêu đề", "text": "a\x00b"}, "invalid_text"),
])
def test_bad_bulletins_are_refused(env: Env, body: dict[str, object], code: str) -> None:
    before = counts(env)
    response = env.client.post("/api/v1/bulletins", json=body, headers=env.auth)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert counts(env) == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_malformed_json_is_refused(env: Env, raw: bytes) -> None:
    before = counts(env)
    for url in ("/api/v1/bulletins", "/api/v1/broadcasts"):
        response = env.client.post(url, data=raw, headers={**env.auth, "Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "bad_json"
    assert counts(env) == before


def test_broadcast_refusals_store_nothing(env: Env) -> None:
    bulletin_id = approved_bulletin(env)
    draft = env.client.post("/api/v1/bulletins", json={"title": "Nháp", "text": "Chưa duyệt."},
                            headers=env.auth).get_json()["id"]
    past = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    cases = [
        ({"bulletin_id": bulletin_id, "targets": ["loa-99"]}, 422, "unknown_target"),
        ({"bulletin_id": bulletin_id, "targets": ["loa-01", "nowhere"]}, 422, "unknown_target"),
        ({"bulletin_id": bulletin_id, "targets": []}, 422, "invalid_targets"),
        ({"bulletin_id": bulletin_id, "targets": "all"}, 422, "invalid_targets"),
        ({"bulletin_id": bulletin_id, "targets": ["all"], "play_at": past}, 422, "play_at_in_past"),
        ({"bulletin_id": bulletin_id, "targets": ["all"], "play_at": "tomorrow"}, 422, "invalid_time"),
        ({"bulletin_id": bulletin_id, "targets": ["all"], "play_at": "2030-01-01T06:00:00"}, 422, "invalid_time"),
        ({"bulletin_id": bulletin_id, "targets": ["all"], "priority": "urgent"}, 422, "invalid_priority"),
        ({"bulletin_id": draft, "targets": ["all"]}, 409, "not_approved"),
        ({"bulletin_id": 9999, "targets": ["all"]}, 422, "not_found"),
        ({"bulletin_id": "1", "targets": ["all"]}, 422, "missing_field"),
        ({"targets": ["all"]}, 422, "missing_field"),
    ]
    before = counts(env)
    for body, status, code in cases:
        response = env.client.post("/api/v1/broadcasts", json=body, headers=env.auth)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), body
    assert counts(env) == before


def test_unknown_things_answer_json_404(env: Env) -> None:
    for url in ("/api/v1/broadcasts/12345", "/api/v1/bulletins/12345", "/api/v1/nothing-here"):
        response = env.client.get(url, headers=env.auth)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    response = env.client.post("/api/v1/bulletins/12345/approve", headers=env.auth)
    assert response.status_code == 404
    assert env.client.delete("/api/v1/health").get_json()["error"]["code"] == "method_not_allowed"
    huge = "9" * 40  # more than any database column holds: not found, for every method, never a crash
    for method, url in (("get", f"/api/v1/bulletins/{huge}"), ("patch", f"/api/v1/bulletins/{huge}"),
                        ("post", f"/api/v1/broadcasts/{huge}/stop"), ("get", f"/bulletins/{huge}")):
        response = getattr(env.client, method)(url, headers=env.auth, json={"title": "x"})
        assert response.status_code == 404, (method, url, response.status_code)


def test_oversized_body_is_refused(env: Env) -> None:
    before = counts(env)
    response = env.client.post("/api/v1/bulletins", data=b'{"title": "x", "text": "' + b"a" * 2_000_000 + b'"}',
                               headers={**env.auth, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert counts(env) == before


def test_the_broadcast_list_comes_a_page_at_a_time_with_counts_per_state(env: Env) -> None:
    bulletin = env.client.post("/api/v1/bulletins", headers=env.auth, json={"title": "Trang", "text": "Thử."})
    bulletin_id = bulletin.get_json()["id"]
    env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth)
    made = [env.client.post("/api/v1/broadcasts", headers=env.auth,
                            json={"bulletin_id": bulletin_id, "targets": ["loa-01", "loa-02"]}).get_json()["id"]
            for _ in range(5)]
    first = env.client.get("/api/v1/broadcasts?limit=2", headers=env.auth)
    assert [b["id"] for b in first.get_json()] == made[:-3:-1], "newest first"
    assert first.get_json()[0]["targets"] == 2 and first.get_json()[0]["counts"] == {"pending": 2}
    assert "devices" not in first.get_json()[0], "a list carries counts, not every cluster"
    seen = [b["id"] for b in first.get_json()]
    link = first.headers["Link"]
    while link:
        following = env.client.get(link.split(">")[0][1:], headers=env.auth)
        seen += [b["id"] for b in following.get_json()]
        link = following.headers.get("Link", "")
    assert seen[:5] == made[::-1] and len(seen) == len(set(seen)), "every broadcast once, in order"
    bad = env.client.get("/api/v1/broadcasts?before=abc", headers=env.auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "before"
