"""The real CAP alerts of tests/data/cap through the API, each at its ``<sent>`` time + 1 minute, checked as a
duty officer would: aired or not and why, at which priority, on the cluster inside its area and never on the
one outside it, read in Vietnamese (no foreign word, no markup), and what it stopped. Then the chain of real
Taiwanese updates, and every alert again at today's date, when each one that has an expiry has expired."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from broadcaster.db import Broadcast, CapAlert
from broadcaster.web import common
from tests.support.cap import ROWS, Fleet, build_fleet, foreign_words, later, payload, place
from tests.support.env import Env

REFUSED = {"not_well_formed", "not_single_alert"}
"""The ``why`` of alerts.tsv for documents no importer can take: a refusal with that code."""


def post(env: Env, data: bytes) -> tuple[int, dict[str, Any]]:
    response = env.client.post("/api/v1/cap", headers={**env.auth, "Content-Type": "application/cap+xml"},
                               data=data)
    return response.status_code, response.get_json()


def forget_alerts(env: Env) -> None:
    """Each document is judged alone, as if it were the first this server received (three OASIS examples
    share an identifier, and an alert is taken once per sender and identifier)."""
    with env.db.session() as session:
        session.query(CapAlert).delete()


def judge(row: dict[str, str], status: int, body: dict[str, Any], fleet: Fleet) -> list[str]:
    """What differs from what a duty officer expects of ``row``."""
    expected, why = row["expected"], row["why"]
    if expected == "reject":
        code = body.get("error", {}).get("code")
        return [] if status == 422 and code == why else [f"expected refusal {why}, got {status} {code}"]
    if "error" in body:
        return [f"expected {expected}/{why}, refused: {body['error']['code']}: {body['error']['message'][:200]}"]
    if expected == "record":
        wrong = [] if (status, body["aired"], body["outcome"], body["reason"]) == (200, False, "recorded", why) \
            else [f"expected recorded/{why}, got {status} {body['outcome']}/{body['reason']}"]
        return wrong + ([f"broadcasts made: {[b['id'] for b in body['broadcasts']]}"] if body["broadcasts"] else [])
    if expected == "stop":
        return [] if (status, body["aired"], body["outcome"], body["reason"]) == (200, False, "stopped", "cancel") \
            else [f"expected stopped/cancel, got {status} {body['outcome']}/{body['reason']}"]
    return aired(row, status, body, fleet)


def aired(row: dict[str, str], status: int, body: dict[str, Any], fleet: Fleet) -> list[str]:
    wrong = []
    if (status, body["aired"], body["reason"]) != (201, True, row["why"]):
        return [f"expected aired/{row['why']}, got {status} {body['outcome']}/{body['reason']}: {body['detail']}"]
    if body["priority"] != row["priority"]:
        wrong.append(f"priority {body['priority']}, expected {row['priority']}")
    reached = {d["device_id"] for b in body["broadcasts"] for d in b["devices"]}
    inside, outside = place(row["inside"]), place(row["outside"])
    if inside and fleet.devices[inside.label] not in reached:
        wrong.append(f"the cluster inside ({inside.label}) did not get it; matched {body['matched']}")
    if outside and fleet.devices[outside.label] in reached:
        wrong.append(f"the cluster outside ({outside.label}) got it; matched {body['matched']}")
    if any(b["priority"] != row["priority"] for b in body["broadcasts"]):
        wrong.append("a broadcast at another priority")
    for part in body["parts"]:
        text = part["text"]
        if foreign := foreign_words(text, fleet.names):
            wrong.append(f"foreign words read by the Vietnamese voice: {foreign[:8]} in {text[:160]!r}")
        if re.search(r"<[^>]+>|&[a-z]+;|&#", text):
            wrong.append(f"markup read aloud: {text[:160]!r}")
        if not text.rstrip().endswith((".", "!", "?")):
            wrong.append(f"the text does not end a sentence: {text[-60:]!r}")
        if row["priority"] == "emergency" and not text.startswith("Khẩn cấp!"):
            wrong.append("an emergency that does not say Khẩn cấp first")
        if row["priority"] != "emergency" and "khẩn cấp" in text.casefold():
            wrong.append("Khẩn cấp said for a non-emergency")
    if body["stopped"]:
        wrong.append(f"stopped {body['stopped']}, although what it references is not here")
    if body["outcome"] == "waiting" and not (body["play_at"] and datetime.fromisoformat(body["play_at"]) > later(row)):
        wrong.append(f"waiting, but for when? {body['play_at']}")
    return wrong


def test_every_real_alert_behaves_as_a_duty_officer_expects(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = build_fleet(env)
    wrong: dict[str, list[str]] = {}
    outcomes = []
    for row in ROWS:
        forget_alerts(env)
        now = later(row)
        monkeypatch.setattr(common, "clock", lambda now=now: now)
        status, body = post(env, payload(row))
        problems = judge(row, status, body, fleet)
        outcomes.append(f"{row['file']}: {status} {body.get('outcome') or body['error']['code']} "
                        f"{body.get('reason', '')} {body.get('priority') or ''}")
        if problems:
            wrong[row["file"]] = problems
    print("\n".join(outcomes))
    assert len(ROWS) >= 40
    assert not wrong, "\n".join(f"{name}: {'; '.join(p)}" for name, p in wrong.items())


def test_the_real_chain_of_updates_stops_what_each_replaces_and_the_cancel_stops_the_last(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    build_fleet(env)
    chain = [r for r in ROWS if r["file"].startswith("cwa-extremely-rain-2024-")]
    assert [r["msg_type"] for r in chain] == ["Alert", "Update", "Update", "Cancel"]
    aired: list[list[int]] = []
    for row in chain:
        now = later(row)
        monkeypatch.setattr(common, "clock", lambda now=now: now)
        status, body = post(env, payload(row))
        assert status in (200, 201), body
        if aired:
            assert sorted(body["stopped"]) == sorted(aired[-1]), (row["file"], body["stopped"], aired[-1])
        aired.append([b["id"] for b in body["broadcasts"]])
    with env.db.session() as session:
        states = {b.id: b.state for b in session.query(Broadcast)}
    assert all(states[b] == "stopped" for ids in aired for b in ids), states
    assert not aired[-1], "the Cancel airs nothing"


def test_at_todays_date_every_alert_with_an_expiry_has_expired_and_none_airs(env: Env) -> None:
    build_fleet(env)
    dated = [r for r in ROWS if r["expires"] and r["expected"] != "reject" and r["msg_type"] != "Cancel"]
    assert len(dated) >= 30
    for row in dated:
        assert datetime.fromisoformat(row["expires"]) < common.clock()
        forget_alerts(env)
        status, body = post(env, payload(row))
        earlier = row["why"] if row["why"] in ("not_actual", "not_public", "test_message") else "expired"
        assert (status, body.get("aired"), body.get("reason")) == (200, False, earlier), (row["file"], body)
        assert body["broadcasts"] == [], row["file"]
