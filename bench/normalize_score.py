"""Score Vietnamese text normalizers, whole sentences, on the corpus we wrote
(tests/data/normalize_corpus.tsv) and real sentences copied from public sources, each with its source
(tests/data/real_sentences_*.tsv: news, weather and disaster bulletins, health campaigns, government portals,
legal texts, agriculture notices). One of those files, tests/data/real_sentences_heldout.tsv, was copied before the
rules of December 2026 were written and is kept to measure them, never to design them: ``--corpus heldout`` scores it
alone, ``--corpus design`` the others (the ones to read failures from). tests/data/real_sentences_heldout2.tsv,
tests/data/real_sentences_heldout3.tsv and tests/data/real_sentences_heldout4.tsv were each copied before a later
round's rules and are scored apart (``--corpus heldout2``, ``--corpus heldout3``, ``--corpus heldout4``). Each round
read the failures of the sets before it: the third round (December 2026) read the second held-out set, the fourth read
the third, the fifth the fourth, so all three are design data now (in ``--corpus design`` too).
tests/data/real_sentences_heldout5.tsv, collected by another person before the fifth round and never read by its
rules, is the set kept out of the design set: ``--corpus heldout5`` scores it (``none found`` until it is added).

A sentence counts as right only when the whole output equals the expected reading, ignoring case, punctuation
and spacing: one misread word makes the sentence wrong. An expected reading may list readings a listener hears as
equally right, separated by ``|``; matching any of them counts.
Run by hand:  .venv/bin/python bench/normalize_score.py
[--corpus ours|real|design|heldout|heldout2|heldout3|heldout4|heldout5|both] [--show-failures]
[--others]
``--others`` also scores vinorm and vietnormalizer when they are installed (pip install vinorm vietnormalizer).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "normalize_corpus.tsv"
REAL = sorted((ROOT / "tests" / "data").glob("real_sentences_*.tsv"))
HELDOUT = ROOT / "tests" / "data" / "real_sentences_heldout.tsv"
HELDOUT2 = ROOT / "tests" / "data" / "real_sentences_heldout2.tsv"
HELDOUT3 = ROOT / "tests" / "data" / "real_sentences_heldout3.tsv"
HELDOUT4 = ROOT / "tests" / "data" / "real_sentences_heldout4.tsv"
HELDOUT5 = ROOT / "tests" / "data" / "real_sentences_heldout5.tsv"
MEASURE_ONLY = (HELDOUT5,)
"""Held-out sets no rule is designed from: the design set leaves them out."""


def load_corpus(path: Path = CORPUS) -> list[tuple[str, str, str]]:
    """(category, text, expected reading) of a corpus file; real ones also name a source (second column)."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            fields = line.split("\t")
            category, text, expected = (fields[0], fields[2], fields[3]) if len(fields) == 4 else fields
            cases.append((category, text, expected))
    return cases


def load_real(heldout: bool = True) -> list[tuple[str, str, str]]:
    """Every real sentence; without ``heldout`` only those the rules may be designed from (all but the sets in
    MEASURE_ONLY)."""
    return [case for path in REAL if heldout or path not in MEASURE_ONLY for case in load_corpus(path)]


def load_heldout(path: Path = HELDOUT) -> list[tuple[str, str, str]]:
    return load_corpus(path) if path.exists() else []


def load_heldout2() -> list[tuple[str, str, str]]:
    return load_heldout(HELDOUT2)


def load_heldout3() -> list[tuple[str, str, str]]:
    return load_heldout(HELDOUT3)


def load_heldout4() -> list[tuple[str, str, str]]:
    return load_heldout(HELDOUT4)


def load_heldout5() -> list[tuple[str, str, str]]:
    return load_heldout(HELDOUT5)


VARIANTS = {"mồng": "mùng", "kí": "ki", "ký": "ki", "lẻ": "linh", "ngàn": "nghìn", "bay": "bai", "xăng": "xen"}
OPTIONAL = {"mùng", "phút", "số"}


def canonical(text: str, lenient: bool = False) -> str:
    """Lower case without punctuation; ``lenient`` also accepts spelling variants (kí lô / ki lô, lẻ / linh,
    ngàn / nghìn, mươi tư / mươi bốn) and leaves out words a listener does not miss (mùng before a day, phút, số)."""
    text = unicodedata.normalize("NFC", text).lower()
    words = re.sub(r"[^\w\s]|_", " ", text).split()
    if lenient:
        words = [VARIANTS.get(w, w) for w in words]
        # "bốn mươi tư" / "bốn mươi bốn", "linh tư" / "linh bốn": both are heard as right.
        words = ["bốn" if w == "tư" and i and words[i - 1] in ("mươi", "linh") else w for i, w in enumerate(words)]
        words = [w for w in words if w not in OPTIONAL]
    return " ".join(words)


