"""Vietnamese text normalization: everything a listener should hear, as words.

Rules in the order a reader settles them: the commune's own words first; addresses, document codes and
abbreviations (so "NĐ-CP" is not read as a range, nor "TT&TT" as letters); phone numbers and hotlines; then
dates, times, lists, ratios and ranges, each read by the words around it (a slash before a counted noun is a
ratio, a hyphen after "sáng" a date); Roman numerals after the words that take them; units and symbols; the
rest of the numbers; foreign words in their spoken form; acronyms by the names of their letters. The word lists
are data under ``content/`` (see ``dictionaries``); the number words are ``numbers``.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from broadcaster.speech import dictionaries as lists
from broadcaster.speech.addresses import read_addresses
from broadcaster.speech.dates import DATE_WORDS, ROMAN, ROMAN_AFTER, Dates
from broadcaster.speech.numbers import DIALECTS as DIALECTS  # the settings name dialects by these keys
from broadcaster.speech.numbers import NORTH, Dialect, parse_amount, read_amount, read_digits, read_number

UNITS = {
    "km2": "ki lô mét vuông", "km²": "ki lô mét vuông", "m2": "mét vuông", "m²": "mét vuông",
    "m3/s": "mét khối trên giây", "m³/s": "mét khối trên giây", "m/s": "mét trên giây",
    "m3": "mét khối", "m³": "mét khối", "km/h": "ki lô mét trên giờ", "km": "ki lô mét",
    "cm": "xen ti mét", "mm": "mi li mét", "m": "mét", "kg": "ki lô gam", "g": "gam", "ha": "héc ta",
    "tấn": "tấn", "lít": "lít", "l": "lít", "ml": "mi li lít", "°C": "độ xê", "độ C": "độ xê", "oC": "độ xê",
    "%": "phần trăm", "đ": "đồng", "VNĐ": "việt nam đồng", "VND": "việt nam đồng", "USD": "đô la mỹ",
    "kWh": "ki lô oát giờ", "MW": "mê ga oát", "kW": "ki lô oát", "kV": "ki lô vôn", "V": "vôn",
    "GB": "gi ga bai", "MB": "mê ga bai", "G": "gờ", "hPa": "héc tô pát xcan", "mg": "mi li gam",
    "°N": "độ vĩ bắc", "°S": "độ vĩ nam", "°E": "độ kinh đông", "°W": "độ kinh tây", "°": "độ",
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

COUNTED = (r"(?i:xã|phường|thị trấn|huyện|tỉnh|thành phố|thôn|bản|làng|ấp|xóm|tổ|khu|hộ|người|chỉ tiêu|tiêu chí|"
           r"nhiệm vụ|đơn vị|trường|lớp|học sinh|em|cơ sở|doanh nghiệp|địa phương|công trình|dự án|mẫu|ca|"
           r"trường hợp|phiếu|đại biểu|thành viên|xe|tàu|con|cây|tuyến|trạm|bệnh viện|sở|ngành|cơ quan|thủ tục|"
           r"hồ sơ|nội dung|mục tiêu|giải|huy chương|trận|phòng|căn|ngôi|cụm|điểm|câu|vòng|lượt|buổi|gói|"
           r"chương trình|hạng mục|phần|đề án|huyện,|vụ|khu vực|thôn,|làng,|nhóm)")
"""Nouns that make "5/5" before them a count out of a total, not the fifth of May."""
QUANTITY = r"(?i:tỷ lệ|tỉ lệ|chiếm|đạt|được|khoảng|gần|hơn|hoàn thành|trong số|tổng số|còn|chỉ có)"
LIST_WORDS = (r"(?i:mũi|lớp|đợt|khoản|điều|thôn|tổ|xóm|khu|câu|bước|tầng|phòng|tuần|quý|nhóm|loại|hạng|khối|"
              r"bản|ấp|làng|phường|quận|xã|cấp)")
"""Words after which "1,2" lists two of them (mũi 1, 2), not a decimal."""
HOTLINE_WORDS = (r"(?i:đường dây nóng|hotline|gọi|gọi ngay|gọi điện|số điện thoại|điện thoại|sđt|tổng đài|"
                 r"liên hệ|qua số|theo số|đầu số|số máy|số khẩn cấp|báo ngay)")
LETTER_CODES = {"QH": "quốc hội khóa", "BĐ": "báo động"}
"""Letters glued to a number: "QH15" is the fifteenth National Assembly, "BĐ1" alarm level one."""
RANGE_HEADS = r"(?i:báo động|cấp|mức|cấp độ)"
"""Words repeated on both sides of a range: "báo động 2 - báo động 3" is "báo động hai đến báo động ba"."""
SPELLED_OUT = "\ue000"
"""Marks an abbreviation in brackets right after the words it stands for (private use: never in real text)."""
TITLES = r"(?:ông|bà|anh|chị|cháu|em|cô|chú|bé|cụ)"
"""Before a single capital, the initial of a person's name: "bà K" is "bà ca"."""
SYMBOLS = {"≥": " lớn hơn hoặc bằng ", "≤": " nhỏ hơn hoặc bằng ", "=": " bằng ", "±": " cộng trừ ",
           "→": " đến ", "÷": " chia "}


