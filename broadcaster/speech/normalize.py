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
import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from broadcaster.speech import dictionaries as lists
from broadcaster.speech.addresses import read_addresses
from broadcaster.speech.codes import Codes
from broadcaster.speech.counts import Counts
from broadcaster.speech.dates import ROMAN, ROMAN_AFTER, UNIT_WORDS, Dates, valid_date
from broadcaster.speech.numbers import DIALECTS as DIALECTS  # the settings name dialects by these keys
from broadcaster.speech.numbers import NORTH, Dialect, join_groups, parse_amount, read_amount, read_digits, read_number
from broadcaster.speech.units import UNITS, read_units

HOTLINE_WORDS = (r"(?i:đường dây nóng|hotline|gọi|gọi ngay|gọi điện|số điện thoại|điện thoại|sđt|tổng đài|"
                 r"liên hệ|qua số|theo số|đầu số|số máy|số khẩn cấp|báo ngay)")
ID_WORDS = (r"(?i:chứng minh nhân dân|chứng minh thư|căn cước công dân|căn cước|thẻ căn cước|định danh cá nhân|"
            r"định danh|hộ chiếu|tài khoản|mã số thuế|mã số doanh nghiệp|mã số bảo hiểm xã hội|sổ bảo hiểm xã hội|"
            r"thẻ bảo hiểm y tế|mã số|mã hồ sơ|mã khách hàng|mã giao dịch|mã vận đơn|mã đơn hàng|mã bưu chính|"
            r"số hiệu|số seri|số sê ri|số serial|số khung|số thẻ|số giấy phép|số hợp đồng|giấy phép lái xe|mã|"
            r"CMND|CCCD|CMT|STK|MST|GPLX|BHXH|BHYT)")
"""Words before an identity-card, account, tax or serial number, said digit by digit as they are written, never as
an amount ("Số chứng minh nhân dân: 091668918", "số tài khoản 0011 0041 23456", "CCCD số 038090012345")."""
PER = "\ue001"
"""A slash read "trên" (per): marked before the numbers around it are read (private use: never in real text)."""
SPELLED_OUT = "\ue000"
"""Opens an abbreviation in brackets right after the words it stands for (private use: never in real text)."""
SPELLED_OUT_END = "\ue002"
"""Closes it: a mark of its own, so the end of one bracket is never taken for the start of the next."""
TITLES = r"(?:ông|bà|anh|chị|cháu|em|cô|chú|bé|cụ)"
"""Before a single capital, the initial of a person's name: "bà K" is "bà ca"."""


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


MARK_KINDS = ("date_or_ratio", "date_or_range", "decimal_or_date", "month_or_number", "number_or_numbers",
              "acronym", "unknown_word")


