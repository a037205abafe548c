"""``pipeline.watch.bound_runner_metrics``: the in-process runner's metric totals of a streaming job stay the
same size however many ticks (bundles) it runs, instead of keeping every bundle's monitoring infos."""

from __future__ import annotations

import time
import types

import apache_beam as beam

from pipeline.run import make_options
from pipeline.watch import bound_runner_metrics
from transforms.watch.ticks import PollTicks


def run_ticks(seconds: float, interval: float = 0.05) -> dict:
    options, runner = make_options([], streaming=True)
    p = beam.Pipeline(runner=runner, options=options)
    (p | PollTicks(interval, deadline=time.time() + seconds)
       | "One" >> beam.Map(lambda t: t) | "Two" >> beam.Map(lambda t: t))
    result = p.run()
    result.wait_until_finish()
    return result._monitoring_infos_by_stage


def test_metric_totals_do_not_grow_with_the_ticks():
    bound_runner_metrics()
    bound_runner_metrics()                          # idempotent
    few, many = run_ticks(0.5), run_ticks(3.0)      # about 10 and 60 ticks
    for infos in (*few.values(), *many.values()):
        assert not isinstance(infos, types.GeneratorType)   # consumed each bundle, not a chain of all of them
    assert sum(map(len, many.values())) == sum(map(len, few.values()))
    counts = [i for infos in many.values() for i in infos if i.urn == "beam:metric:element_count:v1"]
    assert counts, "the totals are still there"
