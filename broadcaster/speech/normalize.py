"""Vietnamese text normalization: everything a listener should hear, as words.

A first, rule-based version: numbers with Vietnamese separators, dates, times, ranges, percentages,
units and money, phone numbers, Roman numerals after the words that take them, and abbreviations
from a dictionary (``content/abbreviations.tsv`` plus any the commune adds).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from broadcaster.speech.numbers import DIALECTS as DIALECTS  # the settings name dialects by these keys
from broadcaster.speech.numbers import NORTH, Dialect, parse_amount, read_amount, read_digits, read_number

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"


def _roman(n: int) -> str:
    tens, units = divmod(n, 10)
    ones = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    return "X" * tens + ones[units]


ROMAN = {_roman(n): n for n in range(1, 40)}
ROMAN_AFTER = r"(?i:quý|khóa|khoá|phần|chương|mục|đại hội|thế kỷ|lần thứ|kỳ|tập)"

UNITS = {
    "km2": "ki lô mét vuông", "km²": "ki lô mét vuông", "m2": "mét vuông", "m²": "mét vuông",
    "m3": "mét khối", "m³": "mét khối", "km/h": "ki lô mét trên giờ", "km": "ki lô mét",
    "cm": "xen ti mét", "mm": "mi li mét", "m": "mét", "kg": "ki lô gam", "g": "gam", "ha": "héc ta",
    "tấn": "tấn", "lít": "lít", "l": "lít", "ml": "mi li lít", "°C": "độ xê", "độ C": "độ xê",
    "%": "phần trăm", "đ": "đồng", "VNĐ": "việt nam đồng", "VND": "việt nam đồng", "USD": "đô la mỹ",
    "kWh": "ki lô oát giờ", "MW": "mê ga oát", "kW": "ki lô oát", "V": "vôn", "GB": "gi ga bai",
    "MB": "mê ga bai", "G": "gờ",
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
MONTHS = {4: "tư"}


def _day(d: int, dialect: Dialect) -> str:
    return ("mùng " if d <= 10 else "") + read_number(d, dialect)


def _month(m: int, dialect: Dialect) -> str:
    return MONTHS.get(m) or read_number(m, dialect)


def _valid_date(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


@lru_cache(maxsize=8)
def load_abbreviations(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    if not path.exists():
        return table
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, reading = line.partition("\t")
        if reading.strip():
            table[word.strip()] = reading.strip()
    return table


@dataclass
class Normalizer:
    """Turns bulletin text into what will be read aloud. ``extra`` (commune words) wins over built-ins."""

    dialect: Dialect = NORTH
    extra: Mapping[str, str] = field(default_factory=dict)
    abbreviations_file: Path = CONTENT_DIR / "abbreviations.tsv"
    document_codes_file: Path = CONTENT_DIR / "document-codes.tsv"

    def __post_init__(self) -> None:
        table = dict(load_abbreviations(self.abbreviations_file))
        table.update(self.extra)
        self.table = table
        self.code_parts = {**load_abbreviations(self.abbreviations_file),
                           **load_abbreviations(self.document_codes_file), **self.extra}
        words = sorted(table, key=len, reverse=True)
        self._abbr_re = (
            re.compile(r"(?<![\w&/-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w&-])")
            if words else None
        )

    def sentences(self, text: str) -> list[str]:
        """Normalized sentences, split where a reader pauses."""
        parts: list[str] = []
        for line in text.splitlines():  # a line break is a pause even without punctuation
            parts += re.split(r"(?<=[.!?;:])\s+", self(line))
        return [p.strip() for p in parts if p.strip() and re.search(r"\w", p)]

    def __call__(self, text: str) -> str:
        d = self.dialect
        s = unicodedata.normalize("NFC", text)
        s = "".join(ch if ch.isprintable() or ch in "\n" else " " for ch in s)
        s = re.sub(r"[ \t\u00a0]+", " ", s)
        # Abbreviations first, so "NĐ-CP" is not read as a range or "TT&TT" as letters.
        # Legal document numbers: "49/2024/NĐ-CP", "09-NQ/TU".
        s = re.sub(r"\b(\d+)/(\d{4})/([A-ZĐ][\w&-]*)",
                   lambda m: f"số {read_number(int(m[1]), d)} năm {read_number(int(m[2]), d)} {m[3]}", s)
        s = re.sub(r"\b(\d+)[-/]([A-ZĐ]{2,}[/-][A-ZĐ]+)\b", lambda m: f"{read_number(int(m[1]), d)} {m[2]}", s)
        if self._abbr_re is not None:
            s = self._abbr_re.sub(lambda m: self.table[m[1]], s)
        s = re.sub(r"\b[A-ZĐ][A-Za-zĐđ]*(?:[-/][A-ZĐ][A-Za-zĐđ]*)+\b", self._compound, s)
        # Phone numbers and hotlines: digit by digit.
        s = re.sub(r"(?<![\d.,])(0\d(?:[ .]?\d){8,9})(?![.,]?\d)", lambda m: read_digits(m[1]), s)
        s = re.sub(r"(?i)((?:đường dây nóng|hotline|gọi|số điện thoại|sđt|tổng đài)[:\s]*)(\d{3,5})\b",
                   lambda m: m[1] + read_digits(m[2]), s)
        # A range of days in one month: "15-20/4" -> "15 đến 20/4".
        s = re.sub(r"\b(\d{1,2})\s?[-–]\s?(\d{1,2})/(\d{1,2})\b", r"\1 đến \2/\3", s)
        # A list of days in one month: "các ngày 03 và 04/12" -> "mùng ba và 04/12".
        s = re.sub(r"(?i)\b(ngày )((?:\d{1,2}(?:, ?| và ))+)(?=\d{1,2}[/.-]\d{1,2}\b)",
                   lambda m: m[1] + re.sub(r"\d{1,2}", lambda n: _day(int(n[0]), d), m[2]), s)
        # A quarter or term with its year: "Quý III/2025".
        s = re.sub(ROMAN_AFTER + r" ([IVX]{1,6})/(\d{4})\b", lambda m: f"{m[0][: m[0].rindex('/')]} năm {m[2]}", s)
        # Dates with a year: 7-6-2023, 01/01/2025, 20.9.2024.
        s = re.sub(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b", self._date_with_year, s)
        # Month and year: "tháng 9/2024".
        s = re.sub(r"(?i)\b(tháng) (\d{1,2})/(\d{4})\b",
                   lambda m: f"{m[1]} {_month(int(m[2]), d)} năm {read_number(int(m[3]), d)}", s)
        # Times: 14h30, 7h, 6h00, 14:01, 17 giờ 30.
        s = re.sub(r"\b([01]?\d|2[0-3])[hg](?:([0-5]\d)(?:p|')?)?(?![\w])", self._time, s)
        s = re.sub(r"\b([01]?\d|2[0-3]):([0-5]\d)\b(?!:)", self._time, s)
        # Day and month: 20/9. A ratio like 22/22, or one after a word of quantity ("tỷ lệ 1/3"), is not a date.
        s = re.sub(r"(?i)\b((?:tỷ lệ|tỉ lệ|chiếm|đạt|được|khoảng|gần|hơn) )(\d{1,2})/(\d{1,2})(?![\d/])",
                   lambda m: f"{m[1]}{read_number(int(m[2]), d)} trên {read_number(int(m[3]), d)}", s)
        s = re.sub(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])", self._date_or_ratio, s)
        # Year ranges and number ranges: 2021-2025, 5-7.
        s = re.sub(r"\b(\d[\d.,]*)\s?[-–]\s?(\d[\d.,]*\d|\d)\b", r"\1 đến \2", s)
        # Roman numerals after words that take them: Quý III, khóa XV.
        s = re.sub(ROMAN_AFTER + r" ([IVX]{1,6})\b",
                   lambda m: f"{m[0][: -len(m[1])]}{read_number(ROMAN[m[1]], d)}" if m[1] in ROMAN else m[0], s)
        # Numbers with a unit, including per-unit: "12.500 đồng/kg", "95,75%", "30°C".
        s = re.sub(r"(\d[\d.,]*)\s?(" + _UNIT_RE + r")(?![\w²³])", self._with_unit, s)
        s = re.sub(r"/\s?(" + _UNIT_RE + r")(?![\w²³])", lambda m: " trên " + UNITS[m[1]], s)
        # Ordinals and the rest of the numbers.
        s = re.sub(r"(?i)\b(thứ) (\d+)\b", self._ordinal, s)
        s = re.sub(r"(?<=\d):(?=\d)", " ", s)  # "ISO 9001:2015"
        s = re.sub(r"(?<=\d)(?=[^\W\d_])", " ", s)  # "Quốc lộ 1A"
        s = re.sub(r"\d[\d.,]*\d|\d", lambda m: self._number(m[0]), s)
        s = re.sub(r"(?<=\w)\s?/\s?(?=\w)", " trên ", s)
        s = s.replace("&", " và ").replace("+", " cộng ")
        s = re.sub(r"[\"“”«»()\[\]{}*_#|~^<>]", " ", s)
        s = re.sub(r"\s*([,.;:!?])", r"\1", s)
        return re.sub(r"\s+", " ", s).strip()

    def _compound(self, m: re.Match[str]) -> str:
        """'KH-UBND' -> 'kế hoạch ủy ban nhân dân' when every part is a known abbreviation."""
        parts = re.split(r"[-/]", m[0])
        if all(p in self.code_parts for p in parts):
            return " ".join(self.code_parts[p] for p in parts)
        return m[0]

    def _date_with_year(self, m: re.Match[str]) -> str:
        d, mo, y = int(m[1]), int(m[3]), int(m[4])
        if not _valid_date(d, mo):
            return m[0]
        return f"{_day(d, self.dialect)} tháng {_month(mo, self.dialect)} năm {read_number(y, self.dialect)}"

    def _date_or_ratio(self, m: re.Match[str]) -> str:
        a, b = int(m[1]), int(m[2])
        if _valid_date(a, b):
            return f"{_day(a, self.dialect)} tháng {_month(b, self.dialect)}"
        return f"{read_number(a, self.dialect)} trên {read_number(b, self.dialect)}"

    def _time(self, m: re.Match[str]) -> str:
        hours = f"{read_number(int(m[1]), self.dialect)} giờ"
        minutes = int(m[2]) if m[2] else 0
        return hours + (f" {read_number(minutes, self.dialect)} phút" if minutes else "")

    def _with_unit(self, m: re.Match[str]) -> str:
        number = m[1].rstrip(".,")
        return f"{self._number(number)} {UNITS[m[2]]}"

    def _ordinal(self, m: re.Match[str]) -> str:
        n = int(m[2])
        word = {1: "nhất", 4: "tư"}.get(n) or read_number(n, self.dialect)
        return f"{m[1]} {word}"

    def _number(self, token: str) -> str:
        token = token.rstrip(".,")
        if parse_amount(token) is None:
            return " ".join(read_amount(part, self.dialect) for part in re.split(r"[.,]", token) if part)
        return read_amount(token, self.dialect)


def normalize(text: str, dialect: Dialect = NORTH) -> str:
    return Normalizer(dialect)(text)
