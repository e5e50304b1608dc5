"""Roles, areas, the approval workflow, API tokens, the login lockout and the audit log, through the API."""

from __future__ import annotations

import re
from typing import Any

import pytest

from broadcaster.db import Area
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device
from tests.support.env import Env


def call(env: Env, method: str, url: str, auth: dict[str, str], json: Any = None) -> tuple[int, Any]:
    response = env.client.open(f"/api/v1{url}", method=method, json=json, headers=auth)
    return response.status_code, response.get_json(silent=True)


def write(env: Env, auth: dict[str, str], text: str = "Họp dân lúc 8h sáng Chủ nhật.", **extra: Any) -> int:
    status, body = call(env, "POST", "/bulletins", auth, {"title": "Họp dân", "text": text, **extra})
    assert status == 201, body
    return int(body["id"])


@pytest.fixture
def commune_b(env: Env) -> int:
    """A second commune with one village and one loudspeaker cluster."""
    with env.db.session() as session:
        commune = ensure_area(session, "Xã Bên", "commune")
        ensure_airtime(session, commune, "00:00", "24:00")
        village = ensure_area(session, "Thôn Bên", "village", commune)
        ensure_device(session, "loa-b1", "Cụm loa Thôn Bên", village)
        return commune.id


def test_each_role_does_its_own_part_of_the_work(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    leader = env.user("chu-tich", ("approver",))
    operator = env.user("van-hanh", ("operator",))

    bulletin = write(env, editor, submit=True)
    assert call(env, "GET", f"/bulletins/{bulletin}", editor)[1]["state"] == "submitted"
    status, body = call(env, "POST", f"/bulletins/{bulletin}/approve", editor)
    assert status == 403 and body["error"]["code"] == "forbidden", "a writer cannot approve"
    status, own = call(env, "POST", "/bulletins", leader, {"title": "Lời chủ tịch", "text": "Họp dân tối nay."})
    assert status == 201, "a commune chairman writes too"
    status, body = call(env, "POST", f"/bulletins/{own['id']}/approve", leader)
    assert status == 403 and body["error"]["code"] == "own_bulletin", "...but another leader approves it"
    assert call(env, "POST", "/bulletins", operator, {"title": "x", "text": "y"})[0] == 403
    status, body = call(env, "POST", f"/bulletins/{bulletin}/approve", leader)
    assert status == 200 and body["state"] == "approved" and body["approved_by"] is not None

    normal = {"bulletin_id": bulletin, "targets": ["all"], "priority": "normal"}
    assert call(env, "POST", "/broadcasts", operator, normal)[0] == 403, "an operator does not schedule"
    status, broadcast = call(env, "POST", "/broadcasts", editor, normal)
    assert status == 201
    assert call(env, "POST", "/broadcasts", editor, {**normal, "priority": "emergency"})[0] == 403, \
        "an emergency is for leaders and operators"
    assert call(env, "POST", "/broadcasts", operator, {**normal, "priority": "emergency"})[0] == 201
    assert call(env, "PUT", "/devices/loa-01/volume", editor, {"volume": 50})[0] == 403
    assert call(env, "PUT", "/devices/loa-01/volume", operator, {"volume": 50})[0] == 200
    assert call(env, "POST", f"/broadcasts/{broadcast['id']}/stop", editor)[0] == 403
    assert call(env, "POST", f"/broadcasts/{broadcast['id']}/stop", operator)[0] == 200


def test_nobody_approves_their_own_bulletin_but_an_admin(env: Env) -> None:
    both = env.user("ca-hai", ("editor", "approver"))
    bulletin = write(env, both, submit=True)
    status, body = call(env, "POST", f"/bulletins/{bulletin}/approve", both)
    assert status == 403 and body["error"]["code"] == "own_bulletin"
    assert call(env, "POST", f"/bulletins/{bulletin}/approve", env.auth)[1]["state"] == "approved"


def test_a_rejected_bulletin_goes_back_with_a_comment_and_an_edited_one_needs_approval_again(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    leader = env.user("chu-tich", ("approver",))
    bulletin = write(env, editor, submit=True)
    assert call(env, "POST", f"/bulletins/{bulletin}/reject", leader, {})[1]["error"]["code"] == "missing_field"
    status, body = call(env, "POST", f"/bulletins/{bulletin}/reject", leader, {"comment": "Ghi rõ địa điểm."})
    assert status == 200 and body["state"] == "rejected" and body["review_comment"] == "Ghi rõ địa điểm."
    assert call(env, "POST", "/broadcasts", editor, {"bulletin_id": bulletin, "targets": ["all"]})[0] == 409

    call(env, "PATCH", f"/bulletins/{bulletin}", editor, {"text": "Họp dân lúc 8h tại nhà văn hóa thôn."})
    assert call(env, "POST", f"/bulletins/{bulletin}/submit", editor)[1]["state"] == "submitted"
    assert call(env, "POST", f"/bulletins/{bulletin}/approve", leader)[1]["state"] == "approved"
    listed = call(env, "GET", "/bulletins?state=approved", editor)[1]
    assert [b["id"] for b in listed] == [bulletin]

    status, body = call(env, "PATCH", f"/bulletins/{bulletin}", editor, {"text": "Họp dân lúc 9h."})
    assert status == 200 and body["state"] == "submitted" and body["approved_at"] is None, \
        "changed after approval: only what the leader read may air"
    status, body = call(env, "POST", "/broadcasts", editor, {"bulletin_id": bulletin, "targets": ["all"]})
    assert status == 409 and body["error"]["code"] == "not_approved"


def test_a_user_of_one_commune_neither_sees_nor_acts_on_another(env: Env, commune_b: int) -> None:
    a_editor = env.user("a-bien-tap", ("editor",))
    a_operator = env.user("a-van-hanh", ("operator",))
    b_editor = env.user("b-bien-tap", ("editor", "approver"), areas=("Xã Bên",))
    b_leader = env.user("b-chu-tich", ("approver",), areas=("Xã Bên",))

    b_devices = [d["id"] for d in call(env, "GET", "/devices", b_editor)[1]]
    assert b_devices == ["loa-b1"]
    assert "loa-b1" not in [d["id"] for d in call(env, "GET", "/devices", a_editor)[1]]

    b_bulletin = write(env, b_editor, submit=True)
    call(env, "POST", f"/bulletins/{b_bulletin}/approve", b_leader)
    status, broadcast = call(env, "POST", "/broadcasts", b_editor, {"bulletin_id": b_bulletin, "targets": ["all"]})
    assert status == 201 and [d["device_id"] for d in broadcast["devices"]] == ["loa-b1"], \
        "'all' means every device in the user's own areas"

    assert call(env, "GET", f"/bulletins/{b_bulletin}", a_editor)[0] == 404
    assert b_bulletin not in [b["id"] for b in call(env, "GET", "/bulletins", a_editor)[1]]
    assert call(env, "GET", f"/broadcasts/{broadcast['id']}", a_editor)[0] == 404
    assert broadcast["id"] not in [b["id"] for b in call(env, "GET", "/broadcasts", a_editor)[1]]
    assert call(env, "POST", f"/broadcasts/{broadcast['id']}/stop", a_operator)[0] == 404
    assert call(env, "PUT", "/devices/loa-b1/volume", a_operator, {"volume": 10})[0] == 404
    assert call(env, "PATCH", f"/bulletins/{b_bulletin}", a_editor, {"text": "Chiếm quyền."})[0] == 404

    a_bulletin = write(env, a_editor)
    call(env, "POST", f"/bulletins/{a_bulletin}/approve", env.auth)
    status, body = call(env, "POST", "/broadcasts", a_editor, {"bulletin_id": a_bulletin, "targets": ["loa-b1"]})
    assert status == 403 and body["error"]["code"] == "out_of_scope"
    status, body = call(env, "POST", "/broadcasts", a_editor,
                        {"bulletin_id": a_bulletin, "targets": [f"area:{commune_b}"]})
    assert status == 403 and body["error"]["code"] == "out_of_scope"
    status, body = call(env, "POST", "/bulletins", a_editor, {"title": "x", "text": "y", "area_id": commune_b})
    assert status == 403

    # The admin (no areas: everywhere) sees both communes.
    everything = {d["id"] for d in call(env, "GET", "/devices", env.auth)[1]}
    assert {"loa-01", "loa-b1"} <= everything


def test_area_targets_take_every_device_below_the_area(env: Env) -> None:
    with env.db.session() as session:
        village = session.query(Area).filter_by(name="Thôn 2").one().id
        commune = session.query(Area).filter_by(name="Xã Thử").one().id
    bulletin = write(env, env.auth)
    call(env, "POST", f"/bulletins/{bulletin}/approve", env.auth)
    one = call(env, "POST", "/broadcasts", env.auth, {"bulletin_id": bulletin, "targets": [f"area:{village}"]})[1]
    assert [d["device_id"] for d in one["devices"]] == ["loa-02"]
    every = call(env, "POST", "/broadcasts", env.auth, {"bulletin_id": bulletin, "targets": [f"area:{commune}"]})[1]
    assert len(every["devices"]) == 5


def page_login(env: Env, username: str, password: str) -> int:
    page = env.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return env.client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token.group(1)}).status_code


