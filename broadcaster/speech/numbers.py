"""Numbers read the Vietnamese way, in the northern or southern habit: integers, decimals, digit strings."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


@dataclass(frozen=True)
class Dialect:
    """Regional readings: northern ``nghìn``/``linh`` or southern ``ngàn``/``lẻ``."""

    thousand: str = "nghìn"
    zero_tens: str = "linh"


NORTH = Dialect()
SOUTH = Dialect("ngàn", "lẻ")
DIALECTS = {"north": NORTH, "south": SOUTH}


def read_number(n: int, dialect: Dialect = NORTH) -> str:
    """Read a non-negative integer the Vietnamese way: 208 -> "hai trăm linh tám"."""
    if n < 0:
        return "âm " + read_number(-n, dialect)
    if n < 1000:
        return _below_thousand(n, dialect, full=False)
    if n >= 10**9:
        head, rest = divmod(n, 10**9)
        words = read_number(head, dialect) + " tỷ"
        return words + (" " + _group_tail(rest, 9, dialect) if rest else "")
    for power, name in ((6, "triệu"), (3, dialect.thousand)):
        if n >= 10**power:
            head, rest = divmod(n, 10**power)
            words = _below_thousand(head, dialect, full=False) + " " + name
            return words + (" " + _group_tail(rest, power, dialect) if rest else "")
    raise AssertionError("unreachable")


def _group_tail(rest: int, power: int, dialect: Dialect) -> str:
    """The part after a scale word: lower groups read with "không trăm" where needed."""
    parts = []
    for p, name in ((6, "triệu"), (3, dialect.thousand), (0, "")):
        if p >= power:
            continue
        group = (rest // 10**p) % 1000
        if group == 0:
            continue
        # A group below 100 after a higher one is read in full: 1.050 -> "một nghìn không trăm năm mươi".
        words = _below_thousand(group, dialect, full=True)
        parts.append(words + (" " + name if name else ""))
    return " ".join(parts)


def _below_thousand(n: int, dialect: Dialect, full: bool) -> str:
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
        if rest == 0:
            return " ".join(words)
        if tens == 0:
            return " ".join([*words, dialect.zero_tens, DIGITS[units]])
    if tens == 0:
        return " ".join([*words, DIGITS[units]])
    if tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt" if tens > 1 else "một")
    elif units == 4:
        words.append("tư" if tens > 1 else "bốn")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return " ".join(words)


def read_digits(text: str) -> str:
    return " ".join(DIGITS[int(ch)] for ch in text if ch.isdigit())


def parse_amount(token: str) -> tuple[int, str | None] | None:
    """'1.950' -> (1950, None); '95,75' -> (95, '75'); '1.5' -> (1, '5'). None if not a number."""
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", token):
        whole, _, frac = token.partition(",")
        return int(whole.replace(".", "")), frac or None
    if re.fullmatch(r"\d+([.,]\d+)?", token):
        whole, _, frac = token.replace(",", ".").partition(".")
        return int(whole), frac or None
    return None


def read_amount(token: str, dialect: Dialect = NORTH) -> str:
    amount = parse_amount(token)
    if amount is None:
        return read_digits(token)
    whole, frac = amount
    words = read_number(whole, dialect)
    if frac:
        # "95,75" -> "... phẩy bảy mươi lăm"; leading zeros are read digit by digit: "0,05" -> "không năm"; three
        # digits with one leading zero are a number of hundreds: "1,088 triệu" -> "một phẩy không trăm tám mươi tám".
        if re.fullmatch(r"0[1-9]\d", frac):
            return words + " phẩy " + _below_thousand(int(frac), dialect, full=True)
        stripped = frac.lstrip("0")
        lead = " ".join(["không"] * (len(frac) - len(stripped)))
        tail = read_number(int(stripped), dialect) if stripped and len(stripped) <= 3 else read_digits(stripped)
        words += " phẩy " + " ".join(w for w in (lead, tail) if w)
    return words


def join_groups(s: str, mark: Callable[[str, str, tuple[str, ...]], None] | None = None) -> str:
    """A space as thousands separator, "346 000 ha", "1 200 000 đồng", becomes the dot Vietnamese text uses
    (phone numbers, which start with 0 or run in groups of four, are read before this). ``mark`` is told where
    the groups could also be two numbers ("150 200")."""
    def grouped(m: re.Match[str]) -> str:
        if re.fullmatch(r"[1-9]00", m[1]) and m[2][1:4] != "000":
            return m[0]  # "300 400kg/sào": two round numbers, a range missing its dash
        joined = m[1] + m[2].replace(" ", ".")
        if mark and not re.fullmatch(r"(?: 000)+", m[2]):
            numbers = m[0].split()
            mark("number_or_numbers", m[0], (read_amount(joined), ", ".join(read_amount(n) for n in numbers)))
        return joined

    return re.sub(r"(?<![\d.,])([1-9]\d{0,2})((?: \d{3})+)(?![\d]|[.,]\d)", grouped, s)
