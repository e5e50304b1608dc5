"""XML signatures of real alerts against the certificates an admin trusts for their issuer: Environment Canada's
snowfall warning as relayed by NAAD (two signatures: ECCC's and Pelmorex's, RSA-SHA1, certificates expired
since), and a USGS earthquake signed with a bare RSA key. A good signature verifies (judged at the alert's
``<sent>``), one changed character is refused, and an issuer that requires a signature refuses an alert
without one; none of the refusals leaves anything behind."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from lxml import etree

from broadcaster.db import CapAlert
from broadcaster.domain.cap.parse import parse
from broadcaster.domain.cap.signatures import load_trusted, verify
from broadcaster.web import common
from tests.support.cap import ROWS, build_fleet, later, path, read
from tests.support.env import Env

SNOW = "eccc-2013-snowfall-warning-signed.xml"
QUAKE = "usgs-earthquake-el-salvador-iso8859-1-signed.xml"


def row(name: str) -> dict[str, str]:
    return next(r for r in ROWS if r["file"] == name)


def post(env: Env, data: bytes) -> tuple[int, dict[str, Any]]:
    response = env.client.post("/api/v1/cap", headers=env.auth, data=data, content_type="application/cap+xml")
    return response.status_code, response.get_json()


def issuer(env: Env, senders: list[str], certificates: str, **policy: object) -> int:
    answer = env.client.post("/api/v1/cap/issuers", headers=env.auth, json={
        "name": "Environment Canada", "senders": senders, "certificates": certificates, **policy})
    assert answer.status_code == 201, answer.get_json()
    result: int = answer.get_json()["id"]
    return result


def tampered(data: bytes, old: bytes, new: bytes) -> bytes:
    """One character changed, in memory (the document on disk is never touched)."""
    assert data.count(old) >= 1 and len(old) == len(new)
    return data.replace(old, new, 1)


def quake_key() -> str:
    """The USGS signature's own RSA key (its KeyValue), as the PEM an admin would upload for USGS."""
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    root = etree.fromstring(read(QUAKE))
    modulus, exponent = (int.from_bytes(base64.b64decode(root.findtext(f".//{ds}{name}") or ""), "big")
                         for name in ("Modulus", "Exponent"))
    key = RSAPublicNumbers(exponent, modulus).public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("certificate", ["eccc-cert.pem", "naads-cert.pem"])
def test_either_signature_of_the_relayed_warning_verifies_at_its_sent_time(certificate: str) -> None:
    alert = parse(read(SNOW))
    trusted = load_trusted(path(certificate).read_text())
    check = verify(alert, trusted, later(row(SNOW)))
    assert alert.signatures == 2 and check.verified_by == trusted[0].label, check.problems
    assert verify(parse(tampered(read(SNOW), b"snowfall warning", b"snowfall warnin!")), trusted,
                  later(row(SNOW))).verified_by is None


def test_a_trusted_signature_airs_a_tampered_copy_is_refused_and_an_old_alert_of_an_expired_key_too(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    build_fleet(env)
    issuer(env, ["cap-pac@ec.gc.ca"], path("eccc-cert.pem").read_text() + path("naads-cert.pem").read_text(),
           require_signature=True)
    now = later(row(SNOW))
    monkeypatch.setattr(common, "clock", lambda: now)

    for old, new in ((b"<headline>snowfall warning", b"<headline>snowfall warninG"), (b"<polygon>5", b"<polygon>6")):
        status, body = post(env, tampered(read(SNOW), old, new))
        assert status == 422 and body["error"]["code"] == "invalid_signature", (new, body)
    with env.db.session() as session:
        assert session.query(CapAlert).count() == 0, "a refused alert leaves nothing"

    status, body = post(env, read(SNOW))
    assert status == 201 and body["aired"] and body["priority"] == "priority", body
    assert body["signed_by"] and ("meteo.gc.ca" in body["signed_by"] or "pelmorex" in body["signed_by"])

    monkeypatch.setattr(common, "clock", lambda: now.replace(year=2026))
    with env.db.session() as session:
        session.query(CapAlert).delete()
    status, body = post(env, read(SNOW))
    assert status == 422 and body["error"]["code"] == "invalid_signature", "expired since, and not sent lately"
    assert "expired" in body["error"]["message"]


def test_an_issuer_that_requires_a_signature_refuses_an_unsigned_alert_and_a_foreign_key(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    build_fleet(env)
    issuer(env, ["@ec.gc.ca", "@canada.ca"], path("eccc-cert.pem").read_text(), require_signature=True)
    unsigned = row("eccc-2012-thunderstorm-test-update.xml")  # cap@ec.gc.ca, no signature
    monkeypatch.setattr(common, "clock", lambda: later(unsigned))
    status, body = post(env, read(unsigned["file"]))
    assert status == 422 and body["error"]["code"] == "unsigned", body
    newer = row("eccc-2019-special-weather-statement-signed.xml")  # signed with certificates not trusted here
    monkeypatch.setattr(common, "clock", lambda: later(newer))
    status, body = post(env, read(newer["file"]))
    assert status == 422 and body["error"]["code"] == "invalid_signature", body


def test_a_bare_key_is_trusted_too_and_signed_alerts_of_unknown_issuers_are_taken_but_said_unverified(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    build_fleet(env)
    quake = row(QUAKE)
    monkeypatch.setattr(common, "clock", lambda: later(quake))
    status, body = post(env, read(QUAKE))
    assert status == 200 and body["signed_by"] is None
    assert any("no certificate of this issuer is trusted" in w for w in body["warnings"]), body["warnings"]
    with env.db.session() as session:
        session.query(CapAlert).delete()
    issuer(env, ["http://earthquake.usgs.gov/research/monitoring/anss/neic/"], quake_key(), require_signature=True)
    status, body = post(env, read(QUAKE))
    assert status == 200 and body["signed_by"].startswith("public key"), body
    assert body["reason"] == "no_action", "verified, then judged: urgency Past"
    status, body = post(env, tampered(read(QUAKE), b"EQ 4.6", b"EQ 6.4"))
    assert status == 422 and body["error"]["code"] == "invalid_signature", body
