"""One CAP import, one transaction: it airs, waits for the allowed hours, is held for an officer, is recorded
without airing, or is refused and changes nothing, so that the same alert airs once the cause is fixed. The
alerts here are written for the tests (no real alert has a Vietnamese text: tests/data/cap/README.md); the
audio comes from a real one."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadcaster.db import Area, Broadcast, Bulletin, CapAlert
from broadcaster.ops.bootstrap import ensure_airtime
from broadcaster.web import common
from tests.support.cap import alert_xml, info_xml, read
from tests.support.env import Env
from tests.support.sites import Site


def post(env: Env, data: bytes, auth: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    response = env.client.post("/api/v1/cap", headers=auth or env.auth, data=data, content_type="application/cap+xml")
    return response.status_code, response.get_json()


def counts(env: Env) -> tuple[int, int, int]:
    with env.db.session() as session:
        return session.query(CapAlert).count(), session.query(Bulletin).count(), session.query(Broadcast).count()


def states(env: Env, ids: list[int]) -> set[str]:
    return {str(env.status(i)["state"]) for i in ids}


def test_a_refused_update_changes_nothing_and_airs_once_its_area_is_mapped(env: Env) -> None:
    status, first = post(env, alert_xml("VN-1"))
    assert status == 201 and first["priority"] == "emergency"
    earlier = [b["id"] for b in first["broadcasts"]]
    update = alert_xml("VN-2", info_xml(areas="<area><areaDesc>Xã Mới</areaDesc><geocode><valueName>MA_XA"
                                              "</valueName><value>09999</value></geocode></area>"),
                       kind="Update", references="kttv@nchmf.gov.vn,VN-1,2026-11-22T06:00:00+07:00")
    before = counts(env)
    status, body = post(env, update)
    assert status == 422 and body["error"]["code"] == "no_matching_area", body
    assert "Xã Mới" in body["error"]["message"] and "MA_XA 09999" in body["error"]["message"]
    assert counts(env) == before, "no alert recorded, no bulletin, no broadcast"
    assert states(env, earlier) == {"queued"}, "the alert it replaces was not stopped"

    with env.db.session() as session:
        village = session.query(Area).filter_by(name="Thôn 2").one().id
    assert env.client.post("/api/v1/cap/geocodes", headers=env.auth, json={
        "value_name": "MA_XA", "value": "09999", "area_id": village}).status_code == 201
    status, body = post(env, update)
    assert status == 201 and body["aired"] and sorted(body["stopped"]) == sorted(earlier), body
    assert {d["device_id"] for d in body["broadcasts"][0]["devices"]} == {"loa-02"}
    assert states(env, earlier) == {"stopped"}


def test_a_refusal_for_rights_or_air_time_leaves_nothing_either(env: Env) -> None:
    editor = env.user("bien-tap", ("editor",))
    assert post(env, alert_xml("R-1"), editor)[0] == 403
    with env.db.session() as session:
        village = session.query(Area).filter_by(name="Thôn 1").one()
        ensure_airtime(session, village, "00:00", "24:00").max_session_min = 1
    long = info_xml(urgency="Future", severity="Moderate", description="Mưa lớn kéo dài. " * 200)
    before = counts(env)
    status, body = post(env, alert_xml("R-2", long))
    assert status == 422 and body["error"]["code"] == "outside_airtime", body
    assert counts(env) == before
    assert post(env, alert_xml("R-2", info_xml(urgency="Future", severity="Moderate")))[0] == 201, "fixed, it airs"


def test_an_alert_recorded_without_airing_does_not_block_the_same_alert_once_it_may_air(env: Env) -> None:
    status, body = post(env, alert_xml("T-1", status="Test"))
    assert (status, body["outcome"], body["reason"]) == (200, "recorded", "not_actual")
    status, again = post(env, alert_xml("T-1"))
    assert status == 201 and again["aired"] and again["id"] == body["id"], "the same record, now aired"
    status, third = post(env, alert_xml("T-1"))
    assert (status, third["reason"], third["aired"]) == (200, "duplicate", False) and not third["broadcasts"]
    assert counts(env)[0] == 1


@pytest.mark.parametrize(("fields", "reason"), [
    ({"scope": "Restricted"}, "not_public"), ({"scope": "Private"}, "not_public"),
    ({"status": "Exercise"}, "not_actual"), ({"status": "Draft"}, "not_actual"),
    ({"kind": "Ack"}, "not_an_alert"), ({"kind": "Error"}, "not_an_alert")])
def test_what_never_reaches_public_loudspeakers_is_recorded(env: Env, fields: dict[str, str], reason: str) -> None:
    status, body = post(env, alert_xml("X-1", **fields))
    assert (status, body["outcome"], body["reason"], body["broadcasts"]) == (200, "recorded", reason, [])


@pytest.mark.parametrize(("urgency", "severity", "certainty", "priority"), [
    ("Immediate", "Severe", "Likely", "emergency"), ("Expected", "Extreme", "Observed", "emergency"),
    ("Future", "Extreme", "Observed", "priority"), ("Immediate", "Moderate", "Observed", "priority"),
    ("Immediate", "Severe", "Possible", "priority"), ("Expected", "Minor", "Observed", "normal"),
    ("Unknown", "Unknown", "Unknown", "normal"), ("Past", "Extreme", "Observed", None),
    ("Immediate", "Extreme", "Unlikely", None)])
def test_the_default_mapping_table(env: Env, urgency: str, severity: str, certainty: str, priority: str | None) -> None:
    _, body = post(env, alert_xml("M-1", info_xml(urgency=urgency, severity=severity, certainty=certainty)))
    assert body["priority"] == priority and body["aired"] == (priority is not None), body
    if priority is not None:
        assert body["broadcasts"][0]["priority"] == priority
        assert body["parts"][0]["text"].startswith("Khẩn cấp!") == (priority == "emergency")


def test_an_admin_changes_the_mapping_table_and_can_go_back_to_the_default(env: Env) -> None:
    operator = env.user("van-hanh", ("operator",))
    table = {"rules": [{"urgency": ["Past"], "severity": [], "certainty": [], "priority": "none"},
                       {"urgency": [], "severity": ["Extreme", "Severe", "Moderate"], "certainty": [],
                        "priority": "emergency"},
                       {"urgency": [], "severity": [], "certainty": [], "priority": "normal"}]}
    assert env.client.put("/api/v1/cap/mapping", headers=operator, json=table).status_code == 403
    answer = env.client.put("/api/v1/cap/mapping", headers=env.auth, json=table)
    assert answer.status_code == 200 and len(answer.get_json()["rules"]) == 3
    _, body = post(env, alert_xml("MT-1", info_xml(urgency="Future", severity="Moderate")), operator)
    assert body["priority"] == "emergency"
    bad = {"rules": [{"urgency": ["Soon"], "severity": [], "certainty": [], "priority": "normal"}]}
    assert env.client.put("/api/v1/cap/mapping", headers=env.auth, json=bad).status_code == 422
    partial = {"rules": [{"urgency": ["Past"], "severity": [], "certainty": [], "priority": "none"}]}
    assert env.client.put("/api/v1/cap/mapping", headers=env.auth, json=partial).status_code == 422, "all mapped"
    assert env.client.put("/api/v1/cap/mapping", headers=env.auth, json={"rules": []}).status_code == 200
    _, body = post(env, alert_xml("MT-2", info_xml(urgency="Future", severity="Moderate")), operator)
    assert body.get("priority") == "priority", body


def night(env: Env, monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Thôn 1 may sound 05:30-21:30 (local); the clock says 23:00 local on 22 November 2026."""
    with env.db.session() as session:
        ensure_airtime(session, session.query(Area).filter_by(name="Thôn 1").one(), "05:30", "21:30")
    now = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    monkeypatch.setattr(common, "clock", lambda: now)
    return now


