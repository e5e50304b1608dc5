"""Names in the order a Vietnamese reader expects: the alphabet's own letters in their place (a ă â b c d đ e ê
... o ô ơ ... u ư ...), tones only breaking ties (ngang, huyền, hỏi, ngã, sắc, nặng), and numbers by value
("Thôn 2" before "Thôn 10"); and names folded for a search typed without accents."""

from __future__ import annotations

import re
import unicodedata

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: n for n, letter in enumerate(ALPHABET)}
# The marks that make a letter of its own (breve, circumflex, horn) and the tones, as Unicode combines them.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_PARTS = re.compile(r"(\d+)")


def _letters(word: str) -> tuple[list[tuple[int, int | str]], list[int]]:
    primary: list[tuple[int, int | str]] = []
    tones: list[int] = []
    for char in word.casefold():
        if char == "đ":
            primary.append((0, _RANK["đ"]))
            tones.append(0)
            continue
        parts = unicodedata.normalize("NFD", char)
        base = parts[0] + "".join(m for m in parts[1:] if m in _LETTER_MARKS)
        letter = unicodedata.normalize("NFC", base)
        primary.append((0, _RANK[letter]) if letter in _RANK else (1, letter))
        tones.append(max((_TONES.get(m, 0) for m in parts[1:]), default=0))
    return primary, tones


def sort_key(name: str) -> tuple[object, ...]:
    """A key that orders ``name`` among others as a Vietnamese list does."""
    primary: list[object] = []
    secondary: list[int] = []
    for n, part in enumerate(_PARTS.split(name.strip())):
        if n % 2:
            primary.append((0, int(part)))
        else:
            letters, tones = _letters(part)
            primary.append((1, letters))
            secondary.extend(tones)
    return tuple(primary), tuple(secondary), name


def folded(text: str) -> str:
    """``text`` without case or marks, for a search typed on a phone without accents ("dong" finds "Đông")."""
    plain = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c))
