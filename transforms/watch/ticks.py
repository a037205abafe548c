"""The watch clock: ``PollTicks``, an unbounded PCollection of tick timestamps that can be stopped.

``PollTicks`` is ``PeriodicImpulse``'s splittable DoFn with two additions: it returns for good (claiming
the rest of its restriction) once a stop file exists or a deadline passes (``stop_requested``), which is how
``newswatch watch`` ends on SIGINT/SIGTERM or ``--duration``; and it naps until the next tick (in steps of at
most ``NAP`` seconds, checking the stop file) instead of deferring at once, because the in-process
FnApiRunner re-invokes a deferred residual immediately (a busy loop: about half a core, measured). Each tick
is its own bundle, so the per-bundle sinks write their files after every tick. What a tick does is
``transforms.watch.source``'s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms.periodicsequence import ImpulseSeqGenRestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp

NAP = 0.2                     # seconds between stop checks while waiting for the next tick
FOREVER = 10 * 365 * 86400    # the restriction of an open-ended run


def stop_requested(stop_file: str | None, deadline: float | None, now: float | None = None) -> bool:
    return bool((stop_file and os.path.exists(stop_file))
                or (deadline is not None and (now if now is not None else time.time()) >= deadline))


class _TickFn(beam.DoFn):
    """``PeriodicImpulse``'s generator, stoppable (see the module docstring)."""

    def __init__(self, stop_file: str | None, deadline: float | None) -> None:
        self.stop_file = stop_file
        self.deadline = deadline

    @beam.DoFn.unbounded_per_element()
    def process(self, element: tuple[Timestamp, Timestamp, float],
                tracker: Any = beam.DoFn.RestrictionParam(ImpulseSeqGenRestrictionProvider()),
                watermark: Any = beam.DoFn.WatermarkEstimatorParam(
                    ManualWatermarkEstimator.default_provider())
                ) -> Iterator[TimestampedValue]:
        start, _, interval = element
        first = start.micros / 1e6
        restriction: OffsetRange = tracker.current_restriction()
        index = restriction.start
        due = first + interval * index
        while time.time() < due and not stop_requested(self.stop_file, self.deadline):
            time.sleep(max(0.0, min(NAP, due - time.time())))
        if stop_requested(self.stop_file, self.deadline):
            tracker.try_claim(restriction.stop - 1)   # claim the rest: the source ends
            return
        if not tracker.try_claim(index):
            return
        stamp = Timestamp(due)
        if watermark.current_watermark() is None or stamp > watermark.current_watermark():
            watermark.set_watermark(stamp)
        yield TimestampedValue(stamp, stamp)
        next_due = Timestamp(first + interval * (index + 1))
        tracker.defer_remainder(next_due)             # one tick per bundle: sinks flush after every tick


class PollTicks(beam.PTransform):
    """An unbounded PCollection of tick timestamps every ``interval`` seconds, until ``stop_file`` exists
    or ``deadline`` (epoch seconds) passes."""

    def __init__(self, interval: float = 1.0, *, stop_file: str | None = None,
                 deadline: float | None = None) -> None:
        super().__init__()
        self.interval = interval
        self.stop_file = stop_file
        self.deadline = deadline

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        interval, deadline = self.interval, self.deadline

        def span(_: bytes) -> tuple[Timestamp, Timestamp, float]:
            now = Timestamp.now()
            end = Timestamp(deadline) + Duration(interval) if deadline else now + Duration(FOREVER)
            return (now, max(end, now + Duration(interval)), interval)

        return (pbegin
                | "Impulse" >> beam.Impulse()
                | "Span" >> beam.Map(span)
                | "GenTicks" >> beam.ParDo(_TickFn(self.stop_file, deadline)))
