"""Real sentences nobody here wrote (tests/data/real_sentences_*.tsv: news, weather and disaster bulletins,
government portals and legal texts, health campaigns, agriculture notices; each row names its source), read as a
listener expects: the whole sentence right, not word by word. The floors are what the normalizer reached when
they were set (docs/speech.md has the figures, and the command that measures them); a change that reads fewer
of them right fails here."""

from __future__ import annotations

import re

import pytest

from bench.normalize_score import load_heldout, load_heldout2, load_heldout3, load_heldout4, load_real, matches
from broadcaster.speech.normalize import Normalizer

KINDS = {
    "a slash before a counted noun is a ratio": r"\b\d{1,2}/\d{1,2} (?:xã|chỉ tiêu|nhóm|tiêu chí|huyện|hộ)",
    "a newspaper date with a hyphen or a dot":
        r"(?i)\b(?:sáng|ngày|chiều|đêm|trưa|tối)(?: nay| mai)? \d{1,2}[-.]\d{1,2}\b",
    "a month and a year": r"tháng \d{1,2}[-/.]\d{4}",
    "a range glued to its unit": r"\d+ ?[-–] ?\d+ ?(?:mm|km|m\b|cm|km/h|độ)",
    "a Roman numeral after its word": r"(?i)(?:báo động|cấp|khóa|lần thứ|quý|kỳ họp thứ) [IVX]+\b",
    "an abbreviation with a period": r"\b(?:TP|Q|P|H|TX)\.\S",
    "letters and a number in one code": r"\b(?:QH|BĐ) ?\d|\b[A-Z]{1,3}\d+[A-Z]\d",
    "an acronym read by its letters": r"\b(?:GDP|CPI|WHO|OTP|SMS|QR|GPS|HIV|PCR)\b",
    "a foreign word or a brand": r"(?i)\b(?:vaccine|covid|facebook|zalo|pfizer|internet|website|online)\b",
    "a document code": r"\d+/\d{4}/[A-ZĐ]+-[A-Z]+|\d+/[A-ZĐ]+-[A-ZĐ]+",
    "a unit or a symbol": r"m3/s|≥|≤|%|°C|km/h",
    "a hotline or a service number": r"\b(?:1022|113|114|115|1900|1800)\b|đường dây nóng",
    "a slash between acronyms is not read": r"\b[A-Z]{2,}/[A-Z]{2,}\b",
    "a rate after a quantity":
        r"\d[\d.,]*\s?(?:[^\W\d_]+\s){0,3}[^\W\d_]+\d?/(?:người|hộ|tháng|năm|con|mô hình|lần|ao|công|sào|điểm)\b",
    "a unit after a scale word": r"\d (?:triệu|nghìn|ngàn|tỷ|tỉ) (?:ha|tấn|USD)\b",
    "a range of months or a bare month of a year":
        r"tháng \d{1,2} ?[-–] ?\d{1,2}/\d{4}|(?:đến|từ) (?:tháng )?\d{1,2}[/-]\d{4}",
    "a number of a year": r"(?i)\b(?:số|tuần|đợt|thông tư|nghị định) \d{1,3}/\d{4}\b(?!/)",
    "a web or e-mail address": r"[a-z]\.(?:vn|com|net)\b|\w@\w",
    "a person named by initials": r"\b[A-ZĐ]\.[A-ZĐ]\b|\b(?:[Cc]hị|[Aa]nh|ông|bà) [A-ZĐ]\b(?!\w)",
    "two dates or a range of dates": r"\d{1,2}[/.]\d{1,2}(?:[/.]\d{4})? ?[-–] ?\d{1,2}[/.]\d{1,2}",
    "a score or a list of numbers": r"(?i)tỷ số \d|\d+ - \d+ - \d+",
    "a range of hours": r"\d{1,2}h\d{0,2} ?[-–] ?\d{1,2}h|\d{1,2} ?[-–] ?\d{1,2}h\b",
    "a phone number": r"\b0\d{2,3}[ .]\d{3}|\(0\d{2,3}\)|\b1[89]00[ .-]?\d|\b0\d{9}\b",
    "a point of a list": r"(?m)^\s*(?:[-+] )?(?:\d{1,2}\.|[a-zđ]\))\s|[:;] [a-zđ]\) ",
    "a range of percent": r"\d+(?:,\d+)? ?[-–] ?\d+(?:,\d+)? ?%",
    "a dotted date within a line": r"(?i)\b(?:ngày|sáng|chiều|từ|đến) \d{1,2}\.\d{1,2}\b(?!\.\d|,\d| ?độ)",
    "a rice variety, a road or a road marker": r"\bOM ?\d|\bQL ?\d|\bKm ?\d",
    # Kinds of the second round (December 2026).
    "a space between groups of thousands": r"(?<![\d.,])[1-9]\d{0,2} \d{3}\b(?! ?\d)",
    "a number plate": r"\b\d{2}[A-Z]{1,2}\d?-(?:\d{3}\.\d{2}|\d{4,5})\b",
    "an abbreviation glued to a place": r"\bEVN[A-Z]{3,}",
    "a document code after the word that names it":
        r"(?i)\b(?:nghị định|thông tư|nghị quyết|quyết định|luật) \d+/\d{4}/",
    "a count over a count, a word over a word":
        r"\b\d{1,3}(?:\.\d{3})+/\d{1,3}\b(?![\d.])|(?i:tỷ lệ|tỉ lệ) [^\W\d_]+/[^\W\d_]",
    "an alarm level in brackets, a range or a dash of levels": r"\(BĐ\)\d|BĐ\d ?[-–] ?BĐ|cấp [IVX]+ - cấp",
    "a title of an officer": r"\b(?:HUV|BT|PCT|CT\.|TS\.|ThS|PGS|BS)(?=[\s,.])",
}
FLOORS = {
    "a slash before a counted noun is a ratio": 0.95,
    "a newspaper date with a hyphen or a dot": 0.95,
    "a month and a year": 0.95,
    "a range glued to its unit": 0.97,
    "a Roman numeral after its word": 0.95,
    "an abbreviation with a period": 0.95,
    "letters and a number in one code": 0.95,
    "an acronym read by its letters": 0.95,
    "a foreign word or a brand": 0.92,
    "a document code": 0.97,
    "a unit or a symbol": 0.97,
    "a hotline or a service number": 0.95,
    "a slash between acronyms is not read": 0.9,
    "a rate after a quantity": 0.95,
    "a unit after a scale word": 0.95,
    "a range of months or a bare month of a year": 0.95,
    "a number of a year": 0.95,
    "a web or e-mail address": 0.74,
    "a person named by initials": 0.95,
    "two dates or a range of dates": 0.95,
    "a score or a list of numbers": 0.65,
    "a range of hours": 0.95,
    "a phone number": 0.95,
    "a point of a list": 0.93,
    "a range of percent": 0.95,
    "a dotted date within a line": 0.95,
    "a rice variety, a road or a road marker": 0.95,
    "a space between groups of thousands": 0.95,
    "a number plate": 0.95,
    "an abbreviation glued to a place": 0.95,
    "a document code after the word that names it": 0.95,
    "a count over a count, a word over a word": 0.95,
    "an alarm level in brackets, a range or a dash of levels": 0.95,
    "a title of an officer": 0.75,
}
"""The share of each kind of sentence read right (spelling variants such as "mồng"/"mùng" allowed)."""

