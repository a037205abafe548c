"""The batch job at scale: 20k / 100k / 300k articles, 1 and 2 local workers, a loopback Dask cluster, 5,000 rules.

    .venv/bin/python bench/bench_scale.py                  # 20k, 100k, 300k; short and long items (hours)
    .venv/bin/python bench/bench_scale.py --quick          # 2k and 6k, a smoke run of a few minutes
    .venv/bin/python bench/bench_scale.py --sizes 20000,100000 --kind short --timeout 1800

One run of this script gives every number below (the machine is shared: compare rows of one run, not runs).

Archives. Two kinds, generated deterministically (seeded RNG, news vocabulary of ``bench_match.py``, the
trade terms of ``bench_batch.py``, entity names), each a folder of JSONL files of ``--shard-articles``
articles (a day's dump, say; on Dask a file is a partition, so one big file would leave a worker idle):

* ``short``: feed items, ~820 bytes a line (title, summary, link, feed, RFC 2822 ``pubDate``); summaries
  log-normal, mean ~560 characters (10-90%: 300-870; 150-2,600);
* ``long``: articles, ~4 KB a line (title, body, url, source, ISO ``published_at``, authors); bodies
  log-normal, mean ~3,700 characters (10-90%: 2,100-5,700; 1,200-14,000).

Every item names 1-5 entities (from a pool of ``POOL`` names: companies, people, a few accented and Chinese
names), a quarter carry 1-3 trade terms (so the bundled rules alert), 3% are syndicated copies of a recent
item (other outlet, a line added: stories and ``once_per_story`` have work), half carry a language field.
Archives are cached under ``--cache-dir`` (default ``$TMPDIR/newswatch-bench-scale``), one folder per
(kind, size, shard size, seed, generator version), and reused.

Runs. Each run is ``newswatch batch ARCHIVE --out TMP`` as a subprocess, bundled config unless said:

* ``local --workers 1`` / ``--workers 2``: the local runner's per-article pass in 1 or 2 processes, when
  ``newswatch batch --help`` lists ``--workers``; otherwise these rows say ``n/a (no --workers)`` and a row
  ``local`` (no options: then one process) is run instead;
* ``dask 1 worker`` / ``dask 2 workers``: ``--runner dask --dask_client_address 127.0.0.1:PORT`` against a
  fresh ``dask scheduler`` and ``dask worker --nworkers 1 --nthreads 1`` processes on 127.0.0.1, started before
  the run (not timed) and stopped after it;
* alert-heavy, on the ``--alert-size`` archive of each kind (default: the smallest size): the bundled
  taxonomy with the first 10 of the generated entity rules (``bench_match.rules``) vs the same taxonomy with
  5,000 of them (the pool is sized so that they raise ~25 alerts an article), both ``--workers 1``.

Columns: ``wall s`` from start to exit of the process (imports and setup included); ``CPU s`` user + system
seconds of the same tree (newswatch and the workers it forks; the Dask processes' own CPU during the run), which
other load on the machine does not inflate as it does wall time; ``articles`` and
``alerts`` from ``summary.json``; ``articles/s`` = articles / wall s; ``MB/s`` = archive bytes / wall s;
``peak RSS`` the largest sum of resident memory over the process tree (newswatch and all its children, plus
the Dask scheduler, nannies and workers in Dask runs), sampled every 0.2 s (a page that forked workers share
counts in each). A run that fails or times out (``--timeout`` seconds) is a row with its error.

Then the ratios the targets are stated in: peak RSS at the largest / smallest size (<= 1.2), 2 workers vs 1
worker articles/s (>= 1.7) and 2 workers' articles/s (>= 3,000/s short, >= 1,200/s long), Dask 2 vs 1 worker
(>= 1.7), Dask 1 worker vs one local process (>= 0.7), 5,000 vs 10 rules' wall time (<= 2x) with the alerts an article
reached; and whether the alert ids (sorted) are identical across the runs over one archive.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_batch import HOT  # noqa: E402
from bench_match import COMMON, entities  # noqa: E402
from bench_match import rules as entity_rules  # noqa: E402

from tests.e2e.cli import free_port, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent
GEN_VERSION = 2
POOL = 450            # entity names; 5,000 rules over them give ~25 alerts an article (printed: what was reached)
HEAVY_RULES = 5000
BASE_RULES = 10
SAMPLE_S = 0.2


@dataclass(frozen=True)
class Kind:
    words: int                  # median words of a body (log-normal)
    sigma: float
    clip: tuple[int, int]       # fewest and most words of a body
    title: tuple[int, int]      # words of a title


KINDS = {"short": Kind(66, 0.45, (22, 360), (6, 12)), "long": Kind(480, 0.4, (170, 2000), (8, 15))}
OUTLETS = ["Example Wire", "Daily Example", "Example Times", "Sample Post", "Metro Example", "Example Herald",
           "Business Example", "Example Ledger"]
AUTHORS = ["Jane Doe", "John Roe", "Ana Silva", "Wei Chen", "Olga Ivanova", "Tom Becker", "Priya Nair"]
START = datetime(2024, 1, 1, tzinfo=UTC)
CODE = ROOT           # the newswatch source tree the runs use (--code)


# --- archives ---------------------------------------------------------------------------------------------


def _sentences(words: list[str]) -> str:
    parts = (" ".join(words[j:j + 16]) for j in range(0, len(words), 16))
    return ". ".join(p[:1].upper() + p[1:] for p in parts) + "."


def _items(kind: str, n: int, seed: int) -> Iterator[dict]:
    """``n`` items of ``kind``; the same (kind, seed) gives the same stream (a smaller archive is a prefix)."""
    spec = KINDS[kind]
    rng = random.Random(f"{kind}-{seed}")
    pool = entities(POOL, random.Random(seed))
    recent: list[tuple[str, str]] = []
    mu = math.log(spec.words)
    lo, hi = spec.clip
    for i in range(n):
        when = START + timedelta(seconds=30 * i)
        source = rng.choice(OUTLETS)
        if recent and rng.random() < 0.03:   # a syndicated copy of a recent item, another outlet
            title, body = rng.choice(recent)
            body = f"{body} {rng.choice(['Reporting by', 'Additional reporting by', 'Editing by'])} " \
                   f"{rng.choice(AUTHORS)}."
        else:
            count = min(hi, max(lo, int(rng.lognormvariate(mu, spec.sigma))))
            words = rng.choices(COMMON, k=count)
            names = rng.sample(pool, rng.randint(1, 5))
            for name in names:
                for _ in range(1 if kind == "short" else rng.randint(1, 3)):
                    words.insert(rng.randrange(len(words)), name)
            if rng.random() < 0.25:
                for _ in range(rng.randint(1, 3)):
                    words.insert(rng.randrange(len(words)), rng.choice(HOT))
            body = _sentences(words)
            title = " ".join(rng.choices(COMMON, k=rng.randint(*spec.title)))
            title = title[:1].upper() + title[1:]
            if rng.random() < 0.3:
                title = f"{names[0]} {title[:1].lower()}{title[1:]}"
            recent.append((title, body))
            if len(recent) > 200:
                recent.pop(0)
        lang = "en" if i % 2 else None
        if kind == "short":
            yield {"guid": f"urn:feed:{i}", "title": title, "summary": body,
                   "link": f"https://feeds.example.com/{source.split()[-1].lower()}/{i}",
                   "feed": {"title": source}, "pubDate": format_datetime(when), "language": lang}
        else:
            yield {"id": f"a{i}", "title": title, "body": body,
                   "url": f"https://news.example.com/{when:%Y/%m/%d}/{i}", "source": source,
                   "published_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "language": lang,
                   "authors": rng.sample(AUTHORS, rng.randint(1, 2))}


@dataclass
class Archive:
    kind: str
    articles: int
    path: Path
    bytes: int
    files: int


def archive(cache: Path, kind: str, n: int, shard: int, seed: int) -> Archive:
    """The cached archive folder of ``kind`` and size ``n`` (generated on first use)."""
    folder = cache / f"{kind}-{n}-shard{shard}-seed{seed}-v{GEN_VERSION}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        fh = None
        for i, item in enumerate(_items(kind, n, seed)):
            if i % shard == 0:
                if fh:
                    fh.close()
                fh = open(folder / f"part-{i // shard:05d}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            assert fh is not None
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        if fh:
            fh.close()
        done.write_text("")
        log(f"generated {folder.name} in {time.perf_counter() - t0:.0f} s")
    files = sorted(folder.glob("*.jsonl"))
    return Archive(kind, n, folder.resolve(), sum(f.stat().st_size for f in files), len(files))


# --- runs ---------------------------------------------------------------------------------------------------


@dataclass
class Row:
    run: str
    kind: str
    size: int
    articles: int | None = None
    wall: float | None = None
    mb: float = 0.0
    peak: int | None = None
    cpu: float | None = None      # CPU seconds (user + system) of the process tree
    alerts: int | None = None
    error: str | None = None
    ids: str | None = None        # sha256 of the sorted alert ids
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.articles / self.wall if self.articles is not None and self.wall else None


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _tree(procs: list[psutil.Process]) -> list[psutil.Process]:
    out: dict[int, psutil.Process] = {}
    for p in procs:
        with contextlib.suppress(psutil.Error):
            out[p.pid] = p
            for c in p.children(recursive=True):
                out[c.pid] = c
    return list(out.values())


def _rss(procs: list[psutil.Process]) -> int:
    total = 0
    for p in _tree(procs):
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in _tree(procs):
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _kill_tree(proc: subprocess.Popen) -> None:
    with contextlib.suppress(psutil.Error):
        kids = psutil.Process(proc.pid).children(recursive=True)
        for k in kids:
            with contextlib.suppress(psutil.Error):
                k.kill()
    proc.kill()
    proc.wait()


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (newswatch and the workers it waited for)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def newswatch_cmd() -> list[str]:
    exe = BIN / "newswatch"
    return [str(exe)] if exe.exists() and CODE == ROOT else [sys.executable, "-m", "pipeline.cli"]


def run_env() -> dict[str, str]:
    """The environment of newswatch and the Dask processes: ``CODE`` first on the path."""
    path = os.pathsep.join(p for p in (str(CODE), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore"}


def has_workers_flag() -> bool:
    r = subprocess.run([*newswatch_cmd(), "batch", "--help"], capture_output=True, text=True, env=run_env(),
                       cwd=tempfile.gettempdir())
    return "--workers" in r.stdout


def write_config(path: Path, rules: list[tuple[str, str]]) -> None:
    """The bundled configuration with its rules replaced by ``rules`` (id, query)."""
    import yaml

    base = yaml.safe_load((CODE / "config" / "newswatch.yaml").read_text(encoding="utf-8"))
    base["rules"] = [{"id": rid, "query": q, "severity": "medium"} for rid, q in rules]
    path.write_text(yaml.safe_dump(base, allow_unicode=True, sort_keys=False), encoding="utf-8")


def alert_digest(folder: Path) -> tuple[str, int]:
    ids: list[str] = []
    for path in folder.glob("*.jsonl"):
        with open(path, encoding="utf-8") as fh:
            ids.extend(json.loads(line)["alert_id"] for line in fh if line.strip())
    ids.sort()
    return hashlib.sha256("\n".join(ids).encode()).hexdigest(), len(ids)


def run(row: Row, arch: Archive, args: list[str], timeout: float, work: Path,
        also: list[psutil.Process] | None = None) -> Row:
    """``newswatch batch`` over ``arch`` with ``args``; fills ``row`` (an error instead of numbers on failure)."""
    out = Path(tempfile.mkdtemp(prefix="out-", dir=work))
    err = out.with_suffix(".stderr")
    env = run_env()
    cmd = [*newswatch_cmd(), "batch", str(arch.path), "--out", str(out), *args]
    log(f"{row.kind} {row.size}: {row.run} ...")
    with open(err, "wb") as errfh:
        cpu0 = _cpu(also or []) + _children_cpu()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=errfh)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            procs = [psutil.Process(proc.pid), *(also or [])]
            while not stop.is_set():
                peak = max(peak, _rss(procs))
                stop.wait(SAMPLE_S)

        with contextlib.suppress(psutil.Error):
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            _kill_tree(proc)
        except BaseException:       # interrupted: leave no newswatch behind
            _kill_tree(proc)
            raise
        row.wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        row.cpu = _cpu(also or []) + _children_cpu() - cpu0
    row.peak = peak or None
    row.mb = arch.bytes / 1e6
    try:
        if rc is None:
            row.error = f"timeout after {timeout:.0f} s"
        elif rc != 0:
            tail = [ln for ln in err.read_text(errors="replace").splitlines() if ln.strip()][-1:]
            row.error = f"exit {rc}: {tail[0][:150] if tail else ''}"
        else:
            summary = json.loads((out / "summary.json").read_text())
            row.articles, row.alerts = summary["articles"], summary["alerts"]
            row.extra["workers"] = summary.get("workers")
            row.ids, n_ids = alert_digest(out / "alerts")
            if n_ids != row.alerts:
                row.extra["alert lines"] = n_ids
    except Exception as exc:  # a broken output is this row's error, not the bench's
        row.error = f"{type(exc).__name__}: {exc}"
    if row.error:
        row.wall = None if rc is None else row.wall
        log(f"  {row.error}")
    else:
        log(f"  {row.wall:.1f} s, {row.articles} articles, {row.alerts} alerts, peak {mib(row.peak)}, "
            f"workers {row.extra.get('workers')}")
    shutil.rmtree(out, ignore_errors=True)
    return row






@contextlib.contextmanager
def dask_cluster(workers: int, work: Path) -> Iterator[tuple[str, list[psutil.Process]]]:
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1 (their own directory, like
    ``tests/e2e/test_dask.py``); yields the address and the processes to count memory of."""
    dask = BIN / "dask"
    if not dask.exists():
        raise RuntimeError("dask is not installed (pip install -e '.[dask]')")
    port = free_port()
    cwd = Path(tempfile.mkdtemp(prefix="dask-", dir=work))
    quiet = {"cwd": cwd, "env": run_env(), "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0", "--no-show"], **quiet)]  # type: ignore[call-overload]
    try:
        wait_for_port(port)
        for _ in range(workers):
            procs.append(subprocess.Popen([str(dask), "worker", f"127.0.0.1:{port}", "--nworkers", "1",
                                           "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                          **quiet))  # type: ignore[call-overload]
        from distributed import Client

        with Client(f"127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(workers, timeout=90)
        yield f"127.0.0.1:{port}", [psutil.Process(p.pid) for p in procs]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _kill_tree(p)
        shutil.rmtree(cwd, ignore_errors=True)


def run_dask(row: Row, arch: Archive, workers: int, timeout: float, work: Path, config: list[str]) -> Row:
    try:
        with dask_cluster(workers, work) as (address, procs):
            return run(row, arch, [*config, "--runner", "dask", "--dask_client_address", address], timeout, work,
                       also=procs)
    except Exception as exc:
        row.error = f"cluster: {type(exc).__name__}: {exc}"
        log(f"  {row.error}")
        return row


# --- report -------------------------------------------------------------------------------------------------


def mib(n: int | None) -> str:
    return f"{n / 2**20:,.0f} MiB" if n else "-"


def table(rows: list[Row]) -> str:
    head = ("run", "articles", "wall s", "CPU s", "articles/s", "MB/s", "peak RSS", "alerts")
    lines = ["| " + " | ".join(head) + " |", "| --- | " + " | ".join("---:" for _ in head[1:]) + " |"]
    for r in rows:
        name = f"{r.kind} {r.size:,}: {r.run}"
        if r.error:
            lines.append(f"| {name} | {r.error} | | | | | {mib(r.peak)} | |")
            continue
        rate = r.rate or 0.0
        wall = r.wall or 0.0
        lines.append(f"| {name} | {r.articles:,} | {wall:.1f} | {fmt(r.cpu, '.1f')} | {rate:,.0f} | "
                     f"{r.mb / wall:.2f} | {mib(r.peak)} | {r.alerts:,} |")
    return "\n".join(lines)


def verdict(value: float | None, target: float, at_least: bool) -> str:
    if value is None:
        return "n/a"
    ok = value >= target if at_least else value <= target
    return "met" if ok else "MISSED"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None, spec: str = ".2f") -> str:
    return format(x, spec) if x is not None else "n/a"


def report(rows: list[Row], kinds: list[str], sizes: list[int], heavy: dict[str, tuple[Row, Row, Row | None]],
           workers_flag: bool) -> None:
    def get(kind: str, size: int, run_name: str) -> Row | None:
        for r in rows:
            if r.kind == kind and r.size == size and r.run == run_name and not r.error:
                return r
        return None

    lo, hi = min(sizes), max(sizes)
    print("\nratios (targets in brackets):")
    for kind in kinds:
        print(f"\n{kind}:")
        for name in ("local", "local --workers 1", "local --workers 2", "dask 1 worker", "dask 2 workers"):
            if not any(r.run == name and r.kind == kind and r.error != "n/a (no --workers)" for r in rows):
                continue
            a, b = get(kind, hi, name), get(kind, lo, name)
            q = ratio(a.peak if a else None, b.peak if b else None)
            print(f"  peak RSS {hi:,} / {lo:,}, {name}: {fmt(q)} (<= 1.2: {verdict(q, 1.2, False)})")
        for size in sizes:
            w1, w2 = get(kind, size, "local --workers 1"), get(kind, size, "local --workers 2")
            q = ratio(w2.rate if w2 else None, w1.rate if w1 else None)
            print(f"  {size:,}: 2 workers / 1 worker articles/s: {fmt(q)} (>= 1.7: {verdict(q, 1.7, True)})")
        w2 = get(kind, hi, "local --workers 2")
        want = 3000 if kind == "short" else 1200
        print(f"  {hi:,}: 2 workers articles/s: {fmt(w2.rate if w2 else None, ',.0f')} "
              f"(>= {want:,}: {verdict(w2.rate if w2 else None, want, True)})")
        for size in sizes:
            # one local process: --workers 1 where newswatch has it, else the default (one process before it)
            one = "local --workers 1" if workers_flag else "local"
            d1, d2, loc = get(kind, size, "dask 1 worker"), get(kind, size, "dask 2 workers"), get(kind, size, one)
            q = ratio(d2.rate if d2 else None, d1.rate if d1 else None)
            q1 = ratio(d1.rate if d1 else None, loc.rate if loc else None)
            print(f"  {size:,}: dask 2 / dask 1 worker: {fmt(q)} (>= 1.7: {verdict(q, 1.7, True)}); "
                  f"dask 1 worker / {one}: {fmt(q1)} (>= 0.7: {verdict(q1, 0.7, True)})")
        if kind in heavy:
            base, many, default = heavy[kind]
            q = ratio(many.wall if not many.error else None, base.wall if not base.error else None)
            per = many.alerts / many.articles if many.alerts is not None and many.articles else None
            per0 = base.alerts / base.articles if base.alerts is not None and base.articles else None
            print(f"  alert-heavy ({base.size:,} articles): {HEAVY_RULES:,} rules / {BASE_RULES} rules wall time: "
                  f"{fmt(q)} (<= 2: {verdict(q, 2, False)}); alerts/article reached: {fmt(per, '.1f')} "
                  f"({BASE_RULES} rules: {fmt(per0)})")
            if default is not None:
                qd = ratio(many.wall if not many.error else None, default.wall)
                print(f"    {HEAVY_RULES:,} rules / bundled config ({default.run}): {fmt(qd)}")
        for size in sizes:
            runs = [r for r in rows if r.kind == kind and r.size == size and not r.error and r.ids
                    and not r.run.startswith("alert-heavy")]
            same = len({r.ids for r in runs}) == 1
            print(f"  {size:,}: alerts identical across {', '.join(r.run for r in runs) or 'no runs'}: "
                  f"{'yes' if same and len(runs) > 1 else 'no' if runs else 'n/a'}"
                  + ("" if same else "  (" + "; ".join(f"{r.run}: {r.alerts}" for r in runs) + ")"))


# --- main ---------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--sizes", default="20000,100000,300000", help="archive sizes, comma-separated")
    ap.add_argument("--kind", choices=["short", "long", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="sizes 2000,6000 (a smoke run)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    ap.add_argument("--shard-articles", type=int, default=5000, help="articles per JSONL file of an archive")
    ap.add_argument("--alert-size", type=int, default=None, help="archive size of the alert-heavy runs "
                    "(default: the smallest size; 0: skip them)")
    ap.add_argument("--skip", default="", help="runs to skip, comma-separated: local,workers,dask,heavy")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "newswatch-bench-scale"))
    ap.add_argument("--code", default=str(ROOT), help="newswatch source tree to run (default: this one), e.g. "
                    "an unpacked `git archive HEAD`, so that edits made meanwhile do not change the runs")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that the runs and clusters are torn down
    global CODE
    CODE = Path(args.code).resolve()
    sizes = [2000, 6000] if args.quick else sorted(int(s) for s in args.sizes.split(",") if s.strip())
    shard = 1000 if args.quick and args.shard_articles == 5000 else args.shard_articles
    kinds = ["short", "long"] if args.kind == "both" else [args.kind]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    alert_size = sizes[0] if args.alert_size is None else args.alert_size
    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    workers_flag = has_workers_flag()
    print(f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start; --workers: "
          f"{'yes' if workers_flag else 'no'}; code {CODE}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    rows: list[Row] = []
    heavy: dict[str, tuple[Row, Row, Row | None]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        base_cfg, heavy_cfg = work / "rules-10.yaml", work / "rules-5000.yaml"
        pool = entities(POOL, random.Random(args.seed))
        all_rules = entity_rules(HEAVY_RULES, pool)
        write_config(base_cfg, all_rules[:BASE_RULES])
        write_config(heavy_cfg, all_rules)
        for kind in kinds:
            for size in sizes:
                arch = archive(cache, kind, size, shard, args.seed)
                print(f"archive {kind} {size:,}: {arch.files} files, {arch.bytes / 1e6:.1f} MB, "
                      f"{arch.bytes / size:,.0f} bytes an article", flush=True)
                if "local" not in skip and not workers_flag:   # with --workers, the default is the usable cores
                    rows.append(run(Row("local", kind, size), arch, [], args.timeout, work))
                if "workers" not in skip:
                    for n in (1, 2):
                        name = f"local --workers {n}"
                        if workers_flag:
                            rows.append(run(Row(name, kind, size), arch, ["--workers", str(n)], args.timeout, work))
                        else:
                            rows.append(Row(name, kind, size, error="n/a (no --workers)"))
                if "dask" not in skip:
                    for n in (1, 2):
                        label = f"dask {n} worker{'s' if n > 1 else ''}"
                        rows.append(run_dask(Row(label, kind, size), arch, n, args.timeout, work, []))
                if "heavy" not in skip and size == alert_size:
                    one = ["--workers", "1"] if workers_flag else []
                    base = run(Row(f"alert-heavy: {BASE_RULES} rules", kind, size), arch,
                               ["--config", str(base_cfg), *one], args.timeout, work)
                    many = run(Row(f"alert-heavy: {HEAVY_RULES:,} rules", kind, size), arch,
                               ["--config", str(heavy_cfg), *one], args.timeout, work)
                    rows += [base, many]
                    default = next((r for r in rows if r.kind == kind and r.size == size and not r.error
                                    and r.run == ("local --workers 1" if workers_flag else "local")), None)
                    heavy[kind] = (base, many, default)
                print(table([r for r in rows if r.kind == kind and r.size == size]), flush=True)
    print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end\n")
    print(table(rows))
    report(rows, kinds, sizes, heavy, workers_flag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
