"""The batch job on a real Dask cluster (scheduler + two workers on 127.0.0.1) equals the local runner's; the
runner's fused stages feed shuffles, flattens and side inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import apache_beam as beam
import pytest

from .cli import ROOT, free_port, newswatch, read_jsonl, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BIN = Path(sys.executable).parent






def comparable(folder: Path) -> list[str]:
    """Alert JSON lines without the wall-clock ``created_at``, sorted."""
    out = []
    for rec in read_jsonl(folder):
        rec.pop("created_at")
        out.append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
    return sorted(out)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers; the workers run in a different directory from the
    client (inputs are given as absolute paths, as on a real cluster with a shared mount)."""
    if not (BIN / "dask").exists():
        pytest.skip("dask is not installed (pip install -e '.[dask]')")
    work = tmp_path_factory.mktemp("dask-work")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        wait_for_port(port)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(BIN / "dask"),
                        "worker",
                        f"127.0.0.1:{port}",
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    cwd=work,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(f"127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield f"127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Every input format, plus bad data, in one folder (absolute path)."""
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copytree(ROOT / "seeds", folder / "seeds")
    shutil.copy(
        ROOT / "tests" / "fixtures" / "warc" / "example-wrong-chunks.warc.gz", folder / "broken.warc.gz"
    )
    (folder / "empty.txt").write_bytes(b"")
    return folder.resolve()


def test_dask_alerts_equal_local(dask_cluster, inputs, tmp_path):
    local, dask = tmp_path / "local", tmp_path / "dask"
    r1 = newswatch("batch", str(inputs), "--out", str(local))
    assert r1.returncode == 0, r1.stderr
    r2 = newswatch(   # --workers is the local runner's: one driver gives Dask the whole plan
        "batch", str(inputs), "--out", str(dask), "--runner", "dask", "--dask_client_address", dask_cluster,
        "--workers", "2",
    )
    assert r2.returncode == 0, r2.stderr
    assert "applies to the local runner only" in r2.stderr
    want = comparable(local / "alerts")
    assert want and comparable(dask / "alerts") == want
    assert sorted(
        json.dumps({k: v for k, v in d.items() if k != "at"}, sort_keys=True)
        for d in read_jsonl(dask / "dead_letters")
    ) == sorted(
        json.dumps({k: v for k, v in d.items() if k != "at"}, sort_keys=True)
        for d in read_jsonl(local / "dead_letters")
    )
    s_local = json.loads((local / "summary.json").read_text())
    s_dask = json.loads((dask / "summary.json").read_text())
    assert s_dask["runner"] == "DaskRunner" and s_dask["counts_from"] == "metrics"
    assert s_dask["workers"] is None and s_local["workers"] == 1
    for key in (
        "items_read",
        "articles",
        "duplicates",
        "dead_letters",
        "dead_letters_by_stage",
        "alerts",
        "alerts_by_rule",
        "alerts_by_topic",
        "articles_by_topic",
    ):
        assert s_dask[key] == s_local[key], key


class _Split(beam.DoFn):
    """Multiples of 3 to ``threes``, the rest to the main output."""

    def process(self, x: int):
        yield beam.pvalue.TaggedOutput("threes", x) if x % 3 == 0 else x


class _WriteLines(beam.DoFn):
    """Each bundle's elements as lines of one file under ``folder`` named after ``name``."""

    def __init__(self, folder: str, name: str) -> None:
        self.folder, self.name = folder, name

    def start_bundle(self) -> None:
        self.lines: list[str] = []

    def process(self, x):
        self.lines.append(json.dumps(x))

    def finish_bundle(self) -> None:
        if self.lines:
            with open(os.path.join(self.folder, f"{self.name}-{uuid.uuid4().hex}.txt"), "w") as fh:
                fh.write("\n".join(self.lines) + "\n")


def test_fused_stages_feed_shuffles_flattens_and_side_inputs(dask_cluster, tmp_path):
    """pipeline/dask_runner.py fuses ParDos into stages: outputs that leave a stage (to a GroupByKey, a
    Flatten, a side input) still arrive whole and only at their own consumers, and every sink inside a stage
    runs."""
    from pipeline.run import make_options

    options, runner = make_options(["--runner", "dask", "--dask_client_address", dask_cluster,
                                    "--dask_partition_size", "7"])
    folder = str(tmp_path)

    def write(pcoll, name):
        return pcoll | f"Write{name}" >> beam.ParDo(_WriteLines(folder, name))

    with beam.Pipeline(runner=runner, options=options) as p:
        nums = p | beam.Create(list(range(40)))
        split = nums | "Split" >> beam.ParDo(_Split()).with_outputs("threes", main="rest")
        grouped = (split.rest | "Key" >> beam.Map(lambda x: (x % 2, x)) | beam.GroupByKey()
                   | "Sorted" >> beam.MapTuple(lambda k, vs: [k, sorted(vs)]))
        write(grouped, "grouped")
        both = (split.threes | "Negate" >> beam.Map(lambda x: -x),
                split.rest | "Small" >> beam.Filter(lambda x: x < 5)) | beam.Flatten()
        write(both, "flattened")
        write(nums | "WithThrees" >> beam.Map(lambda x, threes: [x, len(threes)],
                                             threes=beam.pvalue.AsList(split.threes)), "side")
        write(split.threes | "Twice" >> beam.Map(lambda x: 2 * x), "twice")

    def lines(name):
        return sorted((json.loads(line) for path in tmp_path.glob(f"{name}-*.txt")
                       for line in path.read_text().splitlines()), key=json.dumps)

    rest = [x for x in range(40) if x % 3]
    threes = [x for x in range(40) if x % 3 == 0]
    assert lines("grouped") == [[0, [x for x in rest if x % 2 == 0]], [1, [x for x in rest if x % 2]]]
    assert lines("flattened") == sorted([-x for x in threes] + [x for x in rest if x < 5], key=json.dumps)
    assert lines("side") == sorted(([x, len(threes)] for x in range(40)), key=json.dumps)
    assert lines("twice") == sorted((2 * x for x in threes), key=json.dumps)
