"""One worker process of the batch job's per-article pass: ``python -m pipeline.worker SPEC``.

``SPEC`` is a pickle written by ``pipeline.run.run_workers`` (this worker's share of the read plan, the
settings, the work and output folders, the Beam arguments); the worker runs ``pipeline.run.run_per_article``
over it and writes its counters to ``SPEC.counters.json``.
"""

from __future__ import annotations

import json
import os
import pickle
import sys


def main(argv: list[str]) -> int:
    from pipeline.logs import configure
    from pipeline.run import run_per_article

    configure()
    spec_path = argv[0]
    with open(spec_path, "rb") as fh:
        spec = pickle.load(fh)
    counters = run_per_article(spec["plan"], spec["settings"], spec["work_dir"], spec["out_dir"],
                               spec["beam_args"], spec["emit_articles"])
    tmp = spec_path + ".counters.json.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(counters, fh)
    os.replace(tmp, spec_path + ".counters.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
