"""Wall time of ``newswatch explain`` on one article, and where it goes (imports by top-level module).

    .venv/bin/python bench/bench_explain.py [--runs N]

Prints a table: per command the median and best wall time of N runs (a fresh process each, as a user runs
it), then the import time (``python -X importtime``) of the heaviest modules the command imports. Other
processes on the machine move these numbers: compare rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "seeds" / "000_1f939b5c64f92757.txt")
TEXT = "Washington imposed new tariffs on Chinese steel on Monday, and Beijing threatened to retaliate."
COMMANDS = {
    "seed file, every rule": ["explain", SEED],
    "seed file, --rule tariff-escalation": ["explain", SEED, "--rule", "tariff-escalation"],
    "--text, --query (no topic:)": ["explain", "--text", TEXT, "--query", "tariff* NEAR/5 steel"],
    "--text, --query topic:tariffs": ["explain", "--text", TEXT, "--query", "topic:tariffs AND retaliat*"],
    "(python -c 'import apache_beam')": None,
}
HEAVY = ("apache_beam", "transforms.analyze.boilerplate", "pipeline.logs", "schemas.config", "transforms.ingest.read",
         "transforms.query", "pipeline.explain")


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"{'command':<40} {'median s':>9} {'best s':>7}")
    for name, args in COMMANDS.items():
        argv = [sys.executable, "-c", "import apache_beam"] if args is None else [sys.executable, "-m",
                                                                                   "pipeline.cli", *args]
        times = [wall(argv) for _ in range(runs)]
        print(f"{name:<40} {statistics.median(times):>9.2f} {min(times):>7.2f}")
    text_query = COMMANDS["--text, --query (no topic:)"] or []
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline.cli", *text_query], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    cumulative: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (p.strip() for p in line.split("|"))
        if name in HEAVY and cum.isdigit():
            cumulative[name] = max(cumulative.get(name, 0), int(cum))
    print(f"\n{'import (cumulative, --text --query)':<40} {'ms':>9}")
    for name, us in sorted(cumulative.items(), key=lambda kv: -kv[1]):
        print(f"{name:<40} {us / 1000:>9.0f}")


if __name__ == "__main__":
    main()
