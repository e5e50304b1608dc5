"""Web and e-mail addresses as a presenter says them: "chấm", "a còng", digits one by one, unaccented words with
their tones where the address-word list knows them ("baothanhhoa" -> báo thanh hóa), foreign words in their spoken
form ("yahoo"), other runs as syllables ("tongdai1022" -> tổng đài một không hai hai), anything else letter by
letter."""

from __future__ import annotations

import re
from collections.abc import Mapping

from broadcaster.speech import dictionaries as lists
from broadcaster.speech.numbers import read_digits

WEB_WORDS = {"www": "vê kép vê kép vê kép", "vn": "vê en", "gov": "gờ ô vê", "com": "com", "org": "o rờ gờ",
             "net": "nét", "edu": "e đu", "gmail": "gờ meo", "info": "in phô"}


def read_addresses(s: str, letters: Mapping[str, str], words: Mapping[str, str]) -> str:
    """Web and e-mail addresses as a presenter says them: "chấm", "a còng". ``words``: unaccented or foreign
    words of addresses and their spoken form."""
    s = re.sub(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", lambda m: _address(m[0], letters, words), s)
    return re.sub(r"(?i)\b(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:vn|com|gov|org|net|edu|info)"
                  r"(?:\.[a-z]{2})?\b(?:/[\w./-]*[\w/])?", lambda m: _address(m[0], letters, words), s)


def _address(address: str, letters: Mapping[str, str], words: Mapping[str, str]) -> str:
    address = re.sub(r"(?i)^https?://", "", address).rstrip("/")
    spoken = {".": " chấm ", "@": " a còng ", "/": " gạch chéo ", "-": " gạch ngang ", "_": " gạch dưới "}
    out = []
    for part in re.split(r"([.@/_-])", address):
        if part in spoken:
            out.append(spoken[part])
        elif part.lower() in WEB_WORDS:
            out.append(WEB_WORDS[part.lower()])
        else:
            out.append(" ".join(_address_word(w, letters, words) for w in re.findall(r"\d+|[^\W\d_]+", part)))
    return " " + "".join(out) + " "


def _address_word(word: str, letters: Mapping[str, str], words: Mapping[str, str]) -> str:
    """A run of a web address: digits one by one, known words with their tones, else syllables, else letters."""
    if word.isdigit():
        return read_digits(word)
    known = _known_words(word.lower(), letters, words)
    if known:
        return known
    if lists.SYLLABLE_RE.fullmatch(word.upper()):
        return word
    cut = lists.syllables(word) if len(word) > 3 else None
    return " ".join(cut) if cut else lists.spell(word, letters) or word


def _known_words(text: str, letters: Mapping[str, str], words: Mapping[str, str]) -> str | None:
    """``text`` cut into known words (cheapest), plain syllables or single letters; None when no known word is in it.
    A known word costs 1, a syllable 2 and a letter 3, so "baothanhhoa" is báo + thanh hóa, not bao than hhoa."""
    best: list[tuple[int, list[str], bool] | None] = [(0, [], False)] + [None] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - 24), end):
            before = best[start]
            if before is None:
                continue
            piece = text[start:end]
            if piece in words:
                step, reading, known = 1, words[piece], True
            elif end - start <= 7 and lists.SYLLABLE_RE.fullmatch(piece.upper()):
                step, reading, known = 2, piece, False
            elif end - start == 1 and piece.upper() in letters:
                step, reading, known = 3, letters[piece.upper()], False
            else:
                continue
            candidate = (before[0] + step, [*before[1], reading], before[2] or known)
            current = best[end]
            if current is None or (candidate[0], not candidate[2]) < (current[0], not current[2]):
                best[end] = candidate
    found = best[-1]
    return " ".join(found[1]) if found and found[2] else None
