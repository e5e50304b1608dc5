"""Enveloped XML signatures (XML-DSig) of CAP alerts, verified with signxml against the certificates (or public
keys) an admin trusts for the issuer. A signature made with a key we do not trust proves nothing: it counts as
unsigned. Every signature is tried alone on the document without the others, as each signer signed it (NAAD
relays carry the warning centre's signature and their own).

Certificates are checked against the alert's ``<sent>`` time, not today's: real issuers' certificates expire
(those in tests/data/cap all have), and an alert is judged by what was valid when it was signed. A certificate
that has expired since is trusted for a day after ``<sent>`` only (``STALE_AFTER``): an old key must not sign
fresh-looking news under an old date. SHA-1 is accepted: NAAD, USGS and PAGASA still sign with it."""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import SignXMLException

from broadcaster.domain.cap.parse import DSIG, Alert
from broadcaster.domain.errors import Refusal

logger = logging.getLogger(__name__)
STALE_AFTER = timedelta(days=1)
METHODS = frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC"))


class _Verifier(XMLVerifier):
    # libxml2 2.14's inclusive canonicalization of a subtree writes xmlns="" on descendants of an element that
    # set the default namespace, which breaks every NAAD signature; signxml's legacy switch drops them again.
    # parse._refuse_foreign_elements refuses documents that could use that to hide an element.
    excise_empty_xmlns_declarations = True


@dataclass(frozen=True)
class Trusted:
    label: str
    certificate: x509.Certificate | None = None
    public_pem: bytes = b""


def load_trusted(pem_text: str) -> list[Trusted]:
    """The certificates and public keys of a PEM text; refused (``invalid_certificate``) if a block is neither."""
    found: list[Trusted] = []
    for block in _pem_blocks(pem_text):
        try:
            if "CERTIFICATE" in block.split("\n", 1)[0]:
                certificate = x509.load_pem_x509_certificate(block.encode())
                found.append(Trusted(certificate.subject.rfc4514_string()[:300], certificate, _public(certificate)))
            else:
                key = serialization.load_pem_public_key(block.encode())
                pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                found.append(Trusted(f"public key {hashlib.sha256(pem).hexdigest()[:16]}", None, pem))
        except ValueError as exc:
            raise Refusal("invalid_certificate", f"not a PEM certificate or public key: {str(exc)[:120]}",
                          field="certificates") from None
    return found


def _pem_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.replace("\r", "").split("\n"):
        if line.startswith("-----BEGIN "):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(current))
                current = []
    if text.strip() and not blocks:
        raise Refusal("invalid_certificate", "no -----BEGIN CERTIFICATE----- (or PUBLIC KEY) block",
                      field="certificates")
    return blocks


def _public(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class SignatureCheck:
    present: int
    verified_by: str | None = None
    problems: list[str] = field(default_factory=list)


def verify(alert: Alert, trusted: list[Trusted], now: datetime) -> SignatureCheck:
    """Which trusted certificate or key, if any, signed ``alert``; what failed otherwise."""
    check = SignatureCheck(alert.signatures)
    if alert.root is None or not alert.signatures:
        return check
    if not trusted:
        check.problems.append("signed, but no certificate of this issuer is trusted here")
        return check
    for index in range(alert.signatures):
        document, signature = _alone(alert.root, index)
        for item in trusted:
            try:
                _verify_one(document, signature, item, alert.sent)
            except (SignXMLException, ValueError, TypeError, etree.LxmlError) as exc:
                why = str(exc)[:160] or type(exc).__name__
                check.problems.append(f"signature {index + 1} with {item.label[:60]}: {why}")
                continue
            except Exception as exc:  # a malformed signature must be a refusal, never a server error
                logger.warning("signature check failed unexpectedly: %r", exc)
                check.problems.append(f"signature {index + 1}: unreadable")
                continue
            if item.certificate is not None and item.certificate.not_valid_after_utc < now \
                    and now - alert.sent > STALE_AFTER:
                check.problems.append(f"{item.label[:60]} has expired and the alert was sent more than a day ago")
                continue
            check.verified_by = item.label
            check.problems = []
            return check
    return check


def _alone(root: etree._Element, index: int) -> tuple[etree._Element, etree._Element]:
    """A copy of the document with every signature taken out (white space kept) and signature ``index`` put back
    at the end, as it was when its signer signed."""
    document = copy.deepcopy(root)
    signatures = document.findall(f"{{{DSIG}}}Signature")
    for signature in signatures:
        previous = signature.getprevious()
        if signature.tail:
            if previous is not None:
                previous.tail = (previous.tail or "") + signature.tail
            else:
                document.text = (document.text or "") + signature.tail
        document.remove(signature)
        signature.tail = None
    document.append(signatures[index])
    return document, signatures[index]


def _verify_one(document: etree._Element, signature: etree._Element, item: Trusted, sent: datetime) -> None:
    config = SignatureConfiguration(signature_methods=METHODS, digest_algorithms=frozenset(DigestAlgorithm),
                                    verification_time=sent, ignore_ambiguous_key_info=True)
    certificate = item.certificate
    if certificate is None:
        certificate = next((c for c in _embedded(signature) if _public(c) == item.public_pem), None)
    if certificate is not None:
        _Verifier().verify(document, x509_cert=certificate, expect_config=config, validate_schema=False)
        return
    if signature.find(f".//{{{DSIG}}}X509Data") is not None:
        raise ValueError("its certificate is not the trusted key")
    bare = SignatureConfiguration(signature_methods=METHODS, digest_algorithms=frozenset(DigestAlgorithm),
                                  verification_time=sent, require_x509=False)
    result = _Verifier().verify(document, expect_config=bare, validate_schema=False)
    used = result.signature_key if not isinstance(result, list) else result[0].signature_key
    if used.strip() != item.public_pem.strip():
        raise ValueError("signed with another key")


def _embedded(signature: etree._Element) -> list[x509.Certificate]:
    found = []
    for element in signature.iter(f"{{{DSIG}}}X509Certificate"):
        try:
            found.append(x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split()))))
        except ValueError:
            continue
    return found
