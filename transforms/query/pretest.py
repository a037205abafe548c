"""Regular-expression pretests for sloppy phrases and NEAR over a field's spaced text.

In a field whose tokens are all ASCII (a ``HitField`` with ``all_ascii``), the padded text is the tokens
separated by runs of spaces, so a sloppy phrase or a NEAR of ASCII words is a regular expression over it:
one C-level search says whether the field can hold an occurrence before the token-counting path runs.
The expression is exact for words, prefixes and NEAR of single words, and a superset (every gap at most
the slop) for sloppy phrases of three or more words -- either way no occurrence is ever ruled out wrongly.

A :class:`Pretest` belongs to the compiled term that built it and compiles its expression on first use (most
terms never reach a field where it pays), so no process-wide table of expressions is kept.
"""

from __future__ import annotations

import re

from .analysis import Elem

__all__ = ["GAP_MAX", "Pretest", "near_pretest", "term_pretest"]

#: NEAR/N and ~N beyond this: no pretest (the expression would backtrack a lot)
GAP_MAX = 50


class Pretest:
    """A regular expression over a field's padded text that every occurrence of a term satisfies.

    ``inflects``: the term has an inflectable word; the expression starts its forms with the word's base,
    which a Polish form need not (``HitField.pretest`` then does not run it)."""

    __slots__ = ("_rx", "inflects", "source")

    def __init__(self, source: str, inflects: bool) -> None:
        self.source = source
        self.inflects = inflects
        self._rx: re.Pattern[str] | None = None

    def search(self, text: str) -> bool:
        """Whether ``text`` (a padded field text) may hold an occurrence."""
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile(self.source)
        return rx.search(text) is not None

    def __repr__(self) -> str:
        return f"Pretest({self.source!r})"


def _elem_rx(e: Elem) -> str:
    if not e.inflect:
        return re.escape(e.text) + ("[^ ]*" if e.prefix else "")
    # every form starts with the base (apart from Polish forms: ``Pretest.inflects``)
    return re.escape(e.base) + "[^ ]*"


def _atom_rx(pattern: tuple[Elem, ...], slop: int) -> str | None:
    if not pattern or slop > GAP_MAX or any(e.glued or not e.text.isascii() for e in pattern):
        return None
    gap = " +" if slop == 0 else f"(?: +[^ ]+){{0,{slop}}} +"
    return gap.join(_elem_rx(e) for e in pattern)


def term_pretest(pattern: tuple[Elem, ...], slop: int) -> Pretest | None:
    """The pretest of a sloppy phrase (``None`` for other terms, or when none applies)."""
    if not slop or len(pattern) <= 1:
        return None
    rx = _atom_rx(pattern, slop)
    return None if rx is None else Pretest(f" {rx}(?= )", any(e.inflect for e in pattern))


def near_pretest(left: tuple[tuple[Elem, ...], int], right: tuple[tuple[Elem, ...], int], n: int) -> Pretest | None:
    """The pretest of ``left NEAR/n right`` (each atom: its elements and slop), or ``None``."""
    a, b = _atom_rx(*left), _atom_rx(*right)
    if a is None or b is None or n > GAP_MAX:
        return None
    gap = f"(?: +[^ ]+){{0,{n}}} +"
    return Pretest(f" (?:{a}{gap}{b}|{b}{gap}{a})(?= )", any(e.inflect for e in left[0] + right[0]))
