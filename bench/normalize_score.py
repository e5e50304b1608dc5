"""Score Vietnamese text normalizers on our corpus (tests/data/normalize_corpus.tsv).

A case counts as right when the output equals the expected reading, ignoring case, punctuation and spacing.
Run by hand:  .venv/bin/python bench/normalize_score.py [--show-failures] [--others]
``--others`` also scores vinorm and vietnormalizer when they are installed (pip install vinorm vietnormalizer).
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "normalize_corpus.tsv"


def load_corpus(path: Path = CORPUS) -> list[tuple[str, str, str]]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            category, text, expected = line.split("\t")
            cases.append((category, text, expected))
    return cases


VARIANTS = {"mồng": "mùng", "kí": "ki", "ký": "ki", "lẻ": "linh", "ngàn": "nghìn", "bay": "bai", "xăng": "xen"}
OPTIONAL = {"mùng", "phút", "số"}


def canonical(text: str, lenient: bool = False) -> str:
    """Lower case without punctuation; ``lenient`` also accepts spelling variants (kí lô / ki lô, lẻ / linh,
    ngàn / nghìn) and leaves out words a listener does not miss (mùng before a day, phút, số)."""
    text = unicodedata.normalize("NFC", text).lower()
    words = re.sub(r"[^\w\s]|_", " ", text).split()
    if lenient:
        words = [VARIANTS.get(w, w) for w in words]
        words = [w for w in words if w not in OPTIONAL]
    return " ".join(words)


def score(normalize: Callable[[str], str], cases: list[tuple[str, str, str]],
          lenient: bool = False) -> tuple[float, list[tuple[str, str, str, str]]]:
    """(share of cases right, failures as (category, text, expected, got))."""
    failures = []
    for category, text, expected in cases:
        try:
            got = normalize(text)
        except Exception as exc:  # a competitor crashing on a case counts as wrong
            got = f"<{exc.__class__.__name__}>"
        if canonical(got, lenient) != canonical(expected, lenient):
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
    args = parser.parse_args()
    cases = load_corpus()
    counts = Counter(category for category, _, _ in cases)
    print(f"corpus: {len(cases)} cases, " + ", ".join(f"{c} {n}" for c, n in counts.most_common()))
    systems: dict[str, Callable[[str], str]] = {"ours": Normalizer()}
    if args.others:
        systems.update(competitors())
    for name, normalize in systems.items():
        accuracy, failures = score(normalize, cases)
        lenient, _ = score(normalize, cases, lenient=True)
        by_category = Counter(category for category, *_ in failures)
        print(f"{name}: {accuracy:.1%} exactly right ({len(cases) - len(failures)}/{len(cases)}), "
              f"{lenient:.1%} allowing variants" + (f"; wrong by category: {dict(by_category)}" if failures else ""))
        if args.show_failures:
            for category, text, expected, got in failures:
                print(f"  [{category}] {text}\n     expected: {expected}\n     got:      {got}")


if __name__ == "__main__":
    main()
