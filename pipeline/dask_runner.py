"""Beam's DaskRunner (``apache_beam.runners.dask``), with the fixes newswatch's batch job needs.

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

4. every ParDo was its own ``map_partitions`` step and, with several outputs, its whole output list stayed
   in the worker's memory until every consumer had read its part (a partition's articles, tagged articles
   and alerts at once; breadth-first scheduling held many partitions so): here ParDos are fused into stages
   (``_Stage``: a ParDo without side inputs joins the stage of the ParDo whose output it reads), each run
   as one task per partition that pushes elements from DoFn to DoFn, as Beam's own bundle processor does;
   only outputs read by other transforms (GroupByKey, Flatten, side inputs) are kept. The batch job's
   per-article pass is then one stage: 100,000 short items on one Dask worker 151 s -> 91 s (one local
   process: 94 s), on two 84 s -> 58 s (``bench/bench_scale.py``). Upstream, Beam's DaskRunner would need
   this fusion (its translation has none) and tagged outputs per consumer.

Reshuffle stays an identity (Beam's override): Dask work is shared by partition, and the batch job puts
one input file in a partition (``--dask_partition_size 1`` unless the user chose a partitioning).
Everything else is Beam's own code; the class is used for ``--runner dask`` / ``DaskRunner``.
"""

from __future__ import annotations

import collections
import dataclasses
import uuid
from typing import Any

import dask
from apache_beam import pvalue
from apache_beam.metrics.execution import MetricKey, MetricResult, MetricsContainer
from apache_beam.metrics.metric import MetricResults
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.runners.common import Receiver
from apache_beam.runners.dask import dask_runner as _dr
from apache_beam.runners.dask import transform_evaluator as _te
from apache_beam.transforms.sideinputs import SideInputMap

METRICS_TAG = "__newswatch_metrics__"


@dataclasses.dataclass
class _Node:
    """One ParDo of a fused stage: its transform, and where each of its outputs goes inside the stage
    (``consumers``: tag -> node numbers) or out of it (``leaves``: the tags other transforms read)."""

    label: str
    transform: Any
    window_fn: Any
    args: list[Any]
    kwargs: dict[str, Any]
    consumers: dict[str | None, list[int]] = dataclasses.field(default_factory=dict)
    leaves: set[str | None] = dataclasses.field(default_factory=set)


class _Stage:
    """ParDos fused into one Dask task per partition: the first reads the stage's input bag, every other one
    reads an output of a node before it (``_Visitor``). Not a dataclass: Dask rebuilds dataclass arguments
    from their fields when the graph is made, and a stage still grows after that (``_Visitor._pardo``); its
    token is its own, so two stages that look alike are two tasks."""

    def __init__(self, first: _Node) -> None:
        self.nodes = [first]
        #: the first node's side inputs: (view class, view options, window mapping); their values come with
        #: each task (``_run_stage``)
        self.side_inputs: list[tuple[Any, Any, Any]] = []
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self.token


class _Drop(Receiver):  # type: ignore[misc]
    """A receiver for an output nobody reads."""

    def receive(self, windowed_value: Any) -> None:
        pass

    def receive_batch(self, windowed_batch: Any) -> None:
        pass


class _Push(Receiver):  # type: ignore[misc]
    """A receiver that hands each element to the consumers in the stage and keeps it when it leaves it."""

    def __init__(self, targets: list[Any], key: tuple[int, str | None] | None, out: list[Any]) -> None:
        self.targets = targets
        self.key = key
        self.out = out

    def receive(self, windowed_value: Any) -> None:
        for invoker in self.targets:
            invoker.invoke_process(windowed_value)
        if self.key is not None:
            self.out.append((self.key, windowed_value.value))

    def receive_batch(self, windowed_batch: Any) -> None:   # (no batched DoFns here)
        raise NotImplementedError("batched DoFn outputs on Dask")


class _Receivers(dict):  # type: ignore[type-arg]
    def __missing__(self, tag: str | None) -> _Drop:
        return _Drop()


