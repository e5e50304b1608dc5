"""The authorization matrix: every API operation x every role x inside and outside the user's commune.

The expected roles are written here from the roles as the officers know them (editors write, approvers approve
and schedule, operators run the loudspeakers, everyone sees), not read from the code. No token: 401. A role
without the right: 403. The right role in another commune: the thing is not found (404), or refused (4xx), and
a list never shows it. The right role in its own commune: neither 401, 403 nor 404, and never 5xx."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from broadcaster.db import Alarm, ApiToken, Area, User
from broadcaster.domain.accounts import create_token
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device
from tests.support.env import Env

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

ROLES = ("admin", "editor", "approver", "operator", "integration")
EVERYONE = frozenset(ROLES)
PEOPLE = EVERYONE - {"integration"}
"""Every role but another system's token, which may only read (GET)."""
WRITE = frozenset({"admin", "editor", "approver"})  # a commune chairman writes too (issue 18)
APPROVE = frozenset({"admin", "approver"})
SCHEDULE = frozenset({"admin", "editor", "approver"})
COMMAND = frozenset({"admin", "approver", "operator"})  # stop a broadcast, send an emergency
OPERATE = frozenset({"admin", "operator"})
ADMIN = frozenset({"admin"})

CAP = "<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier></alert>"
SQUARE = {"type": "Polygon", "coordinates": [[[105.8, 21.0], [105.9, 21.0], [105.9, 21.1], [105.8, 21.0]]]}