def test_a_future_alert_at_night_waits_for_the_morning_and_an_emergency_does_not(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    now = night(env, monkeypatch)
    morning = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # 05:30 on the 23rd in Hà Nội
    status, body = post(env, alert_xml("N-1", info_xml(urgency="Future", severity="Severe"), sent=now.isoformat()))
    assert (status, body["outcome"], body["priority"]) == (201, "waiting", "priority"), body
    assert datetime.fromisoformat(body["play_at"]) == morning
    assert datetime.fromisoformat(body["broadcasts"][0]["play_at"]) == morning
    status, body = post(env, alert_xml("N-2", sent=now.isoformat()))
    assert (status, body["outcome"], body["priority"]) == (201, "aired", "emergency")
    assert body["broadcasts"][0]["play_at"] is None, "an emergency plays at once, at night too"
    soon = now + timedelta(hours=3)
    expiring = info_xml(urgency="Future", severity="Severe", extra=f"<expires>{soon:%Y-%m-%dT%H:%M:%S+00:00}</expires>")
    status, body = post(env, alert_xml("N-3", expiring, sent=now.isoformat()))
    assert (status, body["outcome"], body["reason"]) == (200, "recorded", "expires_before_window"), body
    assert body["broadcasts"] == []


def test_a_vietnamese_text_is_read_clean_each_part_a_sentence(env: Env) -> None:
    info = info_xml(headline="Cảnh báo lũ trên sông Hồng",
                    description="Mực nước đang lên&lt;br /&gt;Dự báo đạt báo động 3\nvào chiều nay\n\n"
                                "Cập nhật lúc 10 giờ",
                    instruction="Bà con vùng trũng\ndi chuyển đến nơi cao", urgency="Expected")
    status, body = post(env, alert_xml("L-1", info))
    text = body["parts"][0]["text"]
    assert status == 201 and body["reason"] == "vietnamese"
    assert text == ("Khẩn cấp! Cảnh báo lũ trên sông Hồng. Mực nước đang lên. Dự báo đạt báo động 3 vào chiều nay. "
                    "Cập nhật lúc 10 giờ. Bà con vùng trũng di chuyển đến nơi cao."), text
    assert body["bulletin"]["text"] == text


def test_areas_written_in_another_info_reach_and_a_foreign_info_is_not_read(env: Env) -> None:
    english = info_xml(language="en-US", event="Typhoon", headline="Typhoon warning", description="Stay indoors.",
                       areas="<area><areaDesc>Thôn 3</areaDesc></area>")
    status, body = post(env, alert_xml("L-2", english, info_xml(areas="")))
    assert status == 201 and {d["device_id"] for d in body["broadcasts"][0]["devices"]} == {"loa-03"}
    assert body["reason"] == "vietnamese" and "Typhoon" not in body["parts"][0]["text"]


def issuer(env: Env, **policy: object) -> None:
    answer = env.client.post("/api/v1/cap/issuers", headers=env.auth, json={
        "name": "Đài KTTV", "senders": ["kttv@nchmf.gov.vn"], **policy})
    assert answer.status_code == 201, answer.get_json()


def test_held_for_an_officer_to_write_the_vietnamese_text_then_released(env: Env) -> None:
    issuer(env, language_fallback="hold")
    english = info_xml(language="en-US", event="Flood", headline="Flood warning", description="Rivers rising.")
    status, body = post(env, alert_xml("H-1", english))
    assert (status, body["outcome"], body["reason"], body["broadcasts"]) == (200, "held", "held_for_language", [])
    listed = env.client.get(f"/api/v1/cap/alerts/{body['id']}", headers=env.auth).get_json()
    assert "Rivers rising" in listed["original_text"], "the original is kept for the operator"
    release = f"/api/v1/cap/alerts/{body['id']}/release"
    assert env.client.post(release, headers=env.auth, json={}).status_code == 422, "a text is needed"
    answer = env.client.post(release, headers=env.auth, json={"text": "Khẩn cấp! Lũ\ntrên sông Hồng đang lên"})
    assert answer.status_code == 201, answer.get_json()
    released = answer.get_json()
    assert released["outcome"] == "released" and released["broadcasts"][0]["priority"] == "emergency"
    assert env.status(released["broadcasts"][0]["id"])["title"]
    with env.db.session() as session:
        assert session.get(Bulletin, released["bulletin_id"]).text == "Khẩn cấp! Lũ trên sông Hồng đang lên."
    assert env.client.post(release, headers=env.auth, json={"text": "x"}).status_code == 409, "released once"


def test_held_for_approval_and_cancelled_by_its_issuer_before_anyone_released_it(env: Env) -> None:
    issuer(env, hold_for_approval=True)
    status, body = post(env, alert_xml("A-1"))
    assert (status, body["outcome"], body["reason"]) == (200, "held", "held_for_approval")
    status, cancel = post(env, alert_xml("A-2", kind="Cancel",
                                         references="kttv@nchmf.gov.vn,A-1,2026-11-22T06:00:00+07:00"))
    assert (status, cancel["outcome"]) == (200, "stopped")
    answer = env.client.post(f"/api/v1/cap/alerts/{body['id']}/release", headers=env.auth, json={})
    assert answer.status_code == 409 and "cancelled" in answer.get_json()["error"]["message"]
    status, body = post(env, alert_xml("A-3"))
    approver = env.user("lanh-dao", ("approver",))
    answer = env.client.post(f"/api/v1/cap/alerts/{body['id']}/release", headers=approver)
    assert answer.status_code == 201 and len(answer.get_json()["broadcasts"]) == 2


def embedded_audio() -> tuple[str, str]:
    """The English MP3 of the real Pelmorex test message, as its <derefUri> text, and its real <digest>."""
    document = read("pelmorex-naads-test-message-audio-signed.xml").decode()
    resource = next(r for r in re.findall(r"<resource>.*?</resource>", document, re.S) if "audio/mpeg" in r)
    deref = re.search(r"<derefUri>(.*?)</derefUri>", resource, re.S)
    digest = re.search(r"<digest>(.*?)</digest>", resource)
    assert deref and digest
    return deref.group(1), digest.group(1)


def audio_info(deref: str, digest: str) -> str:
    resource = (f"<resource><resourceDesc>Bản tin âm thanh</resourceDesc><mimeType>audio/mpeg</mimeType>"
                f"<derefUri>{deref}</derefUri><digest>{digest}</digest></resource>")
    return info_xml(extra="", areas=resource + "<area><areaDesc>Thôn 1</areaDesc></area>")


def test_an_audio_resource_airs_as_the_recording_and_one_with_a_wrong_digest_does_not(env: Env) -> None:
    deref, digest = embedded_audio()
    status, body = post(env, alert_xml("AU-1", audio_info(deref, digest)))
    assert (status, body["reason"]) == (201, "recording"), body
    assert body["bulletin"]["kind"] == "recording" and body["bulletin"]["duration_s"] > 1
    status, body = post(env, alert_xml("AU-2", audio_info(deref, "0" * 40)))
    assert (status, body["reason"]) == (201, "vietnamese"), "the text is read instead"
    assert any("digest" in w for w in body["warnings"]), body["warnings"]


def test_a_recording_from_an_alert_is_loudness_normalized_like_every_recording(env: Env, tmp_path: Any) -> None:
    from tests.support.audio import integrated_loudness
    from tests.support.env import wait_until

    env.start_worker()
    deref, digest = embedded_audio()
    status, body = post(env, alert_xml("AU-3", audio_info(deref, digest)))
    assert status == 201
    broadcast = body["broadcasts"][0]["id"]
    wait_until(lambda: env.status(broadcast)["asset"], timeout=60)
    encoded = tmp_path / "alert.ogg"
    encoded.write_bytes(env.audio_of(broadcast))
    loudness, _ = integrated_loudness(encoded)
    assert abs(loudness - env.config.speech.loudness_lufs) <= 0.5, loudness


def test_an_audio_resource_by_address_is_fetched_checked_and_aired(env: Env) -> None:
    deref, _ = embedded_audio()
    mp3 = base64.b64decode("".join(deref.split()))
    site = Site()
    try:
        site.files = {"/ban-tin.mp3": mp3}

        def by_address(identifier: str, digest: str) -> bytes:
            resource = (f"<resource><resourceDesc>Bản tin</resourceDesc><mimeType>audio/mpeg</mimeType>"
                        f"<uri>{site.url}/ban-tin.mp3</uri><digest>{digest}</digest></resource>")
            return alert_xml(identifier, info_xml(areas=resource + "<area><areaDesc>Thôn 1</areaDesc></area>"))

        status, body = post(env, by_address("U-1", hashlib.sha1(mp3).hexdigest()))
        assert (status, body["reason"], body["bulletin"]["kind"]) == (201, "recording", "recording"), body
        status, body = post(env, by_address("U-2", hashlib.sha1(b"other").hexdigest()))
        assert (status, body["reason"]) == (201, "vietnamese") and any("digest" in w for w in body["warnings"])
        site.files = {}
        status, body = post(env, by_address("U-3", hashlib.sha1(mp3).hexdigest()))
        assert (status, body["reason"]) == (201, "vietnamese") and any("404" in w for w in body["warnings"])
    finally:
        site.stop()


def test_a_recording_held_for_approval_airs_as_the_recording_once_released(env: Env) -> None:
    issuer(env, hold_for_approval=True)
    deref, digest = embedded_audio()
    status, body = post(env, alert_xml("AU-4", audio_info(deref, digest)))
    assert (status, body["outcome"], body["parts"][0]["source"]) == (200, "held", "recording"), body
    answer = env.client.post(f"/api/v1/cap/alerts/{body['id']}/release", headers=env.auth, json={})
    assert answer.status_code == 201, answer.get_json()
    with env.db.session() as session:
        assert session.get(Bulletin, answer.get_json()["bulletin_id"]).recording is not None