class _SideValues:
    """A side input's values (computed once, as a dependency of the task) as ``SideInputMap`` iterates them."""

    def __init__(self, values: list[Any], window_fn: Any) -> None:
        self.values = values
        self.window_fn = window_fn

    def __iter__(self) -> Any:
        for value in self.values:
            yield _te.get_windowed_value(value, self.window_fn)


def _run_stage(items: Any, stage: _Stage, side_values: list[list[Any]]) -> list[tuple[Any, Any]]:
    """One Dask partition = one bundle through every ParDo of ``stage``, elements pushed from DoFn to DoFn
    (like Beam's own bundle processor): ``[((node, tag), value), ...]`` for the outputs that leave the stage,
    then ``(METRICS_TAG, (label, counters))`` (always: computing it runs the stage). ``side_values``: the
    values of the first node's side inputs."""
    from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, _OutputHandler
    from apache_beam.runners.worker import statesampler
    from apache_beam.transforms.core import DoFn
    from apache_beam.utils import counters as beam_counters

    out: list[tuple[Any, Any]] = []
    side_inputs = [SideInputMap(view, options, _SideValues(values, mapping))
                   for (view, options, mapping), values in zip(stage.side_inputs, side_values, strict=True)]
    invokers: list[Any] = [None] * len(stage.nodes)
    for i in reversed(range(len(stage.nodes))):   # consumers first: a receiver needs their invokers
        node = stage.nodes[i]
        receivers = _Receivers()
        for tag in set(node.consumers) | node.leaves:
            receivers[tag] = _Push([invokers[j] for j in node.consumers.get(tag, ())],
                                   (i, tag) if tag in node.leaves else None, out)
        handler = _OutputHandler(
            window_fn=node.window_fn,
            main_receivers=receivers[None],
            tagged_receivers=receivers,
            per_element_output_counter=None,
            output_batch_converter=None,
            process_yields_batches=False,
            process_batch_yields_elements=False,
        )
        invokers[i] = DoFnInvoker.create_invoker(
            DoFnSignature(node.transform.fn),
            handler,
            context=DoFnContext(node.label, state=None),
            side_inputs=side_inputs if i == 0 else None,
            input_args=node.args,
            input_kwargs=node.kwargs,
            user_state_context=None,
            bundle_finalizer_param=DoFn.BundleFinalizerParam(),
        )
    label = stage.nodes[0].label
    container = MetricsContainer(label)
    sampler = statesampler.StateSampler("", beam_counters.CounterFactory())
    statesampler.set_current_tracker(sampler)
    try:
        with sampler.scoped_state(label, "process", metrics_container=container):
            for invoker in invokers:
                invoker.invoke_setup()
                invoker.invoke_start_bundle()
            first, window_fn = invokers[0], stage.nodes[0].window_fn
            for item in items:
                first.invoke_process(_te.get_windowed_value(item, window_fn))
            for invoker in invokers:   # in stage order: what a finish_bundle emits reaches unfinished consumers
                invoker.invoke_finish_bundle()
            for invoker in invokers:
                invoker.invoke_teardown()
    finally:
        statesampler.set_current_tracker(None)
    counters = {
        (k.metric.namespace, k.metric.name): v for k, v in container.get_cumulative().counters.items()
    }
    out.append((METRICS_TAG, (label, counters)))
    return out


def _concat(parts: Any) -> list[Any]:
    return [value for part in parts for value in part]


