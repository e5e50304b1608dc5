"""What the loudspeakers say for an alert: its Vietnamese ``<info>`` read as written (markup stripped, wrapped
lines joined, each part ending a sentence), or, when it has none, a Vietnamese announcement built from its
event, severity, our areas and its times with the emergency templates. A foreign text is never handed to a
Vietnamese voice; it is kept for the operator."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from broadcaster.domain.cap.parse import Alert, Info
from broadcaster.domain.cap.policy import CERTAINTIES, SEVERITIES, URGENCIES, value

BREAKS = re.compile(r"(?i)<\s*(br|p|/p|div|/div|li|tr)\b[^>]{0,200}>")
TAGS = re.compile(r"<[^<>]{0,500}>")
SENTENCE_END = ".!?…:;"
MAX_PART = 4000
CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def clean(text: str) -> str:
    """Readable text: markup and entities gone (``&lt;br /&gt;`` too), hard-wrapped lines joined, each paragraph
    (a blank line, a ``<br>``, a ``* `` bullet) a sentence of its own, the NWS ``...`` headline dots gone."""
    for _ in range(3):  # entities escaped twice come back as markup after the first unescape
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = BREAKS.sub("\n\n", text)
    text = TAGS.sub(" ", text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n[ \t]*(?=[*•\-–] )", "\n\n", text)
    paragraphs = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        line = " ".join(paragraph.split())
        line = re.sub(r"^[*•\-–] +", "", line).strip(" .")
        line = re.sub(r"\.{3,}", ", ", line).strip(" ,")
        if any(ch.isalnum() for ch in line):
            paragraphs.append(sentence(line))
    return " ".join(paragraphs)


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in SENTENCE_END else text + "."


def read_vietnamese(info: Info, emergency: bool) -> tuple[str, str]:
    """(title, text) of a Vietnamese ``<info>``: headline (or event), description and instruction, each a
    sentence; "Khẩn cấp!" first for an emergency that does not already say so."""
    parts = [clean(p)[:MAX_PART] for p in (info.headline or info.event, info.description, info.instruction) if p]
    text = " ".join(p for p in parts if p)
    if emergency and not text.casefold().startswith("khẩn cấp"):
        text = "Khẩn cấp! " + text
    return (clean(info.headline or info.event) or "Cảnh báo").rstrip("."), text


def original_text(infos: list[Info]) -> str:
    """The alert's own words, for the operator (cleaned of markup, not translated)."""
    blocks = []
    for info in infos:
        parts = [clean(p) for p in (info.headline, info.description, info.instruction) if p]
        blocks.append(f"[{info.language}] {info.event}\n" + "\n".join(parts))
    return "\n\n".join(blocks)[:20_000]


@lru_cache(maxsize=1)
def event_table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files("broadcaster").joinpath("data/cap_events.json").read_text(encoding="utf-8"))
    return loaded


@lru_cache(maxsize=1)
def templates() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(
        resources.files("broadcaster").joinpath("data/emergency_templates.json").read_text(encoding="utf-8"))
    return loaded


def _word_in(word: str, text: str) -> bool:
    if CJK.search(word):
        return word in text
    return re.search(rf"(?<!\w){re.escape(word.casefold())}(s|es)?(?!\w)", text.casefold()) is not None


@dataclass(frozen=True)
class Event:
    vi: str
    template: str | None
    phenomenon: bool = True
    """Something that happens (a storm): its certainty is said ("đang xảy ra"); not for a notice (a school
    closure, an abducted child)."""


def event_of(info: Info) -> Event | None:
    """Our name of the alert's event: by its event codes first, then the words of its event, then of its
    headline; None when nothing fits."""
    entries = event_table()["events"]
    codes = {c.value.strip().casefold() for c in info.event_codes}
    for entry in entries:
        if codes & {c.casefold() for c in entry["codes"]}:
            return Event(entry["vi"], entry["template"], entry.get("phenomenon", True))
    for text in (info.event, info.headline):
        for entry in entries:
            if any(_word_in(word, text) for word in entry["words"]):
                return Event(entry["vi"], entry["template"], entry.get("phenomenon", True))
    return None