def cap_alert(identifier: str, sender: str) -> bytes:
    """A Vietnamese alert for Thôn 1 (loa-01), from ``sender``."""
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>{sender}</sender><sent>2026-11-22T06:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>
<scope>Public</scope><info><language>vi-VN</language><category>Met</category><event>Bão</event>
<urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<headline>Bão số 9</headline><area><areaDesc>Thôn 1</areaDesc></area></info></alert>""".encode()

# (method, path, who may, body, scoped): ``scoped`` says a user of another commune must not reach A's thing.
MATRIX: list[tuple[str, str, frozenset[str], Any, bool]] = [
    ("get", "/alarms", EVERYONE, None, True),
    ("post", "/alarms/{alarm}/ack", OPERATE, None, True),
    ("get", "/areas", EVERYONE, None, True),
    ("post", "/areas", ADMIN, {"name": "Thôn Mới {n}", "kind": "village", "parent_id": "{commune}"}, False),
    ("put", "/areas/{village}/airtime", ADMIN, {"allowed_from": "00:00", "allowed_to": "24:00"}, True),
    ("put", "/areas/{village}/voice", ADMIN, {"voice": "vi-nu"}, True),
    ("get", "/audit", ADMIN, None, False),
    ("post", "/broadcasts", SCHEDULE, {"bulletin_id": "{approved}", "targets": ["loa-01"]}, True),
    ("get", "/broadcasts", EVERYONE, None, True),
    ("get", "/broadcasts/{broadcast}", EVERYONE, None, True),
    ("post", "/broadcasts/{broadcast}/stop", COMMAND, None, True),
    ("post", "/broadcasts/check", SCHEDULE, {"bulletin_id": "{approved}", "targets": ["loa-01"]}, True),
    ("post", "/bulletins", WRITE, {"title": "Thử", "text": "Bản tin thử {n}."}, False),
    ("get", "/bulletins", EVERYONE, None, True),
    ("get", "/bulletins/{approved}", EVERYONE, None, True),
    ("patch", "/bulletins/{approved}", WRITE, {"text": "Sửa lại {n}."}, True),
    ("post", "/bulletins/{submitted}/approve", APPROVE, None, True),
    ("post", "/bulletins/{submitted}/reject", APPROVE, {"comment": "Viết lại."}, True),
    ("post", "/bulletins/{draft}/submit", WRITE, None, True),
    ("get", "/calendar", EVERYONE, None, True),
    ("get", "/export/clusters", EVERYONE, None, True),
    ("get", "/export/statistics", EVERYONE, None, True),
    ("post", "/cap", COMMAND, CAP, False),
    ("get", "/cap/alerts", EVERYONE, None, True),
    ("get", "/cap/alerts/{alert}", EVERYONE, None, True),
    ("post", "/cap/alerts/{held}/release", COMMAND, {}, True),
    ("get", "/cap/issuers", ADMIN, None, False),
    ("post", "/cap/issuers", ADMIN, {"name": "Đài {n}", "senders": ["dai-{n}@kttv.gov.vn"]}, False),
    ("put", "/cap/issuers/{issuer}", ADMIN, {"name": "Đài {n}", "senders": ["dai-{n}@kttv.gov.vn"]}, False),
    ("get", "/cap/feeds", ADMIN, None, False),
    ("post", "/cap/feeds", ADMIN, {"url": "https://canhbao.example/feed-{n}.atom"}, False),
    ("delete", "/cap/feeds/{feed}", ADMIN, None, False),
    ("get", "/cap/mapping", EVERYONE, None, False),
    ("put", "/cap/mapping", ADMIN, {"rules": []}, False),  # one table per server, like the dictionary
    ("get", "/cap/geocodes", EVERYONE, None, True),
    ("post", "/cap/geocodes", ADMIN, {"value_name": "MA_XA", "value": "{n}", "area_id": "{village}"}, True),
    ("delete", "/cap/geocodes/{geocode}", ADMIN, None, True),
    ("put", "/areas/{village}/outline", ADMIN, {"geojson": SQUARE}, True),
    ("get", "/dashboard", EVERYONE, None, True),
    ("get", "/dashboard/areas", EVERYONE, None, True),
    ("get", "/devices", EVERYONE, None, True),
    ("get", "/map", EVERYONE, None, True),
    ("put", "/devices/loa-01/position", OPERATE, {"lat": 21.0, "lon": 105.8}, True),
    ("put", "/devices/loa-01/power", OPERATE, {"enabled": False}, True),
    ("put", "/devices/loa-01/volume", OPERATE, {"volume": 40}, True),
    ("get", "/emergency/templates", EVERYONE, None, False),
    ("post", "/emergency", COMMAND, {"targets": ["loa-01"], "template": "storm"}, True),
    ("get", "/groups", EVERYONE, None, True),
    ("post", "/groups", OPERATE, {"name": "Chợ {n}", "devices": ["loa-01"]}, True),
    ("put", "/groups/{group}", OPERATE, {"name": "Trường {n}", "devices": ["loa-01"]}, True),
    ("post", "/live", COMMAND, {"targets": ["loa-01"], "priority": "emergency"}, True),  # approvers, operators
    ("get", "/live/{live}", EVERYONE, None, True),
    ("post", "/live/{live}/stop", COMMAND, None, True),
    ("get", "/lexicon", EVERYONE, None, False),
    ("post", "/lexicon", WRITE, {"word": "HTX{n}", "reading": "hợp tác xã"}, False),
    ("delete", "/lexicon/{entry}", WRITE, None, False),  # one dictionary per server (docs/reliability.md)
    ("get", "/me", EVERYONE, None, False),
    ("get", "/me/notifications", EVERYONE, None, False),
    ("put", "/me/notifications", PEOPLE, {"email": "truc-ban-{n}@xa.example.vn", "severity": "critical"}, False),
    ("post", "/me/notifications/test", PEOPLE, None, False),  # 422 without an address: still allowed
    ("post", "/normalize", PEOPLE, {"text": "UBND xã"}, False),
    ("get", "/playback", EVERYONE, None, True),
    ("post", "/preview", PEOPLE, {"text": "Xin chào."}, False),
    ("post", "/programmes", SCHEDULE, {"title": "Buổi sáng", "items": [{"bulletin_id": "{approved}"}],
                                        "targets": ["loa-01"]}, True),
    ("get", "/reports/airtime", EVERYONE, None, True),
    ("get", "/tokens", EVERYONE, None, False),
    ("post", "/tokens", PEOPLE, {"name": "điện thoại {n}"}, False),
    ("delete", "/tokens/{token}", PEOPLE, None, True),  # one's own only: another's is not found
    ("get", "/users", ADMIN, None, True),
    ("post", "/users", ADMIN, {"username": "moi-{n}", "password": "mật khẩu mới 123", "roles": ["editor"]}, False),
    ("patch", "/users/{user}", ADMIN, {"roles": ["editor"]}, True),
    ("get", "/voices", EVERYONE, None, False),
]
PUBLIC = {"/health", "/openapi.json"}
LEFT_OUT = {"/events": "a stream held open for minutes (test_dashboard checks its scope)",
            "/broadcasts/{broadcast_id}/events": "a stream held open for minutes (test_dashboard checks its scope)",
            "/assets/{asset_id}": "content-addressed: the SHA-256 of the audio is the key"}
counter = itertools.count(1)


class Commune:
    """Commune A (the fixture's Xã Thử with loa-01...) and B (Xã Bên with loa-b), a user of every role in each,
    and things in A to act on, made afresh for every attempt so one attempt cannot spoil the next."""

    def __init__(self, env: Env) -> None:
        self.env = env
        with env.db.session() as session:
            other = ensure_area(session, "Xã Bên", "commune")
            ensure_airtime(session, other, "00:00", "24:00")
            ensure_device(session, "loa-b", "Cụm loa bên", ensure_area(session, "Thôn Bên", "village", other))
            self.commune = session.query(Area).filter_by(name="Xã Thử").one().id
            self.village = session.query(Area).filter_by(name="Thôn 1").one().id
        self.auth = {(role, place): env.user(f"{role}-{place.lower()}", (role,), (commune,))
                     for role in ROLES for place, commune in (("A", "Xã Thử"), ("B", "Xã Bên"))}

    def things(self, role: str) -> dict[str, object]:
        """Fresh things in commune A; ``{token}`` is one of ``role``'s own in A."""
        env, n = self.env, next(counter)
        editor, approver = self.auth[("editor", "A")], self.auth[("approver", "A")]

        def post(path: str, body: dict[str, Any], auth: dict[str, str]) -> Any:
            response = env.client.post(f"/api/v1{path}", json=body, headers=auth)
            assert response.status_code in (200, 201), (path, response.get_json())
            return response.get_json()

        draft = post("/bulletins", {"title": "Nháp", "text": f"Bản nháp {n}."}, editor)["id"]
        submitted = post("/bulletins", {"title": "Chờ duyệt", "text": f"Chờ duyệt {n}.", "submit": True}, editor)["id"]
        approved = post("/bulletins", {"title": "Đã duyệt", "text": f"Đã duyệt {n}.", "submit": True}, editor)["id"]
        post(f"/bulletins/{approved}/approve", {}, approver)
        broadcast = post("/broadcasts", {"bulletin_id": approved, "targets": ["loa-01"]}, approver)["id"]
        group = post("/groups", {"name": f"Nhóm {n}", "devices": ["loa-01"]}, self.auth[("operator", "A")])["id"]
        entry = post("/lexicon", {"word": f"TỪ{n}", "reading": "từ"}, editor)["id"]
        admin, operator = self.auth[("admin", "A")], self.auth[("operator", "A")]
        issuer = post("/cap/issuers", {"name": f"Đài giữ {n}", "senders": [f"giu-{n}@kttv.gov.vn"],
                                       "hold_for_approval": True}, admin)["id"]
        feed = post("/cap/feeds", {"url": f"https://canhbao.example/a-{n}.atom"}, admin)["id"]
        geocode = post("/cap/geocodes", {"value_name": "MA_THON", "value": str(n), "area_id": self.village},
                       admin)["id"]

        def alert(identifier: str, sender: str) -> Any:
            response = env.client.post("/api/v1/cap", data=cap_alert(identifier, sender), headers=operator,
                                       content_type="application/cap+xml")
            assert response.status_code in (200, 201), response.get_json()
            return response.get_json()["id"]

        live = post("/live", {"targets": ["loa-02"], "priority": "emergency"}, operator)["live"]["broadcast_id"]
        post(f"/live/{live}/stop", {}, operator)  # ended before its microphone came: loa-02 is free again
        aired = alert(f"A-{n}", "kttv@nchmf.gov.vn")
        held = alert(f"H-{n}", f"giu-{n}@kttv.gov.vn")
        if role == "integration":  # it cannot make one through the API: the admin's CLI gives it one
            with env.db.session() as session:
                owner = session.query(User).filter_by(username="integration-a").one()
                mine = create_token(session, owner, f"thử {n}")[0].id
        else:
            mine = post("/tokens", {"name": f"thử {n}"}, self.auth[(role, "A")])["id"]
        with env.db.session() as session:
            alarm = Alarm(device_id="loa-01", kind="playback", ref=str(n), message="thử")
            session.add(alarm)
            session.flush()
            user = session.query(User).filter_by(username="editor-a").one().id
            alarm_id = alarm.id
        return {"draft": draft, "submitted": submitted, "approved": approved, "broadcast": broadcast,
                "group": group, "entry": entry, "token": mine, "alarm": alarm_id, "user": user,
                "commune": self.commune, "village": self.village, "n": n, "alert": aired, "held": held,
                "issuer": issuer, "feed": feed, "geocode": geocode, "live": live}


def fill(value: Any, things: dict[str, object]) -> Any:
    if isinstance(value, str):
        for name, thing in things.items():
            if value == f"{{{name}}}":
                return thing
            value = value.replace(f"{{{name}}}", str(thing))
        return value
    if isinstance(value, list):
        return [fill(v, things) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, things) for k, v in value.items()}
    return value