def _select(key: Any) -> Any:
    """The values under one key of a stage's outputs (plain values: batch, global window only)."""

    def pick(items: Any) -> list[Any]:
        return [v for k, v in items if k == key]

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
    """Beam's DaskRunner with fused ParDo stages, per-tag outputs, every sink computed, and counters (module
    docstring)."""

    def run_pipeline(self, pipeline: Any, options: Any) -> DaskRunnerResult:
        import dask.distributed as ddist

        dask_options = options.view_as(_dr.DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = _dr.DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        pipeline.replace_all(_dr.dask_overrides())
        visitor = _Visitor(bag_kwargs)
        pipeline.visit(visitor)
        leaves = [bag for node, bag in visitor.bags.items() if node not in visitor.consumed]
        metric_bags = [bag.map_partitions(_select(METRICS_TAG)) for bag in visitor.stage_bags]
        futures = client.compute([*leaves, *metric_bags])  # one graph (optimized together): shared tasks run once
        return DaskRunnerResult(client, futures[: len(leaves)], metric_futures=futures[len(leaves) :])


class _Visitor(PipelineVisitor):
    """Translates the pipeline to Dask bags. ParDos are fused into stages (``_Stage``): a ParDo without side
    inputs whose main input another ParDo produces joins that ParDo's stage, so a chain (and its branches:
    dead letters beside articles) is one task per partition and only what leaves a stage is materialized.
    Other transforms (Create, GroupByKey, Flatten) are Beam's translations."""

    def __init__(self, bag_kwargs: dict[str, Any]) -> None:
        self.bag_kwargs = bag_kwargs
        self.bags: dict[AppliedPTransform, Any] = collections.OrderedDict()   # non-ParDo transforms' bags
        self.consumed: set[AppliedPTransform] = set()
        self.stage_of: dict[AppliedPTransform, tuple[_Stage, int, Any]] = {}   # ParDo -> stage, node, bag
        self.stage_bags: list[Any] = []

    def _bag_of(self, pcoll: Any) -> Any:
        producer = pcoll.producer
        if producer in self.stage_of:   # an output leaving its stage
            stage, i, bag = self.stage_of[producer]
            stage.nodes[i].leaves.add(pcoll.tag)
            return bag.map_partitions(_select((i, pcoll.tag)))
        self.consumed.add(producer)
        return self.bags[producer]

    def visit_transform(self, node: AppliedPTransform) -> None:
        op_class = _te.TRANSLATIONS.get(node.transform.__class__, _te.NoOp)
        if op_class is _te.ParDo:
            self._pardo(node)
            return
        op = op_class(node, bag_kwargs=self.bag_kwargs)
        kws: dict[str, Any] = {"input_bag": None, "side_inputs": None}
        inputs = list(node.inputs)
        if inputs:
            bags = [
                None if isinstance(i, pvalue.PBegin) else self._bag_of(i)
                for i in inputs
                if isinstance(i, pvalue.PBegin) or i.producer in self.bags or i.producer in self.stage_of
            ]
            kws["input_bag"] = bags[0] if len(bags) == 1 and not isinstance(op, _te.Flatten) else bags
        self.bags[node] = op.apply(**kws)

    def _pardo(self, node: AppliedPTransform) -> None:
        transform = node.transform
        args, kwargs = transform.raw_side_inputs
        main_input = next(iter(node.main_inputs.values()))
        window_fn = main_input.windowing.windowfn if hasattr(main_input, "windowing") else None
        me = _Node(transform.label, transform, window_fn, list(args), kwargs)
        producer = main_input.producer
        if not node.side_inputs and producer in self.stage_of:   # fused into its producer's stage
            stage, i, bag = self.stage_of[producer]
            stage.nodes[i].consumers.setdefault(main_input.tag, []).append(len(stage.nodes))
            self.stage_of[node] = (stage, len(stage.nodes), bag)
            stage.nodes.append(me)
            return
        stage = _Stage(me)
        # a side input's values are a dependency of each task, computed once in the graph (Beam's translation
        # computed the bag again inside every task: a fused stage's sinks would run again)
        side_values = []
        for si in node.side_inputs:
            stage.side_inputs.append((type(si), si._view_options(), si._window_mapping_fn))
            parts = self._bag_of(si.pvalue).to_delayed(optimize_graph=False)   # (optimized: renamed, run twice)
            side_values.append(dask.delayed(_concat)(parts))
        # (the stage object is filled in as the visit goes on; Dask reads it when the graph is computed)
        bag = self._bag_of(main_input).map_partitions(_run_stage, stage, side_values, token="newswatch-stage")
        self.stage_of[node] = (stage, 0, bag)
        self.stage_bags.append(bag)
