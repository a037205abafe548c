"""Beam's DaskRunner (``apache_beam.runners.dask``), with the three fixes newswatch's batch job needs.

Beam 2.77's DaskRunner translates Create, ParDo, GroupByKey and Flatten to ``dask.bag`` operations, but:

1. a ParDo with several outputs (``with_outputs``: articles beside dead letters) hands *every* output to
   every consumer, mixed together — here each element keeps its output tag and each consumer takes only
   its own tag;
2. only the bag of the last transform visited is computed, so every other sink (dead letters, articles)
   never runs — here every leaf of the graph is computed, in one ``client.compute`` so shared work runs
   once;
3. ``metrics()`` raises ``NotImplementedError`` — here every ParDo bundle runs inside a Beam
   ``MetricsContainer`` and returns its counters beside its outputs; the result sums them, so the batch
   summary has the same counts as on the local runner.

Reshuffle stays an identity (Beam's override): Dask work is shared by partition, and the batch job puts
one input file in a partition (``--dask_partition_size 1`` unless the user chose a partitioning).
Everything else is Beam's own code; the class is used for ``--runner dask`` / ``DaskRunner``.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from apache_beam import pvalue
from apache_beam.metrics.execution import MetricKey, MetricResult, MetricsContainer
from apache_beam.metrics.metric import MetricResults
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.runners.dask import dask_runner as _dr
from apache_beam.runners.dask import transform_evaluator as _te
from apache_beam.transforms.sideinputs import SideInputMap

METRICS_TAG = "__newswatch_metrics__"


def _apply_dofn_keeping_tags(
    items: Any,
    transform: Any,
    label: str,
    window_fn: Any,
    side_inputs: Any,
    args: list[Any],
    kwargs: dict[str, Any],
) -> list[tuple[str | None, Any]]:
    """One Dask partition = one bundle: ``[(tag, WindowedValue), ...]`` plus ``(METRICS_TAG, counters)``."""
    from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, _OutputHandler
    from apache_beam.runners.worker import statesampler
    from apache_beam.transforms.core import DoFn
    from apache_beam.utils import counters as beam_counters

    receivers = _te.OneReceiver()
    handler = _OutputHandler(
        window_fn=window_fn,
        main_receivers=receivers[None],
        tagged_receivers=receivers,
        per_element_output_counter=None,
        output_batch_converter=None,
        process_yields_batches=False,
        process_batch_yields_elements=False,
    )
    invoker = DoFnInvoker.create_invoker(
        DoFnSignature(transform.fn),
        handler,
        context=DoFnContext(label, state=None),
        side_inputs=side_inputs,
        input_args=args,
        input_kwargs=kwargs,
        user_state_context=None,
        bundle_finalizer_param=DoFn.BundleFinalizerParam(),
    )
    container = MetricsContainer(label)
    sampler = statesampler.StateSampler("", beam_counters.CounterFactory())
    statesampler.set_current_tracker(sampler)
    try:
        with sampler.scoped_state(label, "process", metrics_container=container):
            invoker.invoke_setup()
            invoker.invoke_start_bundle()
            for item in items:
                invoker.invoke_process(_te.get_windowed_value(item, window_fn))
            invoker.invoke_finish_bundle()
            invoker.invoke_teardown()
    finally:
        statesampler.set_current_tracker(None)
    out: list[tuple[str | None, Any]] = [
        (v.tag, v.value) if isinstance(v, _te.TaggedOutput) else (None, v) for v in receivers.values
    ]
    counters = {
        (k.metric.namespace, k.metric.name): v for k, v in container.get_cumulative().counters.items()
    }
    if counters:
        out.append((METRICS_TAG, (label, counters)))
    return out


class _TaggedParDo(_te.ParDo):
    def apply(self, input_bag: Any, side_inputs: Any = None) -> Any:
        transform = self.transform
        args, kwargs = transform.raw_side_inputs
        main_input = next(iter(self.applied.main_inputs.values()))
        window_fn = main_input.windowing.windowfn if hasattr(main_input, "windowing") else None
        return input_bag.map_partitions(
            _apply_dofn_keeping_tags, transform, transform.label, window_fn, side_inputs, list(args), kwargs
        )


def _select(tag: str | None) -> Any:
    """The elements of one output, as plain values (batch: global window only), like Beam's own ParDo op."""

    def pick(items: Any) -> list[Any]:
        return [_te.defenestrate(v) for t, v in items if t == tag]

    return pick