def call(env: Env, method: str, path: str, body: Any, auth: dict[str, str] | None, things: dict[str, object]
         ) -> tuple[int, str]:
    url = "/api/v1" + fill(path, things)
    kwargs: dict[str, Any] = {"headers": auth or {}}
    if isinstance(body, str):
        kwargs.update(data=body.encode(), content_type="application/xml")
    elif body is not None:
        kwargs["json"] = fill(body, things)
    response = getattr(env.client, method)(url, **kwargs)
    return response.status_code, response.get_data(as_text=True)


def test_the_matrix_names_every_operation(env: Env) -> None:
    document = env.client.get("/api/v1/openapi.json").get_json()
    listed = {(m, p) for p, ops in document["paths"].items() for m in ops}
    named = {(m, p.replace("{alarm}", "{alarm_id}").replace("{village}", "{area_id}")
              .replace("{broadcast}", "{broadcast_id}").replace("{group}", "{group_id}")
              .replace("{entry}", "{entry_id}").replace("{token}", "{token_id}").replace("{user}", "{user_id}")
              .replace("loa-01", "{device_id}").replace("{approved}", "{bulletin_id}")
              .replace("{submitted}", "{bulletin_id}").replace("{draft}", "{bulletin_id}")
              .replace("{alert}", "{alert_id}").replace("{held}", "{alert_id}").replace("{issuer}", "{issuer_id}")
              .replace("{feed}", "{feed_id}").replace("{geocode}", "{geocode_id}").replace("{live}", "{broadcast_id}"))
             for m, p, *_ in MATRIX}
    missing = listed - named - {("get", p) for p in PUBLIC | set(LEFT_OUT)}
    assert not missing, f"operations without a row in the matrix: {sorted(missing)}"


