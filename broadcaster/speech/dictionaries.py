"""The normalizer's word lists under ``content/``: abbreviations (one reading, or several chosen by the words
around them), foreign words and brands in their spoken Vietnamese form, and the names of letters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"
ABBREVIATIONS = CONTENT_DIR / "abbreviations.tsv"
CONTEXT_ABBREVIATIONS = CONTENT_DIR / "abbreviations-context.tsv"
DOCUMENT_CODES = CONTENT_DIR / "document-codes.tsv"
FOREIGN_WORDS = CONTENT_DIR / "foreign-words.tsv"
LETTER_NAMES = CONTENT_DIR / "letter-names.tsv"
ADDRESS_WORDS = CONTENT_DIR / "address-words.tsv"

SYLLABLE_RE = re.compile(
    r"(?:NGH|NG|NH|CH|GH|GI|KH|PH|QU|TH|TR|[BCDĐGHKLMNPRSTVX])?[AEIOUYĂÂÊÔƠƯ]{1,3}(?:NG|NH|CH|[CMNPT])?")
"""A plausible Vietnamese syllable in capitals: such a word in a headline is a word, not letters to spell."""


@lru_cache(maxsize=32)
def rows(path: Path, columns: int) -> tuple[tuple[str, ...], ...]:
    """The non-comment lines of a tab-separated file, NFC, each padded or cut to ``columns`` fields."""
    if not path.exists():
        return ()
    found = []
    for line in unicodedata.normalize("NFC", path.read_text(encoding="utf-8")).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [part.strip() for part in line.split("\t")]
        fields = (fields + [""] * columns)[:columns]
        if fields[0] and fields[1]:
            found.append(tuple(fields))
    return tuple(found)


def load_abbreviations(path: Path = ABBREVIATIONS) -> dict[str, str]:
    """Abbreviation -> reading, matched as a whole word, case-sensitive."""
    return {word: reading for word, reading in rows(path, 2)}


@dataclass(frozen=True)
class Reading:
    """One reading of an ambiguous abbreviation, and the words nearby that choose it (none: the default)."""

    text: str
    cues: tuple[str, ...]


def load_context_abbreviations(path: Path = CONTEXT_ABBREVIATIONS) -> dict[str, list[Reading]]:
    table: dict[str, list[Reading]] = {}
    for word, reading, cues in rows(path, 3):
        table.setdefault(word, []).append(
            Reading(reading, tuple(c.strip().lower() for c in cues.split(",") if c.strip())))
    return table


def choose(readings: list[Reading], nearby: str) -> Reading:
    """The reading most of whose cues occur in ``nearby`` (lower case); without any, the default one."""
    def hits(reading: Reading) -> int:
        return sum(1 for cue in reading.cues if re.search(rf"(?<!\w){re.escape(cue)}(?!\w)", nearby))

    best = max(readings, key=hits)
    if hits(best):
        return best
    return next((r for r in readings if not r.cues), readings[0])


def cued(readings: list[Reading], nearby: str) -> Reading | None:
    """The reading some of whose cues occur in ``nearby``, the most of them; None when no cue occurs."""
    best = choose(readings, nearby)
    return best if best.cues and any(re.search(rf"(?<!\w){re.escape(c)}(?!\w)", nearby) for c in best.cues) else None


def load_foreign_words(path: Path = FOREIGN_WORDS) -> dict[str, str]:
    """Foreign word or brand, lower case -> its spoken Vietnamese form."""
    return {word.lower(): reading for word, reading in rows(path, 2)}


def load_address_words(path: Path = ADDRESS_WORDS) -> dict[str, str]:
    """Unaccented word of a web address -> the word with its tones ("thanhhoa" -> "thanh hóa")."""
    return {word.lower(): reading for word, reading in rows(path, 2)}


def load_letter_names(path: Path = LETTER_NAMES) -> tuple[dict[str, str], dict[str, str]]:
    """(letter -> its name when spelled, acronym said as a word -> its reading)."""
    letters: dict[str, str] = {}
    words: dict[str, str] = {}
    for key, reading in rows(path, 2):
        if not re.fullmatch(r"\w\.", key):  # "G." names a person's initial: load_initial_names
            (letters if len(key) == 1 else words)[key] = reading
    return letters, words


def load_initial_names(path: Path = LETTER_NAMES) -> dict[str, str]:
    """Letter -> its name as a person's initial ("N.N.G.T": en en giê tê), where that differs from its name in a
    spelled acronym (GDP: gờ đê pê); the file writes such a letter with its period ("G.")."""
    return {key[0]: reading for key, reading in rows(path, 2) if re.fullmatch(r"\w\.", key)}


def syllables(word: str) -> list[str] | None:
    """An unaccented run of letters cut into as few Vietnamese syllables as it can be ("baothanhhoa" -> bao,
    thanh, hoa), never between a consonant and an "h" (th, nh, ch... begin a syllable); None when it does not
    cut cleanly (then it is spelled)."""
    text = word.upper()
    best: list[list[str] | None] = [[]] + [None] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - 7), end):
            before, piece = best[start], text[start:end]
            if before is None or not SYLLABLE_RE.fullmatch(piece):
                continue
            if before and before[-1][-1] in "CTNPGK" and piece[0] == "H":
                continue
            if best[end] is None or len(before) + 1 < len(best[end] or []):
                best[end] = [*before, piece]
    found = best[-1]
    return [p.lower() for p in found] if found else None


def spell(acronym: str, letters: Mapping[str, str]) -> str | None:
    """An acronym letter by letter with the letters' names; None when a letter has no name."""
    names = [letters.get(ch.upper()) for ch in acronym]
    return " ".join(n for n in names if n) if all(names) else None