@lru_cache(maxsize=64)
def _words_re(words: tuple[str, ...], flags: int = 0) -> re.Pattern[str] | None:
    """One pattern for a whole dictionary, longest first, matched as whole words."""
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![\w&/.-])(" + alternatives + r")(?![\w&-]|\.\w)", flags)


@lru_cache(maxsize=16)
def _alternatives(words: tuple[str, ...], before: str, after: str, flags: int = 0) -> re.Pattern[str] | None:
    """One pattern for a word list, longest first, between the given boundaries."""
    if not words:
        return None
    return re.compile(before + "(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"
                      + after, flags)


@dataclass(frozen=True)
class Mark:
    """A reading the normalizer could not settle: what was written and its likely readings, the one it chose
    first. ``kind``: ``date_or_ratio`` ("3/12"), ``acronym`` (letters it spelled), ``unknown_word`` (a word in
    Latin letters that is not Vietnamese and not in the foreign-word list). Saving a choice into the commune
    dictionary settles it."""

    kind: str
    text: str
    readings: tuple[str, ...]


@dataclass
class Normalizer:
    """Turns bulletin text into what will be read aloud. ``extra`` (commune words) wins over everything."""

    dialect: Dialect = NORTH
    extra: Mapping[str, str] = field(default_factory=dict)
    _marks: list[Mark] | None = field(default=None, init=False, repr=False, compare=False)
    """Collected by ``marks`` on its own copy; None (nothing collected) on a shared normalizer."""

    def __post_init__(self) -> None:
        abbreviations = lists.load_abbreviations()
        self.table = {k: v for k, v in abbreviations.items() if not k.endswith(".")}
        self.dotted = {k: v for k, v in abbreviations.items() if k.endswith(".")}
        """"TP.", "H.": read only before a name or a number, where the period cannot end the sentence."""
        self.context = lists.load_context_abbreviations()
        self.code_parts = {**abbreviations, **lists.load_abbreviations(lists.DOCUMENT_CODES),
                           **{k: v[0].text for k, v in self.context.items()}, **self.extra}
        self.foreign = lists.load_foreign_words()
        self.letters, self.said_as_words = lists.load_letter_names()
        self.calendar = Dates(self.dialect)
        self._dotted_re = _alternatives(tuple(self.dotted), r"(?<![\w&/.-])", "")
        self._foreign_re = _alternatives(tuple(self.foreign), r"(?<![\w&/.])", r"(?![\w&]|\.\w)", re.IGNORECASE)

    def marks(self, text: str) -> list[Mark]:
        """Where the reading of ``text`` is a guess the officer should check (each once, in order)."""
        reader = copy.copy(self)
        reader._marks = []
        reader(text)
        return reader._marks

    def sentences(self, text: str) -> list[str]:
        """Normalized sentences, split where a reader pauses."""
        parts: list[str] = []
        for line in text.splitlines():  # a line break is a pause even without punctuation
            parts += re.split(r"(?<=[.!?;:])\s+", self(line))
        return [p.strip() for p in parts if p.strip() and re.search(r"\w", p)]

    def __call__(self, text: str) -> str:
        s = unicodedata.normalize("NFC", text)
        s = "".join(ch if ch.isprintable() or ch in "\n" else " " for ch in s)
        s = re.sub(r"[ \t\u00a0]+", " ", s)
        for step in (self._layout, self._commune_words, self._addresses, self._codes, self._abbreviations,
                     self._phones, self._dates, self._times, self._counts, self._numbers_in_words,
                     self._words):
            s = step(s)
        s = re.sub(r"[\"“”«»()\[\]{}*_#|~^<>•]", " ", s)
        s = re.sub(r"\s*([,.;:!?])(?:\s*[,.;:])*", r"\1", s)
        s = re.sub(r"^[\s,.;:]+", "", s)
        return re.sub(r"\s+", " ", s).strip()

    # --- steps, in order ---------------------------------------------------------------------------------

    def _layout(self, s: str) -> str:
        """Bullets and the closing "./." are not read; brackets become pauses (numbers must not run
        together once they are gone); a hyphen between a word and its number is a space ("Covid-19")."""
        s = re.sub(r"\s*\./\.\s*$", ".", s, flags=re.M)
        s = re.sub(r"^\s*[-+•*–—]\s+", "", s, flags=re.M)
        s = re.sub(r"^\s*([a-zđ])\)\s+", r"\1, ", s, flags=re.M)
        s = re.sub(r"\((0\d{2,3})\)\s?(\d{3,4})[ .]?(\d{3,4})\b", lambda m: read_digits(m[0]), s)  # (0234) 3822 123
        s = re.sub(r"\s*\(\s*([A-ZĐ][A-ZĐ&-]{1,9})\s*\)", SPELLED_OUT + r"\1" + SPELLED_OUT, s)
        s = re.sub(r"\s*\(\s*", ", ", s)
        s = re.sub(r"\s*\)", ",", s)
        s = re.sub(r"(?i)\b(covid)\s?[-–]\s?(?=\d)", r"\1 ", s)
        return re.sub(r"(?<=[^\W\d_]{3})-(?=\d)", " ", s)

    def _commune_words(self, s: str) -> str:
        pattern = _words_re(tuple(self.extra))
        return pattern.sub(lambda m: self.extra[m[1]], s) if pattern else s

    def _addresses(self, s: str) -> str:
        return read_addresses(s, self.letters)

    def _dates(self, s: str) -> str:
        return self.calendar.dates(s)

    def _times(self, s: str) -> str:
        return self.calendar.times(s)

    def _codes(self, s: str) -> str:
        """Legal document numbers ("số 49/2024/NĐ-CP", "09-NQ/TU", "12/CĐ-TTg") and letter codes ("QH15")."""
        d = self.dialect
        s = re.sub(r"(?i:\b(số)\s+)?\b(\d+)/(\d{4})/([A-ZĐ][\w&-]*)",
                   lambda m: f"{m[1] or 'số'} {read_number(int(m[2]), d)} năm {read_number(int(m[3]), d)} {m[4]}", s)
        s = re.sub(r"\b(\d+)[-/]([A-ZĐ][A-Za-zĐđ&]*(?:[/-][A-ZĐ][A-Za-zĐđ&]*)+\d{0,2})\b",
                   lambda m: f"{read_number(int(m[1]), d)} {m[2]}", s)
        s = re.sub(r"(?<=\bsố )(\d+)/([A-ZĐ][A-Za-zĐđ&]+)\b",
                   lambda m: f"{read_number(int(m[1]), d)} {m[2]}" if m[2] in self.code_parts else m[0], s)
        s = re.sub(r"\b(" + "|".join(LETTER_CODES) + r") ?(\d{1,2})\b",
                   lambda m: f"{LETTER_CODES[m[1]]} {read_number(int(m[2]), d)}", s)
        # Unit codes with a leading zero, said letter by letter and digit by digit: "C06", "PC04".
        s = re.sub(r"\b([A-Z]{1,3})(0\d{1,3})\b",
                   lambda m: f"{lists.spell(m[1], self.letters) or m[1]} {read_digits(m[2])}", s)
        # Letters and numbers in turn: a virus "H5N1", a rice variety "OM4900", a flight "VN36", "EV71".
        s = re.sub(r"\b([A-Z])/(?=[A-Z]{1,3}\d)", r"\1 ", s)  # "cúm A/H5N1": the slash is not read
        return re.sub(r"\b(?:[A-Z]{1,3}\d+){1,3}[A-Z]?\b(?![/-]\d)", self._letters_and_numbers, s)

    def _letters_and_numbers(self, m: re.Match[str]) -> str:
        if m[0] in self.code_parts or m[0] in self.extra:
            return m[0]
        known = self._code_part(m[0])  # "UBTVQH14": a body and its term
        if known:
            return known
        parts = re.findall(r"[A-Z]+|\d+", m[0])
        return " ".join(read_number(int(p), self.dialect) if p.isdigit() else lists.spell(p, self.letters) or p
                        for p in parts)

    def _abbreviations(self, s: str) -> str:
        s = re.sub(r"((?:[^\W\d_]+ ){0,8}[^\W\d_]+)" + SPELLED_OUT + r"([^" + SPELLED_OUT + r"]+)" + SPELLED_OUT,
                   self._spelled_out, s)
        s = re.sub(SPELLED_OUT + r"([^" + SPELLED_OUT + r"]+)" + SPELLED_OUT, r", \1,", s)  # no words before
        if self._dotted_re is not None:  # "TP.", "Q.": glued to the name that follows too ("TP.Đông Hà", "Q.1")
            s = self._dotted_re.sub(self._dotted, s)
        context = _words_re(tuple(self.context))
        if context is not None:
            s = context.sub(lambda m: lists.choose(
                self.context[m[1]], s[max(0, m.start() - 50):m.end() + 50].lower()).text, s)
        table = _words_re(tuple(self.table))
        if table is not None:
            s = table.sub(lambda m: self.table[m[1]], s)
        return re.sub(r"\b[A-ZĐ][A-Za-zĐđ]*(?:[-/][A-ZĐ][A-Za-zĐđ]*)+\d{0,2}\b", self._compound, s)

    def _spelled_out(self, m: re.Match[str]) -> str:
        """"tai nạn giao thông (TNGT)": the words already say what the letters stand for, so the letters
        are not read again; otherwise they are read after a pause, as any bracket."""
        words, abbreviation = m[1], m[2]
        known = self.context.get(abbreviation)
        reading = self.table.get(abbreviation) or (known[0].text if known else None)
        if reading and words.lower().endswith(reading.lower()):
            return words
        return f"{words}, {abbreviation},"

    def _dotted(self, m: re.Match[str]) -> str:
        after = m.string[m.end():].lstrip()
        if m.string[m.end():m.end() + 3].isupper() and m[1] + m.string[m.end():].split()[0] in self.table:
            return m[0]  # "TP.HCM" is an abbreviation of its own
        return self.dotted[m[1]] + " " if after[:1].isupper() or after[:1].isdigit() else m[0]

    def _compound(self, m: re.Match[str]) -> str:
        """'KH-UBND' -> 'kế hoạch ủy ban nhân dân' when every part is a known abbreviation."""
        readings = [self._code_part(p) for p in re.split(r"[-/]", m[0])]
        return " ".join(r for r in readings if r) if all(readings) else m[0]

    def _code_part(self, part: str) -> str | None:
        """One part of a document code: a known abbreviation, or one with its term ("UBTVQH14")."""
        if part in self.code_parts:
            return self.code_parts[part]
        known = re.fullmatch(r"([A-ZĐ][A-Za-zĐđ&]*)(\d{1,2})", part)
        if known and known[1] in self.code_parts:
            term = " khóa" if known[1].endswith("QH") else ""
            return f"{self.code_parts[known[1]]}{term} {read_number(int(known[2]), self.dialect)}"
        return None

    def _phones(self, s: str) -> str:
        """Phone numbers and hotlines, digit by digit."""
        s = re.sub(r"(?<![\d.,])(0\d(?:[ .]?\d){8,9})(?![.,]?\d)", lambda m: read_digits(m[1]), s)
        s = re.sub(r"(?<![\d.,])(1[89]00)[ .-]?(\d{3,4})(?:[ .]?(\d{2,4}))?(?![.,]?\d)", lambda m: read_digits(m[0]), s)
        # Short service numbers: 1022 wherever it stands, 111-115 after the words that name them.
        s = re.sub(r"(?<![\d.,/])(?<!năm )1022\b(?![.,]\d)", lambda m: read_digits(m[0]), s)
        s = re.sub(r"(?i)\b(chỉ huy|tổng đài|cấp cứu|cứu hỏa|cứu nạn|gọi|đầu số) (11[1-5])\b(?![.,]\d)"
                   r"(?! \w+ (?:người|ca|vụ))", lambda m: f"{m[1]} {read_digits(m[2])}", s)
        numbers = r"(\d{3,5}(?:\s?(?:,|/|hoặc|và)\s?\d{3,5})*)\b(?![.,]\d)"  # "gọi 113 hoặc 114"
        return re.sub(r"\b(" + HOTLINE_WORDS + r")([:\s\"“”']+(?:[^\W\d]+\s+){0,2}?)" + numbers,
                      lambda m: m[1] + m[2] + re.sub(r"\d+", lambda n: read_digits(n[0]), m[3]), s)

    def _counts(self, s: str) -> str:
        """Ratios, lists and ranges: "5/5 xã", "mũi 1,2", "24/7", "30-50mm"."""
        d = self.dialect
        ratio = lambda a, b: f"{read_number(int(a), d)} trên {read_number(int(b), d)}"  # noqa: E731
        s = re.sub(r"(?<![\d/])24/7\b", "hai mươi tư trên bảy", s)
        s = re.sub(r"\b(" + QUANTITY + r") (\d{1,3})/(\d{1,3})(?![\d/])", lambda m: f"{m[1]} {ratio(m[2], m[3])}", s)
        s = re.sub(r"(?<![\d/.,])(\d{1,3})/(\d{1,3})(?![\d/])(?=\s" + COUNTED + r"(?!\w))",
                   lambda m: m[0] if re.search(DATE_WORDS + r"\s$", s[:m.start()]) else ratio(m[1], m[2]), s)
        s = re.sub(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])", self._bare_slash, s)
        s = re.sub(r"\b(" + LIST_WORDS + r") (\d{1,2}(?:\s?,\s?\d{1,2})+)(?![\d.,]*\d)(?!\s?(?:[-–%]|ha\b|km\b|m\b))",
                   lambda m: m[1] + " " + ", ".join(read_number(int(n), d) for n in re.findall(r"\d+", m[2])), s)
        s = re.sub(r"\b(" + RANGE_HEADS + r") (\S+) [-–] (?=" + RANGE_HEADS + r" )", r"\1 \2 đến ", s)
        # Sections of a text: "2.1. Thống nhất...", "khoản 3.1".
        s = re.sub(r"(?m)^(\d{1,2})\.(\d{1,2})\.(?=\s)", lambda m: f"{read_number(int(m[1]), d)} chấm "
                   f"{read_number(int(m[2]), d)}.", s)
        s = re.sub(r"(?i)\b(khoản|mục|tiểu mục|phần|điểm) (\d{1,2})\.(\d{1,2})\b(?![.,]?\d)",
                   lambda m: f"{m[1]} {read_number(int(m[2]), d)} chấm {read_number(int(m[3]), d)}", s)
        # A version: "phiên bản 2.0".
        s = re.sub(r"(?i)\b(phiên bản|version) (\d+)\.(\d+)\b",
                   lambda m: f"{m[1]} {read_number(int(m[2]), d)} chấm {read_digits(m[3])}", s)
        # Year ranges and number ranges, glued to their units too: 2021-2025, 5-7, 30-50mm.
        return re.sub(r"(?<![\w.,])(\d[\d.,]*)\s?[-–]\s?(\d[\d.,]*\d|\d)(?!\d)", r"\1 đến \2", s)

    def _numbers_in_words(self, s: str) -> str:
        s = re.sub(ROMAN_AFTER + r" ([IVX]{1,6})\b", self._roman, s)
        # Numbers with a unit, including per-unit: "12.500 đồng/kg", "95,75%", "30°C".
        for symbol, words in SYMBOLS.items():
            s = s.replace(symbol, words)
        s = re.sub(r"(?<=\d)\s?[x×]\s?(?=\d)", " nhân ", s)
        s = re.sub(r"(?<=\s)>(?=\s?\d)", " lớn hơn ", s)
        s = re.sub(r"(?<=\s)<(?=\s?\d)", " nhỏ hơn ", s)
        s = re.sub(r"(?<!\w)~\s?(?=\d)", " khoảng ", s)
        s = re.sub(r"(\d[\d.,]*)\s?(" + _UNIT_RE + r")(?![\w²³])", self._with_unit, s)
        s = re.sub(r"/\s?(" + _UNIT_RE + r")(?![\w²³])", lambda m: " trên " + UNITS[m[1]], s)
        s = re.sub(r"(?i)\b(thứ) (\d+)\b", self._ordinal, s)
        s = re.sub(r"(?<=\d):(?=\d)", " ", s)  # "ISO 9001:2015"
        s = re.sub(r"(?<=\d)([A-Z])\b", lambda m: " " + self.letters.get(m[1], m[1]), s)  # "1A", "5K"
        s = re.sub(r"(?<=\d)(?=[^\W\d_])", " ", s)  # "Quốc lộ 1A"
        s = re.sub(r"\d[\d.,]*\d|\d", lambda m: self._number(m[0]), s)
        s = re.sub(r"(?<=\w)\s?/\s?(?=\w)", " trên ", s)
        return s.replace("&", " và ").replace("+", " cộng ")

    def _words(self, s: str) -> str:
        """Foreign words in their spoken form; acronyms said as a word, or spelled with the letters' names."""
        for word in re.findall(r"(?<![\w.@/-])[A-Za-z]*[a-z][A-Za-z]{2,}(?![\w.@/-])", s):
            if not lists.SYLLABLE_RE.fullmatch(word.upper()) and word.lower() not in self.foreign:
                cut = lists.syllables(word)
                spelled = lists.spell(word, self.letters) or word
                self._mark("unknown_word", word, (" ".join(cut), spelled) if cut else (spelled,))
        if self._foreign_re is not None:  # also after a hyphen: "vắc xin Sởi-Rubella"
            s = self._foreign_re.sub(lambda m: " " + self.foreign[m[1].lower()], s)
        said = _words_re(tuple(self.said_as_words))
        if said is not None:
            s = said.sub(lambda m: self.said_as_words[m[1]], s)
        s = re.sub(r"\b(" + TITLES + r") ([A-ZĐ])\b(?![.\w])", lambda m: f"{m[1]} {self.letters.get(m[2], m[2])}", s)
        # An item of a list of points: "điểm b khoản 1" (Vietnamese names of the letters: d is "dê").
        s = re.sub(r"(?i)\b(điểm|tiết|mục) ([a-zđ])\b(?![.\w])",
                   lambda m: f"{m[1]} {self.letters.get(m[2], m[2])}", s)
        s = re.sub(r"(?<![\w.])[A-ZĐ]{2,6}(?!\w)", self._acronym, s)
        return s

    def _acronym(self, m: re.Match[str]) -> str:
        word = m[0]
        if word in ROMAN or lists.SYLLABLE_RE.fullmatch(word):
            return word
        spelled = lists.spell(word, self.letters)
        if spelled:
            self._mark("acronym", word, (spelled,))
        return spelled or word

    def _bare_slash(self, m: re.Match[str]) -> str:
        """"3/12" with nothing around it to say what it is: a date when it can be one, but marked for the
        officer, who may choose "ba trên mười hai"."""
        reading = self.calendar.date_or_ratio(m[1], m[2])
        if re.search(DATE_WORDS + r"\s$", m.string[:m.start()]):
            return reading  # "ngày 3/12": a date, no doubt
        ratio = f"{read_number(int(m[1]), self.dialect)} trên {read_number(int(m[2]), self.dialect)}"
        if reading != ratio:
            self._mark("date_or_ratio", m[0], (reading, ratio))
        return reading

    def _mark(self, kind: str, text: str, readings: tuple[str, ...]) -> None:
        if self._marks is not None and all(mark.text != text for mark in self._marks):
            self._marks.append(Mark(kind, text, readings))

    # --- readings ----------------------------------------------------------------------------------------

    def _roman(self, m: re.Match[str]) -> str:
        """"Quý III" -> "quý ba"; after "thứ" an ordinal: "lần thứ I" -> "lần thứ nhất"."""
        numeral = m[m.lastindex or 0]
        if numeral not in ROMAN:
            return m[0]
        head, n = m[0][: -len(numeral)], ROMAN[numeral]
        if head.rstrip().lower().endswith("thứ"):
            return head + ({1: "nhất", 4: "tư"}.get(n) or read_number(n, self.dialect))
        return head + read_number(n, self.dialect)

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