@dataclass(frozen=True)
class Mark:
    """A reading the normalizer could not settle: what was written and its likely readings, the one it chose
    first. ``kind``: one of MARK_KINDS: ``date_or_ratio`` ("3/12"), ``date_or_range`` ("22-4"),
    ``decimal_or_date`` ("2.8"), ``month_or_number`` ("12/2015"), ``number_or_numbers`` ("346 500"),
    ``acronym`` (letters it spelled), ``unknown_word`` (a word in Latin letters that is not Vietnamese and not in
    the foreign-word list). Saving a choice into the commune dictionary settles it."""

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
        self.address_words = {**self.foreign, **lists.load_address_words()}
        self.letters, self.said_as_words = lists.load_letter_names()
        self.initial_names = {**self.letters, **lists.load_initial_names()}
        self.calendar = Dates(self.dialect)
        self.codes = Codes(self.code_parts, self.letters, self.dialect, self.context)
        self.counts = Counts(self.dialect, self.calendar, self._mark)
        self._dotted_re = _alternatives(tuple(self.dotted), r"(?<![\w&/.-])", "")
        self._foreign_re = _alternatives(tuple(self.foreign), r"(?<![\w&/.])", r"(?![\w&]|\.\w)", re.IGNORECASE)

    def marks(self, text: str) -> list[Mark]:
        """Where the reading of ``text`` is a guess the officer should check (each once, in order)."""
        reader = copy.copy(self)
        reader._marks = []
        reader.calendar = dataclasses.replace(self.calendar, mark=reader._mark)
        reader.counts = dataclasses.replace(self.counts, calendar=reader.calendar, mark=reader._mark)
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
                     self._phones, self._groups, self._dates, self._times, self._counts, self._numbers_in_words,
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
        # Points of a list, at a line's start or after a colon or semicolon: "a) ...; b) ...".
        s = re.sub(r"(?:^\s*|(?<=[:;] ))([a-zđ])\)\s+", lambda m: self.letters.get(m[1], m[1]) + ", ", s, flags=re.M)
        s = re.sub(r"\s*\)\s*(?=/)", "", s)  # "1 gói (5ml)/lần": the rate is read whole
        s = re.sub(r"\((0\d{2,3})\)\s?(\d[ .]?){6,7}\d\b", lambda m: read_digits(m[0]), s)  # (0234) 3822 123, 3.822.333
        s = re.sub(r"\s*\(\s*([A-ZĐ][A-ZĐ&-]{1,9})\s*\)(\d?)",
                   lambda m: SPELLED_OUT + m[1] + SPELLED_OUT_END + (" " + m[2] if m[2] else ""), s)  # "Báo động (BĐ)1"
        s = re.sub(r"\s*\(\s*", ", ", s)
        s = re.sub(r"\s*\)", ",", s)
        s = re.sub(r"(?i)\b(covid)\s?[-–]\s?(?=\d)", r"\1 ", s)
        # Levels of wind written with a slash are a range: "gió cấp 9/10" is cấp chín đến mười, not a date.
        s = re.sub(r"(?i)\b(cấp) (\d{1,2}) ?/ ?(\d{1,2})\b(?![/.,]\d)", r"\1 \2 đến \3", s)
        # An hour glued to its date by a slash, as hydrology bulletins write it: "lúc 7h/21/7" is bảy giờ ngày 21/7.
        s = re.sub(r"\b(\d{1,2}h(?:\d{2})?)/(?=\d{1,2}/\d{1,2}\b)", r"\1 ngày ", s)
        s = re.sub(r"\b([Ss])ô(?= \d)", r"\1ố", s)  # "Thông báo sô 1481": a typo of "số" before a number
        s = re.sub(r"(?i)\b(số) số(?= \d)", r"\1", s)  # "công văn số số 01/CV-BCĐ": written twice, said once
        # A Vietnamese word glued to its number by a missed space: "chiếm hơn70%" (not codes: "QL1A", "Vip3").
        s = re.sub(r"(?<![\w-])([^\W\d_]{2,})(?=\d)",
                   lambda m: m[1] + " " if m[1].islower() and not m[1].isascii() else m[1], s)
        # A heading numbered in Roman numerals at a line's start: "I. Bệnh đạo ôn..." is "Một. Bệnh đạo ôn".
        s = re.sub(r"(?m)^(\s*)([IVX]{1,5})\.\s+(?=[^\W\d_])",
                   lambda m: f"{m[1]}{read_number(ROMAN[m[2]], self.dialect)}. "
                   if m[2] in ROMAN and m.string[m.end()].isupper() else m[0], s)
        # A project named by its number with a leading zero, said as written: "Đề án 06" is đề án không sáu.
        s = re.sub(r"(?i)\b(đề án) (0\d)\b(?![/.,-]?\d)", lambda m: f"{m[1]} {read_digits(m[2])}", s)
        return re.sub(r"(?<=[^\W\d_]{3})-(?=\d)", " ", s)

    def _commune_words(self, s: str) -> str:
        pattern = _words_re(tuple(self.extra))
        return pattern.sub(lambda m: self.extra[m[1]], s) if pattern else s

    def _addresses(self, s: str) -> str:
        return read_addresses(s, self.letters, self.address_words)

    def _dates(self, s: str) -> str:
        return self.calendar.dates(s)

    def _times(self, s: str) -> str:
        return self.calendar.times(s)

    def _codes(self, s: str) -> str:
        # Identity, account and serial numbers first, before their letters are taken for a code ("C1234567").
        s = re.sub(r"\b(" + ID_WORDS + r")((?:\s?(?:số|là|:|\(\w+\)))*\s?)([A-Z]{0,2})(\d(?:[ -]?\d){5,})(?![.,]?\d)"
                   r"(?!\s?(?:đồng|đ\b|VNĐ|VND|USD|triệu|tỷ|nghìn|ngàn|%))",
                   lambda m: m[1] + m[2] + (lists.spell(m[3], self.letters) or m[3]) + " " + read_digits(m[4]), s)
        return self.codes.read(s)

    def _abbreviations(self, s: str) -> str:
        s = re.sub(r"((?:[^\W\d_]+,? ){0,8}[^\W\d_]+)" + SPELLED_OUT + r"([^" + SPELLED_OUT_END + r"]+)"
                   + SPELLED_OUT_END, self._spelled_out, s)
        s = re.sub(SPELLED_OUT + r"([^" + SPELLED_OUT_END + r"]+)" + SPELLED_OUT_END, r", \1,", s)  # no words before
        s = re.sub(r"(?<![\w.])([A-ZĐ]{2,5})\.([A-ZĐ]{2,8})\b", self._two_abbreviations, s)
        if self._dotted_re is not None:  # "TP.", "Q.": glued to the name that follows too ("TP.Đông Hà", "Q.1")
            s = self._dotted_re.sub(self._dotted, s)
        context = _words_re(tuple(self.context))
        if context is not None:
            s = context.sub(lambda m: lists.choose(
                self.context[m[1]], s[max(0, m.start() - 50):m.end() + 50].lower()).text, s)
        table = _words_re(tuple(self.table))
        if table is not None:
            s = table.sub(lambda m: self.table[m[1]], s)
        return re.sub(r"(?<![\w&])[A-ZĐ][A-Za-zĐđ&]*(?:[-/][A-ZĐ][A-Za-zĐđ&]*\d{0,2})+\b", self.codes.compound, s)

    def _spelled_out(self, m: re.Match[str]) -> str:
        """"tai nạn giao thông (TNGT)": the words already say what the letters stand for, so the letters
        are not read again; otherwise they are read after a pause, as any bracket."""
        words, abbreviation = m[1], m[2]
        known = self.context.get(abbreviation)
        reading = self.table.get(abbreviation) or (known[0].text if known else None)
        plain = " ".join(words.replace(",", " ").split()).lower()  # "phòng, chống cháy nổ (PCCN)": commas aside
        if reading and plain.endswith(" ".join(reading.lower().split())):
            return words
        initials = "".join(w[0] for w in plain.split()[-len(abbreviation):]).upper()
        if len(abbreviation) >= 2 and initials == abbreviation:  # "Báo động (BĐ)1": the letters of the words
            return words
        return f"{words}, {abbreviation},"

    def _two_abbreviations(self, m: re.Match[str]) -> str:
        """Two abbreviations joined by a period, "UB.MTTQ": each read as itself (unless the whole is listed, as
        "TP.HCM" is)."""
        if m[0] in self.table or m[1] not in self.table or m[2] not in self.table:
            return m[0]
        return f"{self.table[m[1]]} {self.table[m[2]]}"

    def _dotted(self, m: re.Match[str]) -> str:
        after = m.string[m.end():].lstrip()
        if len(m[1]) == 2 and re.match(r"[A-ZĐ](?:\.|(?!\w))", m.string[m.end():]):
            return m[0]  # "H.N.Đ.N", "Q.T": a person's initials, not a district before its name
        if m.string[m.end():m.end() + 3].isupper() and m[1] + m.string[m.end():].split()[0] in self.table:
            return m[0]  # "TP.HCM" is an abbreviation of its own
        return self.dotted[m[1]] + " " if after[:1].isupper() or after[:1].isdigit() else m[0]

    def _phones(self, s: str) -> str:
        """Phone numbers, hotlines and identity, account or serial numbers, digit by digit."""
        s = re.sub(r"(?<![\d.,])(0\d(?:[ .]?\d){8,9})(?![.,]?\d)", lambda m: read_digits(m[1]), s)
        s = re.sub(r"(?<![\d.,])(1[89]00)[ .-]?(\d{3,4})(?:[ .]?(\d{2,4}))?(?![.,]?\d)", lambda m: read_digits(m[0]), s)
        # Short service numbers: 1022 wherever it stands, 111-115 after the words that name them.
        s = re.sub(r"(?<![\d.,/])(?<!năm )1022\b(?![.,]\d)", lambda m: read_digits(m[0]), s)
        s = re.sub(r"(?i)\b(chỉ huy|tổng đài|cấp cứu|cứu hỏa|cứu nạn|gọi|đầu số) (11[1-5])\b(?![.,]\d)"
                   r"(?! \w+ (?:người|ca|vụ))", lambda m: f"{m[1]} {read_digits(m[2])}", s)
        numbers = r"((?:\d{8}|\d{3,5})(?:\s?(?:,|/|hoặc|và)\s?\d{3,5})*)\b(?![.,]\d)"  # "gọi 113 hoặc 114", 19909995
        return re.sub(r"\b(" + HOTLINE_WORDS + r")([:\s\"“”']+(?:[^\W\d]+\s+){0,2}?)" + numbers,
                      lambda m: m[1] + m[2] + re.sub(r"\d+", lambda n: read_digits(n[0]), m[3]), s)

    def _groups(self, s: str) -> str:
        return join_groups(s, self._mark)

    def _counts(self, s: str) -> str:
        return self.counts.read(s)

    def _numbers_in_words(self, s: str) -> str:
        s = re.sub(ROMAN_AFTER + r" ([IVX]{1,6})\b", self._roman, s)
        s = re.sub(r"\d[\d.,]*\s?(?:[^\W\d_]+\s){0,3}?[^\W\d_]+[23²³]?(?:\s?/\s?\w+(?:\s[^\W\d_]+)?)+", self._rate,
                   s)
        s = read_units(s, self._number)  # "12.500 đồng/kg", "95,75%", "30°C", "1,93 triệu ha"
        s = re.sub(r"(?i)\b(thứ) (\d+)\b", self._ordinal, s)
        s = re.sub(r"(?<=\d):(?=\d)", " ", s)  # "ISO 9001:2015"
        s = re.sub(r"(?<=\d)([A-Z])\b", lambda m: " " + self.letters.get(m[1], m[1]), s)  # "1A", "5K"
        s = re.sub(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)", " ", s)  # "Quốc lộ 1A", "Vip3"
        s = re.sub(r"(?<![\d.,])(\d{1,2})\.(\d{1,2})(?![\d.,])", self._dotted_decimal, s)
        # A run of digits that no amount is written as: ten or more with no separator, or four or more after a
        # leading zero (an account, a card, a code: "0011004123456", "0236"), is said digit by digit.
        s = re.sub(r"(?<![\d.,])(?:\d{10,}|0\d{3,})(?![\d]|[.,]\d)", lambda m: read_digits(m[0]), s)
        s = re.sub(r"\d[\d.,]*\d|\d", lambda m: self._number(m[0]), s)
        s = re.sub(r"\s?/\s?", " ", s.replace(PER, " trên "))  # "HIV/AIDS", "Người dân/ Doanh nghiệp": no "trên"
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
        s = self._initials(s)
        # Types and blood groups by their letters: "các tuýp O, A và Asia 1", "nhóm máu AB".
        s = re.sub(r"(?i:\b(tuýp|típ|type|nhóm máu|chủng)) ((?:[A-Z]{1,2}(?:, | và | hoặc )?)+)(?!\w)",
                   lambda m: m[1] + " " + re.sub(r"\b[A-Z]{1,2}\b", lambda n: lists.spell(n[0], self.letters) or n[0],
                                                 m[2]), s)
        # An item of a list of points: "điểm b khoản 1" (Vietnamese names of the letters: d is "dê").
        s = re.sub(r"(?i)\b(điểm|tiết|mục) ([a-zđ])\b(?![.\w])",
                   lambda m: f"{m[1]} {self.letters.get(m[2], m[2])}", s)
        # A lone capital closing a clause after an ordinary word names something by its letter: "tại ngân hàng V."
        # (Roman numerals after the words that take them were read before; a lone I or X is left alone).
        s = re.sub(r"(?<=[a-zà-ỹđ] )([A-HJ-WYZĐ])(?=[.,;:!?](?:\s|$)|$)", lambda m: self.letters.get(m[1], m[1]), s)
        s = re.sub(r"(?<![\w.])[A-Z]{5,14}(?!\w)", self._acronym_and_place, s)
        s = re.sub(r"(?<![\w.])[A-ZĐ]{2,6}(?!\w)", self._acronym, s)
        return s

    def _acronym_and_place(self, m: re.Match[str]) -> str:
        """An abbreviation glued to a place, as companies name their branches: "EVNHANOI" is EVN and Hà Nội."""
        word = m[0]
        if word.lower() in self.address_words and not lists.SYLLABLE_RE.fullmatch(word):
            return self.address_words[word.lower()]  # "EVN HANOI": a place in capitals without its tones
        for cut in range(2, len(word) - 2):
            head, place = word[:cut], word[cut:].lower()
            if head in self.table and place in self.address_words:
                return f"{self.table[head]} {self.address_words[place]}"
        for cut in range(2, len(word) - 1):  # "EVNHCMC": a known head, then letters spelled
            head, rest = word[:cut], word[cut:]
            if head in self.table and len(rest) <= 4 and (spelled := lists.spell(rest, self.letters)):
                self._mark("acronym", word, (f"{self.table[head]} {spelled}",))
                return f"{self.table[head]} {self.table.get(rest) or spelled}"
        return word

    def _initials(self, s: str) -> str:
        """A person named by initials: "bà M.T.H", "ông N.H.Q.", "chị T", "Anh T.", "ông Nguyễn Hữu T"."""
        def name(ch: str) -> str:
            return self.initial_names.get(ch, ch)

        s = re.sub(r"(?<![\w.])[A-ZĐ](?:\.[A-ZĐ]){1,5}\.?(?!\w)",
                   lambda m: " ".join(name(ch) for ch in m[0].split(".") if ch), s)
        s = re.sub(r"(?i:\b(" + TITLES + r")) ([A-ZĐ])(?:\.(?=\s[^\W\d_A-ZĐ]|,))?(?!\w|\.\w)",
                   lambda m: f"{m[1]} {name(m[2])}", s)
        # A lone initial with its period, before a bracket (now a comma) or a lowercase word: "P. (18 tuổi)",
        # "Lo sợ, P. lấy gần 30 cây vàng" (not I or X, which are Roman numerals).
        s = re.sub(r"(?<![\w.])([A-HJ-WYZĐ])\.(?=,|\s[^\W\d_A-ZĐ])", lambda m: name(m[1]), s)
        return re.sub(r"\b((?:[A-ZĐ][^\W\d_]+ ){1,3})([A-ZĐ])\.?(?=[,;)])", lambda m: m[1] + name(m[2]), s)

    def _dotted_decimal(self, m: re.Match[str]) -> str:
        """"2.8" with no date word before it and no unit after it: read as a decimal (as "2.8 và 3.4 độ richter"),
        but marked where it can be a day and a month."""
        reading = self._number(m[0])
        if valid_date(int(m[1]), int(m[2])) and not re.match(r" ?" + UNIT_WORDS + r"\b", m.string[m.end():]):
            self._mark("decimal_or_date", m[0], (reading, self.calendar.date_or_ratio(m[1], m[2])))
        return reading

    def _rate(self, m: re.Match[str]) -> str:
        """"1,5 triệu đồng/tháng", "300 triệu đồng/mô hình/năm": after a quantity a slash is "trên" (units that
        carry their own slash, "km/h", are left to the unit table)."""
        return re.sub(r"([^\W\d_]+[23²³]?)\s?/\s?(?=([^\W\d_]+|\d))",
                      lambda n: n[0] if n[2] in UNITS or f"{n[1]}/{n[2]}" in UNITS else n[1] + PER, m[0])

    def _acronym(self, m: re.Match[str]) -> str:
        word = m[0]
        if word in ROMAN or lists.SYLLABLE_RE.fullmatch(word):
            return word
        spelled = lists.spell(word, self.letters)
        if spelled:
            self._mark("acronym", word, (spelled,))
        return spelled or word

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

