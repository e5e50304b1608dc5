"""Codes read as a listener hears them: legal document numbers ("số 49/2024/NĐ-CP", "09-NQ/TU", "12/CĐ-TTg"),
letters glued to a number ("QH15", "BĐ1", "UBTVQH14", "H5N1", "OM4900", "QL1A"), unit codes with a leading zero
("C06"), road markers ("Km571+830") and compounds of known abbreviations ("KH-UBND")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from broadcaster.speech import dictionaries as lists
from broadcaster.speech.dates import ROMAN
from broadcaster.speech.numbers import Dialect, read_digits, read_number

LETTER_CODES = {"QH": "quốc hội khóa", "BĐ": "báo động"}
"""Letters glued to a number: "QH15" is the fifteenth National Assembly, "BĐ1" alarm level one."""
TITLES_NOT_CODES = {"GS", "PGS", "TS", "BS", "ThS", "KS", "CN", "NCS", "ĐH", "CĐ"}
"""Titles that are not read as such when glued to a number: "GS55" is a rice variety, not a professor."""
DOCUMENT_WORDS = (r"(?i:số|nghị định|nghị quyết|quyết định|thông tư|chỉ thị|công văn|kế hoạch|luật|pháp lệnh|"
                  r"thông báo|báo cáo|tờ trình|công điện|văn bản|hướng dẫn|tuần|đợt|kỳ|khóa|lần|bản tin|quy chuẩn)")
"""Words after which "42/2025" is a number of that year ("số bốn mươi hai năm hai nghìn không trăm hai mươi lăm")."""


@dataclass
class Codes:
    """Reads codes with the normalizer's word lists; ``parts`` holds every known abbreviation by its letters."""

    parts: Mapping[str, str]
    letters: Mapping[str, str]
    dialect: Dialect
    context: Mapping[str, list[lists.Reading]]
    """Parts with several readings, chosen by the words around the code ("BC-TCT" of a "tổ công tác")."""

    def read(self, s: str) -> str:
        d = self.dialect
        # A code typed with spaces around its separators is the same code: "473/TTr - NN&PTNT", "04/2021/TT- TTCP",
        # "12 /KH-UBND", "123/QĐ.UBND" (each part known or in capitals).
        s = re.sub(r"\b(\d+) ?[-–] ?(?=([A-ZĐ][A-Za-zĐđ]*)/[A-ZĐ])",  # the Party's "12 - HD/BTGTU"
                   lambda m: f"{m[1]}-" if m[2] in self.parts else m[0], s)
        s = re.sub(r"\b(\d+(?:/\d{4})?) ?/ ?([A-ZĐ][A-Za-zĐđ&]*\d{0,2}(?: ?[-–.] ?[A-ZĐ][A-Za-zĐđ&]*\d{0,2})+)(?!\w)",
                   self._tight, s)
        s = re.sub(r"(?i:\b(số|sô)\s+)?\b(\d+)/(\d{4})/([A-ZĐ][\w&-]*)", self._numbered, s)
        s = re.sub(r"\b(\d+)[-/]([A-ZĐ][A-Za-zĐđ&]*(?:[/-][A-ZĐ][A-Za-zĐđ&]*)+\d{0,2})\b",
                   lambda m: f"{read_number(int(m[1]), d)} {m[2]}", s)
        # One known part after the number: "số 12/KH", "Công văn 285/CCTTHC".
        s = re.sub(r"(?<![\w/.,])(\d+)/([A-ZĐ][A-Za-zĐđ&]+)\b(?![/-])",
                   lambda m: f"{read_number(int(m[1]), d)} {m[2]}" if m[2] in self.parts else m[0], s)
        # A body of the National Assembly and its term standing alone: "UBTVQH13" (read like "QH13" below).
        s = re.sub(r"(?<![-/])\b([A-ZĐ]{1,6}QH)(\d{1,2})\b", lambda m: self.part(m[0]) or m[0], s)
        s = re.sub(r"\b(" + "|".join(LETTER_CODES) + r") ?(\d{1,2})\b",
                   lambda m: f"{LETTER_CODES[m[1]]} {read_number(int(m[2]), d)}", s)
        # A kilometre named before its number: "km số 4", "Km 15" (not "15 km", read with the units).
        s = re.sub(r"(?<![\d.,])(?<!\d )\b[Kk]m(?= (?:số )?\d)(?! \d+ ?\+)", "ki lô mét", s)
        # Road markers: "Km571+830" is kilometre 571 plus 830 metres.
        s = re.sub(r"\b[Kk]m ?(\d+) ?\+ ?(\d+)\b",
                   lambda m: f"ki lô mét {read_number(int(m[1]), d)} cộng {read_number(int(m[2]), d)}", s)
        # Unit codes with a leading zero, said letter by letter and digit by digit: "C06", "PC04".
        s = re.sub(r"(?<![-/])\b([A-Z]{1,3})(0\d{1,3})\b",
                   lambda m: f"{lists.spell(m[1], self.letters) or m[1]} {read_digits(m[2])}", s)
        # A number plate: "BKS 19C-113.48" is mười chín xê, then its serial digit by digit.
        # Also as motorbikes carry them, the series after a hyphen and the serial after a space: "59-X1 234.56".
        s = re.sub(r"\b(\d{2})-?([A-Z]{1,2})(\d?)(?:-|\s(?=\d{3}\.\d{2}\b))(\d{3}\.\d{2}|\d{4,5})\b", self._plate, s)
        # A flight by its airline's letters: "chuyến bay VN36" is vê en ba mươi sáu (not Việt Nam).
        s = re.sub(r"(?i:\b(chuyến bay|số hiệu|hiệu chuyến bay)) ([A-Z]{2}|[A-Z]\d)(\d{1,4})\b",
                   lambda m: f"{m[1]} {' '.join(self.letters.get(c) or read_digits(c) for c in m[2])} "
                   f"{read_number(int(m[3]), d)}", s)
        # An emission grade in Roman numerals after a fuel's code: "RON95-III", "E5 RON92-II", "DO 0,05S-II".
        s = re.sub(r"\b([A-Z]{1,4} ?\d+(?:[.,]\d+)?[A-Z]?)-(II|III|IV|V)\b(?![\w-])",
                   lambda m: f"{m[1]} {read_number(ROMAN[m[2]], d)}", s)
        # Letters and numbers in turn: a virus "H5N1", a rice variety "OM4900", a flight "VN36", "EV71".
        s = re.sub(r"\b([A-Z])/(?=[A-Z]{1,3}\d)", r"\1 ", s)  # "cúm A/H5N1": the slash is not read
        return re.sub(r"\b(?:[A-Z]{1,3}\d+){1,3}[A-Z]?\b(?![/-]\d)", self._letters_and_numbers, s)

    def _letters_and_numbers(self, m: re.Match[str]) -> str:
        if re.fullmatch(r"[A-Z]{1,3}0\d{1,3}", m[0]) and re.search(r"[A-ZĐ][-/]$", m.string[:m.start()]):
            return m[0]  # "CAT-PV01": a unit closing a code, read with the code (``compound``)
        return self._letters_and_digits(m)

    def _tight(self, m: re.Match[str]) -> str:
        """A loose code's separators closed up when every part is a code's: known, or letters in capitals."""
        parts = re.split(r" ?[-–.] ?", m[2])
        if m[0].count(" ") == 0 and "." not in m[2] and "–" not in m[2]:
            return m[0]
        if not all(p in self.parts or self.part(p) or re.fullmatch(r"[A-ZĐ]{2,8}\d{0,2}", p) for p in parts):
            return m[0]
        return f"{m[1]}/{'-'.join(parts)}"

    def _plate(self, m: re.Match[str]) -> str:
        series = " ".join(self.letters.get(c, c) for c in m[2]) + (" " + read_digits(m[3]) if m[3] else "")
        return f"{read_number(int(m[1]), self.dialect)} {series}, {read_digits(m[4])}"

    def _numbered(self, m: re.Match[str]) -> str:
        """"số 49/2024/NĐ-CP": "số" is said where it is written, or where no word names the document ("theo
        49/2024/NĐ-CP"); "Nghị định 49/2024/NĐ-CP" is read as written, without it."""
        said = m[1] if m[1] and m[1].lower() == "số" else "số"
        before = m.string[max(0, m.start() - 20):m.start()]
        if not m[1] and (re.search(DOCUMENT_WORDS + r"\s$", before) or re.search(r"(?i)\bsố\s?:\s*$", before)):
            said = ""  # "Số: 59/2022/NĐ-CP", "liên tịch số: 183/2010/...": "số" is written already, said once
        head = f"{said} " if said else ""
        code = self.part(m[4]) if re.fullmatch(r"[A-ZĐ]+\d{1,2}", m[4]) else None  # "UBTVQH13": with its term
        return f"{head}{read_number(int(m[2]), self.dialect)} năm {read_number(int(m[3]), self.dialect)} {code or m[4]}"

    def _letters_and_digits(self, m: re.Match[str]) -> str:
        if m[0] in self.parts:
            return m[0]
        known = self.part(m[0])  # "UBTVQH14": a body and its term
        if known:
            return known
        head = re.fullmatch(r"([A-ZĐ][A-Za-zĐđ]*)(\d+)([A-Z]?)", m[0])
        if head and head[1] in self.parts and head[1] not in TITLES_NOT_CODES and head[1].isupper():
            tail = " " + self.letters.get(head[3], head[3]) if head[3] else ""  # "QL1A": quốc lộ một a
            return f"{self.parts[head[1]]} {read_number(int(head[2]), self.dialect)}{tail}"
        pieces = re.findall(r"[A-Z]+|\d+", m[0])
        # A later piece said as a word where it is one: "E5RON92" is e năm rôn chín mươi hai.
        # Five digits or more, or a leading zero, are said digit by digit: "IR50404" (a rice variety).
        return " ".join((read_digits(p) if len(p) >= 5 or p[0] == "0" else read_number(int(p), self.dialect))
                        if p.isdigit()
                        else (self.parts.get(p) if i and len(p) >= 3 else None) or lists.spell(p, self.letters) or p
                        for i, p in enumerate(pieces))

    def compound(self, m: re.Match[str]) -> str:
        """'KH-UBND' -> 'kế hoạch ủy ban nhân dân' when every part is a known abbreviation."""
        nearby = m.string[max(0, m.start() - 80):m.end() + 80].lower()
        parts = re.split(r"[-/]", m[0])
        # The first part names the kind of document and is always read as in codes ("QĐ-UBND" is a quyết định even
        # beside the words "ban hành Quy định"); a later part may be cued by the words around the code.
        # A unit with a leading zero in a code, "CAT-PV01", is said letter by letter and digit by digit.
        readings = [(self._unit(p) or self._cued(p, nearby) if i else None) or self.part(p)
                    for i, p in enumerate(parts)]
        if not all(readings) and readings[0]:
            # "QĐ-BNN-TY": the parts nobody listed are spelled, the known ones still read as words.
            readings = [r or (lists.spell(p, self.letters) if re.fullmatch(r"[A-ZĐ]{1,6}", p) else None)
                        for r, p in zip(readings, parts, strict=True)]
        if not any(readings) and len(parts) == 2:
            return self._moved_hyphen("".join(parts)) or m[0]
        return " ".join(r for r in readings if r) if all(readings) else m[0]

    def _moved_hyphen(self, letters: str) -> str | None:
        """Two known parts with the hyphen typed one letter off, neither side known as written: "NNP-TNT" is
        NN&PTNT (nông nghiệp và phát triển nông thôn)."""
        for cut in range(2, len(letters) - 1):
            head, tail = letters[:cut], letters[cut:]
            joined = self.parts.get(f"{head}&{tail}")
            if joined or (head in self.parts and tail in self.parts):
                return joined or f"{self.parts[head]} {self.parts[tail]}"
        return None

    def _unit(self, part: str) -> str | None:
        unit = re.fullmatch(r"([A-Z]{1,3})(0\d{1,3})", part)
        spelled = lists.spell(unit[1], self.letters) if unit else None
        return f"{spelled} {read_digits(part)}" if spelled else None

    def _cued(self, part: str, nearby: str) -> str | None:
        """A part whose other reading is written out next to the code: "Tổ công tác ... số 3681/BC-TCT" (otherwise
        the part is read as in codes)."""
        return next((r.text for r in self.context.get(part, [])[1:] if r.text and r.text in nearby), None)

    def part(self, part: str) -> str | None:
        """One part of a document code: a known abbreviation, or one with its term ("UBTVQH14")."""
        if part in self.parts:
            return self.parts[part]
        known = re.fullmatch(r"([A-ZĐ][A-Za-zĐđ&]*)(\d{1,2})", part)
        if known and known[1] in self.parts and known[1] not in TITLES_NOT_CODES:
            term = " khóa" if known[1].endswith("QH") else ""
            return f"{self.parts[known[1]]}{term} {read_number(int(known[2]), self.dialect)}"
        return None