SEVERITY_WORDS = {"Extreme": "mức đặc biệt nguy hiểm", "Severe": "mức nguy hiểm", "Moderate": "cần đề phòng",
                  "Minor": "mức độ nhẹ"}
CERTAINTY_WORDS = {"Observed": "đang xảy ra", "Likely": "nhiều khả năng xảy ra", "Possible": "có thể xảy ra"}
URGENCY_WORDS = {"Immediate": "Bà con cần hành động ngay.", "Expected": "Dự báo xảy ra trong thời gian rất gần.",
                 "Future": "Dự báo xảy ra trong những ngày tới."}
GENERAL_ADVICE = "Bà con chủ động theo dõi thông báo tiếp theo của chính quyền địa phương để phòng tránh."


def advice(template: str | None) -> str:
    """What people should do, from an emergency template: its sentences from the first that speaks to them
    ("Bà con ...") on; the general advice without a template."""
    text = templates().get(template or "", {}).get("text", "")
    start = text.find("Bà con")
    return text[start:] if start >= 0 else GENERAL_ADVICE


def spoken_time(when: datetime, zone: ZoneInfo, now: datetime) -> str:
    """``14 giờ 30 phút ngày 17 tháng 6`` (with the year when it is not this year's), local time."""
    local = when.astimezone(zone)
    clock = f"{local.hour} giờ" + (f" {local.minute} phút" if local.minute else "")
    day = f"ngày {local.day} tháng {local.month}"
    if local.year != now.astimezone(zone).year:
        day += f" năm {local.year}"
    return f"{clock} {day}"


def build_vietnamese(alert: Alert, info: Info, priority: str, areas: str, zone: ZoneInfo, now: datetime
                     ) -> tuple[str, str]:
    """(title, text) of a Vietnamese announcement for a foreign ``<info>``: what (our name of the event, or the
    kind of alert), how grave and how sure, where (our area names), when (its onset or effective time and its
    expiry, local time), what to do (the emergency template of the event, or general advice)."""
    event = event_of(info)
    categories = event_table()["categories"]
    category = ""
    if event is not None:
        what = f"Cảnh báo {event.vi}"
    else:
        category = next((categories[c] for c in info.categories if categories.get(c)), "")
        what = f"Cảnh báo {category}".strip()
    severity = SEVERITY_WORDS.get(value(info.severity, SEVERITIES))
    opening = ("Khẩn cấp! " if priority == "emergency" else "") + (what if event or category else "Có cảnh báo")
    parts = [opening + (f", {severity}," if severity else "") + (f" tại {areas}." if areas else ".")]
    certainty = value(info.certainty, CERTAINTIES)
    if certainty in CERTAINTY_WORDS and (event is None or event.phenomenon):
        subject = event.vi.capitalize() if event else "Tình huống"
        parts.append(sentence(f"{subject} {CERTAINTY_WORDS[certainty]}"))
    urgency = value(info.urgency, URGENCIES)
    if urgency == "Immediate" or (urgency in URGENCY_WORDS and certainty != "Observed"):
        parts.append(URGENCY_WORDS[urgency])
    start = info.onset or info.effective
    if start is not None and start > now and info.expires is not None:
        parts.append(f"Cảnh báo có hiệu lực từ {spoken_time(start, zone, now)} "
                     f"đến {spoken_time(info.expires, zone, now)}.")
    elif info.expires is not None:
        parts.append(f"Cảnh báo có hiệu lực đến {spoken_time(info.expires, zone, now)}.")
    parts.append(advice(event.template if event and priority != "normal" else None))
    parts.append("Bản tin được soạn tự động từ cảnh báo gốc của cơ quan chức năng.")
    return what, " ".join(parts)
