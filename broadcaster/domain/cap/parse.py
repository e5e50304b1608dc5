"""Reading a CAP document (1.0, 1.1 or 1.2) into typed values, once, at the edge: everything after this works on
``Alert``, never on XML. A document that is not one well-formed CAP alert is refused with a code saying why."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from broadcaster.domain.errors import Refusal

NAMESPACES = {
    "http://www.incident.com/cap/1.0": "1.0",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
}
DSIG = "http://www.w3.org/2000/09/xmldsig#"
MAX_CAP_BYTES = 4 * 1024 * 1024
"""Embedded audio makes real alerts large (a Pelmorex test message with two MP3s and images: 1 MB)."""
MAX_TEXT_FIELD = 20_000


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]
    """(lat, lon) pairs, the ring closed (first == last)."""


@dataclass(frozen=True)
class Pair:
    """A CAP ``valueName``/``value`` pair: a geocode, an event code, a parameter."""

    name: str
    value: str


@dataclass(frozen=True)
class AreaBlock:
    desc: str
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[Pair, ...] = ()


@dataclass(frozen=True)
class Resource:
    description: str
    mime_type: str
    uri: str = ""
    deref: bytes | None = None
    """The embedded content (``<derefUri>``), decoded."""
    digest: str = ""
    """SHA-1 of the content, hex (CAP 1.1 and 1.2)."""
    size: int | None = None
    text_sha1: str = ""
    """SHA-1 of the ``<derefUri>`` text itself, as written: NAADS computes its digests over that, not over the
    content (every embedded resource of the real Pelmorex alert)."""


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    event_codes: tuple[Pair, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    areas: tuple[AreaBlock, ...] = ()
    resources: tuple[Resource, ...] = ()

    @property
    def vietnamese(self) -> bool:
        return self.language.lower().startswith("vi")


@dataclass(frozen=True)
class Reference:
    sender: str
    identifier: str
    sent: str


@dataclass(frozen=True)
class Alert:
    version: str
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str = ""
    note: str = ""
    references: tuple[Reference, ...] = ()
    infos: tuple[Info, ...] = ()
    signatures: int = 0
    """How many enveloped ``<Signature>`` elements it carries (checked by ``signatures.verify``)."""
    warnings: tuple[str, ...] = field(default=())
    """What could not be read and was left out (an empty polygon, a resource that is not base64...)."""
    root: etree._Element | None = field(default=None, compare=False, repr=False)
    """The parsed document, for the signature check only."""


def parse(payload: bytes) -> Alert:
    """The one CAP alert in ``payload``; refused (``not_well_formed``, ``not_single_alert``, ``not_cap``,
    ``invalid_cap``) otherwise."""
    root = parse_xml(payload)
    version = _version(root)
    ns = f"{{{_namespace(root)}}}"
    warnings: list[str] = []
    _refuse_foreign_elements(root, ns)
    infos = tuple(_info(block, ns, warnings) for block in root.findall(f"{ns}info"))
    return Alert(
        version=version,
        identifier=_required(root, ns, "identifier"),
        sender=_required(root, ns, "sender"),
        sent=_time(root, ns, "sent", required=True),  # type: ignore[arg-type]
        status=_required(root, ns, "status"),
        msg_type=_required(root, ns, "msgType"),
        scope=_text(root, ns, "scope") or ("Public" if version == "1.0" else _required(root, ns, "scope")),
        source=_text(root, ns, "source"),
        note=_text(root, ns, "note"),
        references=_references(_text(root, ns, "references")),
        infos=infos,
        signatures=len(root.findall(f"{{{DSIG}}}Signature")),
        warnings=tuple(warnings),
        root=root,
    )


def parse_xml(payload: bytes) -> etree._Element:
    """A document's root, refusing what an alert never needs and an attacker would use (DOCTYPE, entities)."""
    if len(payload) > MAX_CAP_BYTES:
        raise Refusal("request_entity_too_large", f"a CAP alert may be at most {MAX_CAP_BYTES // 1024 // 1024} MiB",
                      status=413)
    head = payload[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in payload.upper():
        raise Refusal("invalid_cap", "CAP alerts carry no DOCTYPE or entities")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(payload, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Refusal("not_well_formed", f"not well-formed XML: {str(exc)[:200]}") from None
    if root is None:
        raise Refusal("not_well_formed", "the document is empty")
    return root


def _namespace(element: etree._Element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag[1:].split("}")[0] if tag.startswith("{") else ""


def _version(root: etree._Element) -> str:
    namespace = _namespace(root)
    local = etree.QName(root).localname
    if namespace in NAMESPACES and local == "alerts":
        count = len(root.findall(f"{{{namespace}}}alert"))
        raise Refusal("not_single_alert", f"the document holds {count} alerts in an <alerts> wrapper; send each "
                                          "<alert> on its own")
    if namespace not in NAMESPACES or local != "alert":
        raise Refusal("not_cap", f"the document is not a CAP <alert> (CAP 1.0, 1.1 or 1.2): its root is "
                                 f"<{local}> in {namespace or 'no namespace'}")
    return NAMESPACES[namespace]


def _refuse_foreign_elements(root: etree._Element, ns: str) -> None:
    """Every element outside the signatures is CAP's own: an element moved out of the CAP namespace (by
    ``xmlns=""``) would be silently ignored while a signature check that drops empty namespace declarations
    (broadcaster.domain.cap.signatures) still passed, so a signed ``<expires>`` could be hidden that way."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == f"{{{DSIG}}}Signature" and element.getparent() is root:
            continue
        if any(a.tag == f"{{{DSIG}}}Signature" for a in element.iterancestors()):
            continue
        if not element.tag.startswith(ns):
            raise Refusal("invalid_cap", f"<{etree.QName(element).localname}> is outside the CAP namespace")


def _text(element: etree._Element, ns: str, name: str) -> str:
    found = element.find(f"{ns}{name}")
    return (found.text or "").strip()[:MAX_TEXT_FIELD] if found is not None else ""


def _all(element: etree._Element, ns: str, name: str) -> tuple[str, ...]:
    return tuple((e.text or "").strip() for e in element.findall(f"{ns}{name}") if (e.text or "").strip())


def _required(element: etree._Element, ns: str, name: str) -> str:
    value = _text(element, ns, name)
    if not value:
        raise Refusal("invalid_cap", f"the alert has no <{name}>")
    return value[:200]


def parse_time(value: str) -> datetime | None:
    """A CAP dateTime (``2003-06-17T14:57:00-07:00``; ``-00:00`` and ``Z`` are UTC); None if not one."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else None


def _time(element: etree._Element, ns: str, name: str, required: bool = False) -> datetime | None:
    value = _text(element, ns, name)
    if not value:
        if required:
            raise Refusal("invalid_cap", f"the alert has no <{name}>")
        return None
    when = parse_time(value)
    if when is None:
        raise Refusal("invalid_cap", f"<{name}> is not a date and time with its offset: {value[:40]!r}")
    return when


def _references(text: str) -> tuple[Reference, ...]:
    """``sender,identifier,sent`` triples separated by white space."""
    found = []
    for triple in text.split():
        parts = triple.split(",")
        if len(parts) == 3 and parts[1]:
            found.append(Reference(parts[0], parts[1], parts[2]))
    return tuple(found)


def _pairs(element: etree._Element, ns: str, name: str) -> tuple[Pair, ...]:
    """``<name><valueName/><value/></name>`` pairs; CAP 1.0's ``<name>valueName=value</name>`` strings too."""
    found = []
    for block in element.findall(f"{ns}{name}"):
        if block.find(f"{ns}value") is not None or block.find(f"{ns}valueName") is not None:
            found.append(Pair(_text(block, ns, "valueName"), _text(block, ns, "value")))
        elif "=" in (block.text or ""):
            key, _, value = (block.text or "").strip().partition("=")
            found.append(Pair(key.strip(), value.strip()))
    return tuple(p for p in found if p.value)


def _info(block: etree._Element, ns: str, warnings: list[str]) -> Info:
    return Info(
        language=_text(block, ns, "language") or "en-US",
        categories=_all(block, ns, "category"),
        event=" ".join(_text(block, ns, "event").split()),
        urgency=_text(block, ns, "urgency"),
        severity=_text(block, ns, "severity"),
        certainty=_text(block, ns, "certainty"),
        event_codes=_pairs(block, ns, "eventCode"),
        effective=_time(block, ns, "effective"),
        onset=_time(block, ns, "onset"),
        expires=_time(block, ns, "expires"),
        sender_name=_text(block, ns, "senderName"),
        headline=_text(block, ns, "headline"),
        description=_text(block, ns, "description"),
        instruction=_text(block, ns, "instruction"),
        areas=tuple(_area(area, ns, warnings) for area in block.findall(f"{ns}area")),
        resources=tuple(r for r in (_resource(res, ns, warnings) for res in block.findall(f"{ns}resource")) if r),
    )


def _area(block: etree._Element, ns: str, warnings: list[str]) -> AreaBlock:
    desc = _text(block, ns, "areaDesc")
    polygons, circles = [], []
    for text in _all(block, ns, "polygon"):
        polygon = parse_polygon(text)
        if polygon is None:
            warnings.append(f"polygon of '{desc[:60]}' unreadable")
        else:
            polygons.append(polygon)
    for text in _all(block, ns, "circle"):
        circle = parse_circle(text)
        if circle is None:
            warnings.append(f"circle of '{desc[:60]}' unreadable: {text[:40]!r}")
        else:
            circles.append(circle)
    return AreaBlock(desc, tuple(polygons), tuple(circles), _pairs(block, ns, "geocode"))


def _point(text: str) -> tuple[float, float] | None:
    lat_text, _, lon_text = text.partition(",")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def parse_polygon(text: str) -> Polygon | None:
    """CAP's ``lat,lon lat,lon ...`` (latitude first, WGS 84), closed if the issuer did not close it; None
    when fewer than three distinct points can be read."""
    points = [_point(pair) for pair in text.split()]
    if not points or any(p is None for p in points):
        return None
    ring = [p for p in points if p is not None]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return Polygon(tuple(ring)) if len(set(ring)) >= 3 else None


def parse_circle(text: str) -> Circle | None:
    """CAP's ``lat,lon radius`` (radius in km)."""
    centre, _, radius = text.strip().partition(" ")
    point = _point(centre)
    try:
        km = float(radius) if radius.strip() else 0.0
    except ValueError:
        return None
    return Circle(point[0], point[1], km) if point is not None and km >= 0 else None


def _resource(block: etree._Element, ns: str, warnings: list[str]) -> Resource | None:
    size_text = _text(block, ns, "size")
    written = block.findtext(f"{ns}derefUri") or ""
    deref_text = "".join(written.split())
    deref = None
    if deref_text:
        try:
            deref = base64.b64decode(deref_text, validate=True)
        except (binascii.Error, ValueError):
            warnings.append(f"resource '{_text(block, ns, 'resourceDesc')[:60]}': embedded content is not base64")
    return Resource(description=_text(block, ns, "resourceDesc"), mime_type=_text(block, ns, "mimeType"),
                    uri=_text(block, ns, "uri"), deref=deref, digest=_text(block, ns, "digest").lower(),
                    size=int(size_text) if size_text.isdigit() else None,
                    text_sha1=hashlib.sha1(written.encode()).hexdigest() if written else "")
