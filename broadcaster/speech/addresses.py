"""Web and e-mail addresses as a presenter says them: "chấm", "a còng", digits one by one, unaccented words as
syllables ("tongdai" -> tong dai), anything else letter by letter."""

from __future__ import annotations

import re

from broadcaster.speech import dictionaries as lists
from broadcaster.speech.numbers import read_digits

WEB_WORDS = {"www": "vê kép vê kép vê kép", "vn": "vê en", "gov": "gờ ô vê", "com": "com", "org": "o rờ gờ",
             "net": "nét", "edu": "e đu", "gmail": "gờ meo", "info": "in phô"}

def read_addresses(s: str, letters: dict[str, str]) -> str:
    """Web and e-mail addresses as a presenter says them: "chấm", "a còng"."""
    s = re.sub(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", lambda m: _address(m[0], letters), s)
    return re.sub(r"(?i)\b(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:vn|com|gov|org|net|edu|info)"
                  r"(?:\.[a-z]{2})?\b(?:/[\w./-]*[\w/])?", lambda m: _address(m[0], letters), s)

def _address(address: str, letters: dict[str, str]) -> str:
    address = re.sub(r"(?i)^https?://", "", address).rstrip("/")
    spoken = {".": " chấm ", "@": " a còng ", "/": " gạch chéo ", "-": " gạch ngang ", "_": " gạch dưới "}
    out = []
    for part in re.split(r"([.@/_-])", address):
        if part in spoken:
            out.append(spoken[part])
        elif part.lower() in WEB_WORDS:
            out.append(WEB_WORDS[part.lower()])
        else:
            out.append(" ".join(_address_word(w, letters) for w in re.findall(r"\d+|[^\W\d_]+", part)))
    return " " + "".join(out) + " "

def _address_word(word: str, letters: dict[str, str]) -> str:
    """A run of a web address: digits one by one, a word said as syllables ("tongdai"), else letters."""
    if word.isdigit():
        return read_digits(word)
    if lists.SYLLABLE_RE.fullmatch(word.upper()):
        return word
    cut = lists.syllables(word) if len(word) > 3 else None
    return " ".join(cut) if cut else lists.spell(word, letters) or word