@pytest.mark.parametrize(("method", "path", "allowed", "body", "scoped"), MATRIX,
                         ids=[f"{m.upper()} {p}" for m, p, *_ in MATRIX])
def test_every_role_in_and_out_of_its_commune(env: Env, method: str, path: str, allowed: frozenset[str],
                                              body: Any, scoped: bool) -> None:
    place = Commune(env)
    wrong: list[str] = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            wrong.append(what)

    things = place.things("admin")
    status, _ = call(env, method, path, body, None, things)
    expect(status == 401, f"no token: {status}, not 401")
    for role in ROLES:
        things = place.things(role)
        if role not in allowed:
            status, text = call(env, method, path, body, place.auth[(role, "A")], things)
            expect(status == 403, f"{role} in its commune: {status}, not 403 ({text[:120]})")
            continue
        if (scoped and role != "admin") or path == "/tokens/{token}":
            status, text = call(env, method, path, body, place.auth[(role, "B")], things)
            hidden = status in (403, 404, 422) or (status == 200 and method == "get" and "loa-01" not in text
                                                  and f'"id":{things["approved"]},' not in text.replace(" ", ""))
            expect(hidden, f"{role} of another commune: {status} ({text[:160]})")
        things = place.things(role)
        status, text = call(env, method, path, body, place.auth[(role, "A")], things)
        expect(status not in (401, 403, 404) and status < 500, f"{role} in its commune: {status} ({text[:160]})")
    assert not wrong, "\n".join(wrong)


def test_tokens_are_stored_hashed_and_a_revoked_one_stops_working(env: Env) -> None:
    auth = env.user("thu-ky", ("editor",))
    created = env.client.post("/api/v1/tokens", json={"name": "máy tính bảng"}, headers=auth).get_json()
    token = created["token"]
    with env.db.session() as session:
        stored = [t.token_hash for t in session.query(ApiToken)]
        assert token not in stored and all(len(h) == 64 for h in stored), "only SHA-256 of each token is kept"
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert env.client.delete(f"/api/v1/tokens/{created['id']}", headers=auth).status_code == 204
    assert env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
