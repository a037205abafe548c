"""Folding and spacing cost on English news text with typographic punctuation (curly quotes, dashes).

    .venv/bin/python bench/bench_fold.py

Generates (seeded) 300 articles of ~2 KB: news words with ~3% curly-quoted words, ~2% possessives with a
curly apostrophe, ~1% em dashes and ~1% an accented name -- what real English feeds look like -- and prints
the time per article of ``fold_with_offsets`` and ``spaced_text`` (the first steps of matching any article)
next to the same text with ASCII punctuation.
"""

from __future__ import annotations

import random
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ["the", "trade", "talks", "between", "washington", "and", "beijing", "resumed", "on", "monday", "said",
         "officials"]


def article(rng: random.Random, typographic: bool) -> str:
    out = []
    for _ in range(300):
        w = rng.choice(WORDS)
        r = rng.random()
        if r < 0.03:
            w = f"“{w}”" if typographic else f'"{w}"'
        elif r < 0.05:
            w = w + ("’s" if typographic else "'s")
        elif r < 0.06:
            w = "—" if typographic else "--"
        elif r < 0.07:
            w = "Société" if typographic else "Societe"
        out.append(w)
    return " ".join(out)


def main() -> int:
    from transforms.query.folding import fold_with_offsets
    from transforms.query.spacing import spaced_text

    print("| text | articles | fold_with_offsets µs | spaced_text µs |")
    print("| --- | ---: | ---: | ---: |")
    for typographic in (False, True):
        rng = random.Random(1)
        texts = [article(rng, typographic) for _ in range(300)]
        folded = [fold_with_offsets(t).folded for t in texts]
        t_fold = min(timeit.repeat(lambda ts=texts: [fold_with_offsets(t) for t in ts], number=1, repeat=5)) / 300
        t_space = min(timeit.repeat(lambda fs=folded: [spaced_text(f) for f in fs], number=1, repeat=5)) / 300
        name = "curly quotes, dashes, accents" if typographic else "ASCII punctuation"
        print(f"| {name} | {len(texts)} | {t_fold * 1e6:.1f} | {t_space * 1e6:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