def matches(got: str, expected: str, lenient: bool = False) -> bool:
    """Whether ``got`` reads as ``expected`` or as one of the readings it lists, separated by ``|``."""
    return any(canonical(got, lenient) == canonical(reading, lenient) for reading in expected.split("|"))


def score(normalize: Callable[[str], str], cases: list[tuple[str, str, str]],
          lenient: bool = False) -> tuple[float, list[tuple[str, str, str, str]]]:
    """(share of cases right, failures as (category, text, expected, got))."""
    failures = []
    for category, text, expected in cases:
        try:
            got = normalize(text)
        except Exception as exc:  # a competitor crashing on a case counts as wrong
            got = f"<{exc.__class__.__name__}>"
        if not matches(got, expected, lenient):
            failures.append((category, text, expected, got))
    return 1 - len(failures) / len(cases), failures


def competitors() -> dict[str, Callable[[str], str]]:
    found: dict[str, Callable[[str], str]] = {}
    try:
        from vinorm import TTSnorm  # type: ignore[import-not-found]

        found["vinorm"] = lambda text: TTSnorm(text, punc=False, unknown=True, lower=False, rule=False)
    except Exception as exc:
        print(f"vinorm: not available ({exc.__class__.__name__}: {exc})", file=sys.stderr)
    try:
        from vietnormalizer import VietnameseNormalizer  # type: ignore[import-not-found]

        normalizer = VietnameseNormalizer()
        found["vietnormalizer"] = normalizer.normalize
    except Exception as exc:
        print(f"vietnormalizer: not available ({exc.__class__.__name__}: {exc})", file=sys.stderr)
    return found


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from broadcaster.speech.normalize import Normalizer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--others", action="store_true", help="also score vinorm and vietnormalizer")
    parser.add_argument("--corpus", choices=("ours", "real", "design", "heldout", "heldout2", "heldout3", "heldout4",
                                             "heldout5", "both"),
                        default="both")
    args = parser.parse_args()
    systems: dict[str, Callable[[str], str]] = {"ours": Normalizer()}
    if args.others:
        systems.update(competitors())
    corpora = {"ours": ("hand-written", load_corpus), "real": ("real sentences, all", load_real),
               "design": ("real sentences, design set", lambda: load_real(heldout=False)),
               "heldout": ("real sentences, first held-out set", load_heldout),
               "heldout2": ("real sentences, second held-out set", load_heldout2),
               "heldout3": ("real sentences, third held-out set", load_heldout3),
               "heldout4": ("real sentences, fourth held-out set", load_heldout4),
               "heldout5": ("real sentences, fifth held-out set", load_heldout5)}
    chosen = (("ours", "real", "design", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")
              if args.corpus == "both"
              else (args.corpus,))
    for key in chosen:
        title, load = corpora[key]
        cases = load()
        if not cases:
            print(f"== {title}: none found")
            continue
        counts = Counter(category for category, _, _ in cases)
        print(f"== {title}: {len(cases)} sentences, " + ", ".join(f"{c} {n}" for c, n in counts.most_common()))
        report(systems, cases, args.show_failures)
        speed(systems["ours"], cases)


def speed(normalize: Callable[[str], str], cases: list[tuple[str, str, str]], rounds: int = 5) -> None:
    """How fast ours reads the corpus (best of ``rounds``, the word lists already loaded)."""
    texts = [text for _, text, _ in cases]
    best = min(timed(normalize, texts) for _ in range(rounds))
    characters = sum(len(t) for t in texts)
    print(f"ours: {best:.2f} s for {len(texts)} sentences, {1000 * best / len(texts):.2f} ms a sentence, "
          f"{characters / best:,.0f} characters a second")


def timed(normalize: Callable[[str], str], texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        normalize(text)
    return time.perf_counter() - started


def report(systems: dict[str, Callable[[str], str]], cases: list[tuple[str, str, str]], show: bool) -> None:
    for name, normalize in systems.items():
        accuracy, failures = score(normalize, cases)
        lenient, _ = score(normalize, cases, lenient=True)
        by_category = Counter(category for category, *_ in failures)
        print(f"{name}: {accuracy:.1%} exactly right ({len(cases) - len(failures)}/{len(cases)}), "
              f"{lenient:.1%} allowing variants" + (f"; wrong by category: {dict(by_category)}" if failures else ""))
        if show:
            for category, text, expected, got in failures:
                print(f"  [{category}] {text}\n     expected: {expected}\n     got:      {got}")


if __name__ == "__main__":
    main()