CASES = load_real(heldout=False)
"""Every real sentence but the fifth held-out set, which is only measured (bench/normalize_score.py --corpus
heldout5); the second, third and fourth held-out sets were read by the third, fourth and fifth rounds and are design
data now."""
NORMALIZER = Normalizer()


def read_right(text: str, expected: str, lenient: bool = True) -> bool:
    return matches(NORMALIZER(text), expected, lenient)


def test_the_corpus_is_real_sentences_from_named_sources() -> None:
    from bench.normalize_score import REAL

    assert len(CASES) >= 850
    assert len(load_heldout()) >= 150
    assert {c for c, _, _ in CASES} == {"news", "weather", "government", "health", "agriculture"}
    for path in REAL:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            _, source, text, expected = line.split("\t")
            assert re.match(r"https?://|github:", source), f"{path.name}: no source for {text[:60]!r}"
            assert not re.search(r"\d", expected), f"{path.name}: a digit in the reading of {text[:60]!r}"


@pytest.mark.parametrize(("lenient", "floor"), [(False, 0.995), (True, 0.995)], ids=["exact", "variants"])
def test_most_real_sentences_are_read_right(lenient: bool, floor: float) -> None:
    wrong = [(t, e) for _, t, e in CASES if not read_right(t, e, lenient)]
    share = 1 - len(wrong) / len(CASES)
    assert share >= floor, f"{share:.1%} right; first wrong: " + "; ".join(f"{t} -> {NORMALIZER(t)}"
                                                                          for t, _ in wrong[:5])


