"""transforms.wiring: the stage result every per-item stage returns, and the shared counters."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.wiring import DEAD_LETTERS, NAMESPACE, Outputs, counter, with_dead_letters


class _HalfFn(beam.DoFn):
    def process(self, n: int) -> Iterator[object]:
        if n % 2:
            counter("wiring_test_odd").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, f"odd {n}")
        else:
            yield n // 2


def test_with_dead_letters_splits_items_from_dead_letters() -> None:
    p = test_pipeline.TestPipeline(runner="FnApiRunner")
    numbers = p | beam.Create([0, 1, 2, 3, 4])
    results = with_dead_letters(numbers, "Half", _HalfFn())
    again = with_dead_letters(numbers, "HalfAgain", _HalfFn())
    assert isinstance(results, Outputs)
    assert_that(results.items, equal_to([0, 1, 2]), label="items")
    assert_that(results.dead_letters, equal_to(["odd 1", "odd 3"]), label="dead")
    assert_that(again.items, equal_to([0, 1, 2]), label="again")
    result = p.run()
    result.wait_until_finish()
    odd = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name("wiring_test_odd"))["counters"]
    assert sum(c.committed for c in odd) == 4     # both stages count into the one named counter


def test_counter_is_one_object_per_name() -> None:
    assert counter("wiring_test_same") is counter("wiring_test_same")
    assert counter("wiring_test_same") is not counter("wiring_test_other")