def test_repeated_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(env: Env) -> None:
    env.user("chu-tich", ("approver",))
    for _ in range(5):
        assert page_login(env, "chu-tich", "doan mo mat khau") == 401
    assert page_login(env, "chu-tich", "chu-tich password 123") == 429, "locked, even with the right password"
    users = {u["username"]: u for u in call(env, "GET", "/users", env.auth)[1]}
    assert users["chu-tich"]["locked"] is True
    call(env, "PATCH", f"/users/{users['chu-tich']['id']}", env.auth, {"unlock": True})
    assert page_login(env, "chu-tich", "chu-tich password 123") == 302
    assert page_login(env, "ai-do", "doan mo mat khau") == 401, "an unknown name gets the same answer"
    actions = [e["action"] for e in call(env, "GET", "/audit?user=chu-tich", env.auth)[1]]
    assert "login.lockout" in actions and "login.locked" in actions and "login" in actions


def test_every_change_is_in_the_audit_log_with_who_and_where(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    bulletin = write(env, editor, submit=True)
    call(env, "POST", f"/bulletins/{bulletin}/approve", env.auth)
    log = call(env, "GET", "/audit", env.auth)[1]
    approve = next(e for e in log if e["action"] == "bulletin.approve")
    create = next(e for e in log if e["action"] == "bulletin.create")
    assert approve["user"] == "admin" and approve["target"] == f"bulletin {bulletin}"
    assert create["user"] == "bien-tap" and create["address"] == "127.0.0.1" and create["at"]
    status, body = call(env, "GET", "/audit", editor)
    assert status == 403 and body["error"]["code"] == "forbidden", "only admins read the audit log"


def test_users_and_tokens(env: Env) -> None:
    status, body = call(env, "POST", "/users", env.auth, {"username": "moi", "password": "ngan", "roles": ["editor"],
                                                          "areas": []})
    assert status == 422 and body["error"]["code"] == "weak_password"
    status, body = call(env, "POST", "/users", env.auth, {"username": "moi", "password": "mot mat khau dai",
                                                          "roles": ["editor"], "areas": []})
    assert status == 422 and body["error"]["code"] == "invalid_areas"
    status, user = call(env, "POST", "/users", env.auth, {"username": "moi", "password": "mot mat khau dai",
                                                          "roles": ["editor", "boss"], "areas": [1]})
    assert status == 422 and user["error"]["code"] == "invalid_roles"

    editor = env.user("bien-tap", ("editor",))
    status, created = call(env, "POST", "/tokens", editor, {"name": "điện thoại"})
    assert status == 201 and len(created["token"]) > 30
    second = {"Authorization": f"Bearer {created['token']}"}
    assert call(env, "GET", "/me", second)[1]["username"] == "bien-tap"
    listed = call(env, "GET", "/tokens", editor)[1]
    assert {t["name"] for t in listed} == {"first token", "điện thoại"} and all("token" not in t for t in listed)
    assert call(env, "DELETE", f"/tokens/{created['id']}", editor)[0] == 204
    assert call(env, "GET", "/me", second)[0] == 401, "a deleted token stops working at once"
    assert call(env, "GET", "/users", editor)[0] == 403


def test_a_broadcast_whose_bulletin_changed_after_approval_does_not_air(env: Env) -> None:
    from tests.support.env import wait_until

    editor = env.user("bien-tap", ("editor",))
    bulletin = write(env, editor, submit=True)
    call(env, "POST", f"/bulletins/{bulletin}/approve", env.auth)
    broadcast = call(env, "POST", "/broadcasts", editor, {"bulletin_id": bulletin, "targets": ["loa-01"]})[1]
    call(env, "PATCH", f"/bulletins/{bulletin}", editor, {"text": "Nội dung khác chưa được duyệt."})
    env.start_worker()
    wait_until(lambda: env.status(broadcast["id"])["state"] == "failed", timeout=20)
    assert "awaits approval again" in str(env.status(broadcast["id"])["error"])
    assert env.device_states(broadcast["id"]) == {"loa-01": "failed"}


def test_a_group_of_clusters_is_a_target_within_the_users_areas(env: Env, commune_b: int) -> None:
    operator = env.user("van-hanh", ("operator",))
    status, group = call(env, "POST", "/groups", operator, {"name": "Loa chợ", "devices": ["loa-02", "loa-03"]})
    assert status == 201 and group["devices"] == ["loa-02", "loa-03"]
    assert call(env, "POST", "/groups", operator, {"name": "Lấn sang", "devices": ["loa-b1"]})[0] == 422, \
        "a cluster of another commune cannot be put in a group"
    bulletin = write(env, env.auth)
    call(env, "POST", f"/bulletins/{bulletin}/approve", env.auth)
    status, broadcast = call(env, "POST", "/broadcasts", env.auth,
                             {"bulletin_id": bulletin, "targets": [f"group:{group['id']}", "loa-01"]})
    assert status == 201 and [d["device_id"] for d in broadcast["devices"]] == ["loa-01", "loa-02", "loa-03"]
    outsider = env.user("b-bien-tap", ("editor", "approver"), areas=("Xã Bên",))
    assert call(env, "GET", "/groups", outsider)[1] == [], "another commune does not see the group"
    status, body = call(env, "POST", "/broadcasts", outsider, {"bulletin_id": bulletin,
                                                               "targets": [f"group:{group['id']}"]})
    assert status in (404, 422) and body["error"]["code"] in ("not_found", "unknown_target")
    status, renamed = call(env, "PUT", f"/groups/{group['id']}", operator, {"name": "Loa chợ mới",
                                                                            "devices": ["loa-02"]})
    assert status == 200 and renamed["devices"] == ["loa-02"]