class _Metrics(MetricResults):
    def __init__(self, totals: dict[tuple[str, str, str], int]) -> None:
        from apache_beam.metrics.metricbase import MetricName

        self.results = [
            MetricResult(MetricKey(step, MetricName(ns, name)), value, value)
            for (step, ns, name), value in totals.items()
        ]

    def query(self, filter: Any = None) -> dict[str, list[MetricResult]]:
        return {
            self.COUNTERS: [r for r in self.results if self.matches(filter, r.key)],
            self.DISTRIBUTIONS: [],
            self.GAUGES: [],
            self.STRINGSETS: [],
            self.BOUNDED_TRIES: [],
        }


@dataclasses.dataclass
class DaskRunnerResult(_dr.DaskRunnerResult):
    metric_futures: Any = None
    totals: dict[tuple[str, str, str], int] = dataclasses.field(default_factory=dict)

    def wait_until_finish(self, duration: Any = None) -> str:
        state = super().wait_until_finish(duration)
        if self.metric_futures is not None and not self.totals:
            for part in self.client.gather(self.metric_futures):
                for label, counters in part:
                    for (ns, name), value in counters.items():
                        key = (label, ns, name)
                        self.totals[key] = self.totals.get(key, 0) + int(value)
        return state

    def metrics(self) -> MetricResults:
        return _Metrics(self.totals)


class DaskRunner(_dr.DaskRunner):
    """Beam's DaskRunner with per-tag outputs, every sink computed, and counters (module docstring)."""

    def run_pipeline(self, pipeline: Any, options: Any) -> DaskRunnerResult:
        import dask.distributed as ddist

        dask_options = options.view_as(_dr.DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = _dr.DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        pipeline.replace_all(_dr.dask_overrides())
        visitor = _Visitor(bag_kwargs)
        pipeline.visit(visitor)
        leaves = [bag for node, bag in visitor.bags.items() if node not in visitor.consumed]
        metric_bags = [
            bag.map_partitions(_select(METRICS_TAG))
            for node, bag in visitor.bags.items()
            if node in visitor.tagged
        ]
        futures = client.compute([*leaves, *metric_bags])  # one graph: shared tasks run once
        return DaskRunnerResult(client, futures[: len(leaves)], metric_futures=futures[len(leaves) :])


class _Visitor(PipelineVisitor):
    def __init__(self, bag_kwargs: dict[str, Any]) -> None:
        self.bag_kwargs = bag_kwargs
        self.bags: dict[AppliedPTransform, Any] = collections.OrderedDict()
        self.tagged: set[AppliedPTransform] = set()  # producers whose bag holds (tag, value) pairs
        self.consumed: set[AppliedPTransform] = set()

    def _bag_of(self, pcoll: Any) -> Any:
        producer = pcoll.producer
        self.consumed.add(producer)
        bag = self.bags[producer]
        return bag.map_partitions(_select(pcoll.tag)) if producer in self.tagged else bag

    def visit_transform(self, node: AppliedPTransform) -> None:
        op_class = _te.TRANSLATIONS.get(node.transform.__class__, _te.NoOp)
        if op_class is _te.ParDo:
            op_class = _TaggedParDo
        op = op_class(node, bag_kwargs=self.bag_kwargs)
        kws: dict[str, Any] = {"input_bag": None, "side_inputs": None}
        inputs = list(node.inputs)
        if inputs:
            bags = [
                None if isinstance(i, pvalue.PBegin) else self._bag_of(i)
                for i in inputs
                if isinstance(i, pvalue.PBegin) or i.producer in self.bags
            ]
            kws["input_bag"] = bags[0] if len(bags) == 1 and not isinstance(op, _te.Flatten) else bags
        if node.side_inputs:
            kws["side_inputs"] = [
                SideInputMap(
                    type(si),
                    si._view_options(),
                    _te.DaskBagWindowedIterator(self._bag_of(si.pvalue), si._window_mapping_fn),
                )
                for si in node.side_inputs
            ]
        self.bags[node] = op.apply(**kws)
        if isinstance(op, _TaggedParDo):
            self.tagged.add(node)