@pytest.mark.parametrize(("lenient", "floor"), [(False, 0.99), (True, 0.99)], ids=["exact", "variants"])
def test_held_out_sentences_are_read_right(lenient: bool, floor: float) -> None:
    """The first held-out set (real_sentences_heldout.tsv), kept out of the first round's design; the second round
    read it, so it is design data now and its floor only guards what was reached."""
    cases = load_heldout()
    wrong = [(t, e) for _, t, e in cases if not read_right(t, e, lenient)]
    share = 1 - len(wrong) / len(cases)
    assert share >= floor, f"{share:.1%} of held-out sentences right; first wrong: " + "; ".join(
        f"{t} -> {NORMALIZER(t)}" for t, _ in wrong[:5])


@pytest.mark.parametrize(("lenient", "floor"), [(False, 0.99), (True, 0.99)], ids=["exact", "variants"])
def test_second_held_out_sentences_are_read_right(lenient: bool, floor: float) -> None:
    """The second held-out set (real_sentences_heldout2.tsv), copied before the second round's rules and measured
    only before them (81.6% exactly) and after them (84.8%); the third round read its failures (it is design data
    now: 98.1% after that round, 100% after the fourth), so its floor guards what was reached."""
    cases = load_heldout2()
    assert len(cases) >= 150
    wrong = [(t, e) for _, t, e in cases if not read_right(t, e, lenient)]
    share = 1 - len(wrong) / len(cases)
    assert share >= floor, f"{share:.1%} of the second held-out sentences right; first wrong: " + "; ".join(
        f"{t} -> {NORMALIZER(t)}" for t, _ in wrong[:5])


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_hard_sentence_is_read_right(kind: str) -> None:
    cases = [(t, e) for _, t, e in CASES if re.search(KINDS[kind], t)]
    assert len(cases) >= 3, f"too few real sentences with {kind} to judge"
    wrong = [(t, NORMALIZER(t), e) for t, e in cases if not read_right(t, e)]
    share = 1 - len(wrong) / len(cases)
    assert share >= FLOORS[kind], f"{kind}: {share:.0%} of {len(cases)} right; " + " | ".join(
        f"{t} -> {got} (expected {e})" for t, got, e in wrong[:3])


def test_no_digit_is_left_in_any_real_sentence() -> None:
    leftovers = [(t, out) for _, t, _ in CASES if re.search(r"\d", out := NORMALIZER(t))]
    assert leftovers == []


@pytest.mark.parametrize(("lenient", "floor"), [(False, 0.99), (True, 0.99)], ids=["exact", "variants"])
def test_third_held_out_sentences_are_read_right(lenient: bool, floor: float) -> None:
    """The third held-out set (real_sentences_heldout3.tsv), copied before the third round's rules and measured only
    before them (90.1% exactly, 91.4% allowing variants) and after them (90.8%, 91.4%); the fourth round read its
    failures (it is design data now: 100% after that round), so its floor guards what that round reached."""
    cases = load_heldout3()
    assert len(cases) >= 150
    right = sum(read_right(t, e, lenient) for _, t, e in cases)
    assert right / len(cases) >= floor, f"{right}/{len(cases)} of the third held-out sentences right"


@pytest.mark.parametrize(("lenient", "floor"), [(False, 0.99), (True, 0.99)], ids=["exact", "variants"])
def test_fourth_held_out_sentences_are_read_right(lenient: bool, floor: float) -> None:
    """The fourth held-out set (real_sentences_heldout4.tsv), copied before the fourth round's rules and measured only
    before them (91.2% exactly, 91.2% allowing variants) and after them (the same); the fifth round read its failures
    (it is design data now: 100% after that round), so its floor guards what that round reached."""
    cases = load_heldout4()
    assert len(cases) >= 150
    right = sum(read_right(t, e, lenient) for _, t, e in cases)
    assert right / len(cases) >= floor, f"{right}/{len(cases)} of the fourth held-out sentences right"
