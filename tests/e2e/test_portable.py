"""The batch job through Beam's PortableRunner (the Flink/Spark/Dataflow protocol) against the Python job
service on loopback: alerts equal the local runner's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .cli import ROOT, newswatch
from .test_dask import comparable, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def job_endpoint(tmp_path_factory):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(port)],
        cwd=str(tmp_path_factory.mktemp("jobs")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"localhost:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_portable_alerts_equal_local(job_endpoint, tmp_path):
    seeds = str((ROOT / "seeds").resolve())
    local, portable = tmp_path / "local", tmp_path / "portable"
    r1 = newswatch("batch", seeds, "--out", str(local))
    assert r1.returncode == 0, r1.stderr
    r2 = newswatch(
        "batch",
        seeds,
        "--out",
        str(portable),
        "--runner",
        "portable",
        "--job_endpoint",
        job_endpoint,
        "--environment_type",
        "LOOPBACK",
    )
    assert r2.returncode == 0, r2.stderr
    want = comparable(local / "alerts")
    assert want and comparable(portable / "alerts") == want
    summary = json.loads((portable / "summary.json").read_text())
    assert summary["runner"] == "PortableRunner" and summary["alerts"] == len(want)
    assert {"warc", "html", "jsonl", "file"} <= {
        json.loads(line)["article"]["origin"]["kind"] for line in comparable(portable / "alerts")
    }
