"""What every Beam stage of newswatch shares: the counter namespace, the dead-letter output, the stage result.

* ``NAMESPACE``: every counter of newswatch is in it (the batch summary and ``watch``'s report read it).
* ``counter(name)``: the counter ``name``, one object per name for the process (a Beam counter looks up the
  running step's metrics when it is incremented, so one object serves every step; names come from the code
  and the configuration's topic and rule ids: bounded).
* ``DEAD_LETTERS``: the tag of the tagged output that carries a stage's ``DeadLetter`` records.
* ``Outputs``: what a stage that can fail per item returns: its ``items`` and its ``dead_letters``;
  ``with_dead_letters`` applies such a DoFn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:   # Beam is imported where a stage is built, not by the per-item code that counts
    import apache_beam as beam

NAMESPACE = "newswatch"
DEAD_LETTERS = "dead_letters"

_COUNTERS: dict[str, Any] = {}


class _Counter:
    """A ``newswatch`` counter that imports Beam when it is first incremented (per-item code counts without
    making its importers load Beam: ``newswatch explain`` and ``hits`` never increment)."""

    __slots__ = ("_beam", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._beam: Any = None

    def inc(self, n: int = 1) -> None:
        if self._beam is None:
            from apache_beam.metrics import Metrics

            self._beam = Metrics.counter(NAMESPACE, self.name)
        self._beam.inc(n)


def counter(name: str) -> Any:
    """The ``newswatch`` counter ``name``."""
    c = _COUNTERS.get(name)
    if c is None:
        c = _COUNTERS[name] = _Counter(name)
    return c


class Outputs(NamedTuple):
    """A stage's results: ``items`` (what the stage makes: raw items, articles, tagged articles, alerts) and
    its ``dead_letters`` (``DeadLetter``, one per item the stage could not handle)."""

    items: beam.PCollection
    dead_letters: beam.PCollection


def with_dead_letters(pcoll: beam.PCollection, label: str, fn: beam.DoFn) -> Outputs:
    """``pcoll | label >> ParDo(fn)``, where ``fn`` yields items and ``TaggedOutput(DEAD_LETTERS, ...)``."""
    import apache_beam as beam

    results = pcoll | label >> beam.ParDo(fn).with_outputs(DEAD_LETTERS, main="items")
    return Outputs(results.items, results[DEAD_LETTERS])
