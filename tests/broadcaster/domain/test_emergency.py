"""The emergency button's API and a CAP import written for the test: out at once at emergency priority,
repeated as asked, honouring a CAP alert's status, msgType, urgency and area (real alerts: domain/cap/)."""

from __future__ import annotations

from datetime import datetime

from tests.support.env import Env, wait_until


def test_an_emergency_from_a_template_goes_out_at_once_and_repeats(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    operator = env.user("van-hanh", ("operator",))
    templates = env.client.get("/api/v1/emergency/templates", headers=operator).get_json()
    assert {"storm", "flood", "fire", "epidemic"} <= set(templates)

    response = env.client.post("/api/v1/emergency", headers=operator, json={
        "template": "storm", "targets": ["loa-01"], "repeat_count": 2, "repeat_every_min": 5})
    assert response.status_code == 201, response.get_json()
    sent = response.get_json()
    assert sent["bulletin"]["state"] == "approved" and "Bão" in sent["bulletin"]["text"]
    first, second = sent["broadcasts"]
    assert first["priority"] == second["priority"] == "emergency"
    assert first["play_at"] is None
    gap = datetime.fromisoformat(second["play_at"]) - datetime.fromisoformat(first["created_at"])
    assert 299 <= gap.total_seconds() <= 301, "the repeat is five minutes after the first"
    wait_until(lambda: env.device_states(first["id"]) == {"loa-01": "played"}, timeout=60)
    assert env.device_states(second["id"]) == {"loa-01": "delivered"}, "the repeat waits on the device"

    log = env.client.get("/api/v1/audit?action=emergency.send", headers=env.auth).get_json()
    assert log[0]["user"] == "van-hanh"


def test_only_those_trusted_with_it_send_an_emergency_and_bad_requests_say_why(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    assert env.client.post("/api/v1/emergency", headers=editor, json={"text": "Cháy!"}).status_code == 403
    for bad, code in (({"template": "volcano"}, "unknown_template"), ({}, "missing_field"),
                      ({"text": "Lũ", "repeat_count": 50}, "invalid_repeat"),
                      ({"text": "Lũ", "targets": ["loa-zz"]}, "unknown_target")):
        response = env.client.post("/api/v1/emergency", headers=env.auth, json=bad)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == code, bad


def cap(identifier: str, area: str = "Thôn 1", status: str = "Actual", kind: str = "Alert",
        urgency: str = "Immediate", references: str = "") -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>kttv@nchmf.gov.vn</sender>
  <sent>2026-11-22T06:00:00+07:00</sent>
  <status>{status}</status>
  <msgType>{kind}</msgType>
  <scope>Public</scope>{refs}
  <info>
    <language>en-US</language>
    <category>Met</category><event>Typhoon</event><urgency>{urgency}</urgency>
    <severity>Extreme</severity><certainty>Observed</certainty>
    <headline>Typhoon warning</headline>
  </info>
  <info>
    <language>vi-VN</language>
    <category>Met</category><event>Bão</event><urgency>{urgency}</urgency>
    <severity>Extreme</severity><certainty>Observed</certainty>
    <headline>Cảnh báo bão số 9</headline>
    <description>Bão số 9 đổ bộ trong 6 giờ tới, gió giật cấp 12.</description>
    <instruction>Bà con ở trong nhà kiên cố, không ra biển.</instruction>
    <area><areaDesc>{area}</areaDesc></area>
  </info>
</alert>""".encode()


def post_cap(env: Env, payload: bytes) -> tuple[int, dict[str, object]]:
    response = env.client.post("/api/v1/cap", headers={**env.auth, "Content-Type": "application/cap+xml"},
                               data=payload)
    return response.status_code, response.get_json()


def test_a_cap_alert_airs_in_its_area_once_and_a_cancel_stops_it(env: Env) -> None:
    status, body = post_cap(env, cap("VN-2026-0917"))
    assert status == 201 and body["aired"] is True, body
    broadcasts = body["broadcasts"]
    assert isinstance(broadcasts, list) and len(broadcasts) == 2
    assert {d["device_id"] for d in broadcasts[0]["devices"]} == {"loa-01"}, "only Thôn 1 hears it"
    assert broadcasts[0]["priority"] == "emergency"
    bulletin = body["bulletin"]
    assert isinstance(bulletin, dict) and "Bão số 9" in str(bulletin["text"]), "the Vietnamese info was chosen"

    status, body = post_cap(env, cap("VN-2026-0917"))
    assert status == 200 and body["aired"] is False and body["reason"] == "duplicate"
    assert "already received" in str(body["detail"])

    status, body = post_cap(env, cap("VN-2026-0918", kind="Cancel",
                                     references="kttv@nchmf.gov.vn,VN-2026-0917,2026-11-22T06:00:00+07:00"))
    assert status == 200 and sorted(body["stopped"]) == sorted(b["id"] for b in broadcasts)  # type: ignore[index]
    states = {env.status(b["id"])["state"] for b in broadcasts}
    assert states <= {"stopping", "stopped"}


def test_cap_status_urgency_and_area_are_honoured(env: Env) -> None:
    for identifier, payload, reason in (
            ("t1", cap("t1", status="Exercise"), "not_actual"),
            ("t2", cap("t2", status="Test"), "not_actual"),
            ("t3", cap("t3", urgency="Past"), "no_action")):
        status, body = post_cap(env, payload)
        assert status == 200 and body["aired"] is False and body["reason"] == reason, identifier
    status, body = post_cap(env, cap("t4", urgency="Future", area="Thôn 2; Thôn 3"))
    assert status == 201 and body["broadcasts"][0]["priority"] == "priority"  # type: ignore[index]
    assert {d["device_id"] for d in body["broadcasts"][0]["devices"]} == {"loa-02", "loa-03"}  # type: ignore[index]
    assert env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()[0]["priority"] == "priority"

    status, body = post_cap(env, cap("t5", area="Huyện Không Có"))
    assert status == 422 and body["error"]["code"] == "no_matching_area"  # type: ignore[index]
    assert "Huyện Không Có" in body["error"]["message"], "what did not match is said"  # type: ignore[index]
    status, body = post_cap(env, b"<alert>not closed")
    assert status == 422 and body["error"]["code"] == "not_well_formed"  # type: ignore[index]
    status, body = post_cap(env, b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><a>&x;</a>')
    assert status == 422 and "DOCTYPE" in body["error"]["message"]  # type: ignore[index]
    status, body = post_cap(env, b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>')
    assert status == 422 and body["error"]["code"] == "invalid_cap"  # type: ignore[index]
    assert "<identifier>" in body["error"]["message"], "CAP 1.1 is read; this one lacks what every alert has"
