"""The ``newswatch`` command: parse, validate the configuration once, call the runner.

    newswatch batch INPUT... [--config PATH] [--out DIR] [--emit-articles] [BEAM OPTIONS...]
    newswatch watch          [--config PATH] [--out DIR] [--state PATH] [--duration SECONDS] [--reset-state]
                             [BEAM OPTIONS...]
    newswatch check          [--config PATH]
    newswatch explain FILE   [--config PATH] [--json]

Any option newswatch does not know is a Beam pipeline option and is passed through. Exit codes: 0 success
(dead letters do not fail a run), 2 usage or configuration error, 1 runtime failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline import logs

OWN_VALUE_OPTIONS = {"--config", "--out", "--state", "--duration", "-o", "--output", "--workers"}
OWN_FLAGS = {"--emit-articles", "--json", "--verbose", "-v", "-h", "--help", "--reset-state"}


def default_config() -> str:
    """The bundled ``config/newswatch.yaml``: beside the source tree, or under ``<prefix>/share``."""
    here = Path(__file__).resolve().parent.parent / "config" / "newswatch.yaml"
    if here.exists():
        return str(here)
    shared = Path(sysconfig.get_path("data")) / "share" / "newswatch" / "config" / "newswatch.yaml"
    return str(shared)


def _beam_flags() -> dict[str, bool]:
    """Beam option string -> whether it takes a value (from Beam's own option definitions)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = argparse.ArgumentParser(add_help=False)
    seen: set[type] = set()
    stack = [PipelineOptions]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                with contextlib.suppress(argparse.ArgumentError, TypeError, AttributeError):
                    sub._add_argparse_args(parser)  # type: ignore[attr-defined]
    flags: dict[str, bool] = {}
    for action in parser._actions:
        for opt in action.option_strings:
            flags[opt] = action.nargs != 0
    return flags


def split_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separate newswatch's own arguments from Beam pipeline options (``--name value`` or ``--name=value``)."""
    own: list[str] = []
    beam_args: list[str] = []
    flags: dict[str, bool] | None = None
    i = 0
    while i < len(argv):
        tok = argv[i]
        name = tok.split("=", 1)[0]
        if not tok.startswith("-") or tok == "-" or name in OWN_FLAGS:
            own.append(tok)
        elif name in OWN_VALUE_OPTIONS:
            own.append(tok)
            if "=" not in tok and i + 1 < len(argv):
                own.append(argv[i + 1])
                i += 1
        elif tok == "--":
            beam_args.extend(argv[i + 1:])
            break
        else:
            beam_args.append(tok)
            if "=" not in tok and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                flags = flags if flags is not None else _beam_flags()
                if flags.get(name, True):
                    beam_args.append(argv[i + 1])
                    i += 1
        i += 1
    return own, beam_args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newswatch", description="News monitoring on Apache Beam.",
                                     epilog="Other --options are Beam pipeline options (--runner, ...).")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default=None, help="configuration YAML (default: the bundled one)")

    b = sub.add_parser("batch", help="run the pipeline over files, folders or globs")
    b.add_argument("inputs", nargs="+", metavar="INPUT")
    common(b)
    b.add_argument("--out", default="newswatch-out", help="output folder (default ./newswatch-out)")
    b.add_argument("--emit-articles", action="store_true", help="also write articles/*.jsonl")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local runner (default: the usable cores; 1 for small inputs)")

    w = sub.add_parser("watch", help="monitor feeds and folders until stopped")
    common(w)
    w.add_argument("--out", default="newswatch-out")
    w.add_argument("--state", default=None, help="state store (default OUT/state.sqlite)")
    w.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    w.add_argument("--emit-articles", action="store_true")
    w.add_argument("--reset-state", action="store_true",
                   help="move the state store aside (STATE.reset-<time>) and start with a fresh one")

    c = sub.add_parser("check", help="validate the configuration and list topics and rules")
    common(c)

    e = sub.add_parser("explain", help="show how one file is normalized, tagged and matched")
    e.add_argument("file", metavar="FILE")
    common(e)
    e.add_argument("--json", action="store_true", help="machine-readable output")

    rp = sub.add_parser("report", help="render an output folder as one self-contained HTML page")
    rp.add_argument("out_dir", metavar="OUT_DIR")
    rp.add_argument("-o", "--output", default=None, help="HTML file to write (default OUT_DIR/report.html)")
    return parser


def load(config: str | None) -> tuple[Any, Any]:
    """Validate the configuration once: returns (Settings, CompiledSettings); raises ConfigError."""
    from schemas.config import load_settings
    from transforms.analyze.rules import compile_settings

    settings = load_settings(config or default_config())
    return settings, compile_settings(settings)


@contextmanager
def _status(message: str) -> Iterator[None]:
    """A spinner with elapsed time on a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def cmd_batch(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipeline.run import run_batch
    from transforms.ingest.read import expand_inputs

    settings, _ = load(args.config)
    paths = expand_inputs(args.inputs)
    summary = run_batch(paths, settings, args.out, beam_args, emit_articles=args.emit_articles,
                        workers=args.workers, status=_status)
    if sys.stderr.isatty():
        from rich.console import Console

        Console(stderr=True).print(
            f"[bold]{summary['alerts']}[/] alerts, {summary['articles']} articles, "
            f"{summary['duplicates']} duplicates, {summary['dead_letters']} dead letters "
            f"in {summary['duration_seconds']}s -> {args.out}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    settings, compiled = load(args.config)
    print(f"{settings.source_file}: OK — {len(compiled.topics)} topics, {len(compiled.rules)} enabled rules, "
          f"{len(settings.sinks)} sinks, {len(settings.feeds)} feeds")
    print("\ntopics:")
    for t in settings.topics:
        print(f"  {t.id:<24} {t.label or ''}")
    from transforms.analyze.tag import presearchers

    topic_ps, rule_ps, _ = presearchers(compiled)
    enabled = {c.rule.id: i for i, c in enumerate(compiled.rules)}
    full: list[str] = []
    print("\nrules:")
    for r in settings.rules:
        sinks = ",".join(r.sinks) if r.sinks is not None else "all"
        state = "" if r.enabled else " (disabled)"
        print(f"  {r.id:<28} {r.severity:<8} sinks={sinks}{state}\n      {' '.join(r.query.split())}")
        if r.id in enabled:
            ok, how = rule_ps.describe(enabled[r.id])
            print(f"      prefiltered {how}" if ok else f"      NOT prefiltered: {how}")
            if not ok:
                full.append(r.id)
    for i, t in enumerate(compiled.topics):
        ok, how = topic_ps.describe(i)
        if not ok:
            print(f"warning: topic {t.topic.id} forces a full evaluation on every article ({how})", file=sys.stderr)
    for rid in full:
        print(f"warning: rule {rid} forces a full evaluation on every article "
              f"({rule_ps.describe(enabled[rid])[1]}); add a required term (e.g. 'word AND ...')",
              file=sys.stderr)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from schemas.errors import UsageError
    from schemas.records import DeadLetter
    from transforms.analyze import relevance
    from transforms.analyze.boilerplate import field_spans
    from transforms.analyze.match import RuleMatcher
    from transforms.analyze.tag import Tagger
    from transforms.ingest.read import read_path
    from transforms.normalize import failure, normalize

    _, compiled = load(args.config)
    if not os.path.isfile(args.file):
        raise UsageError(f"not a file: {args.file}")
    tagger, matcher = Tagger(compiled), RuleMatcher(compiled)
    reports: list[dict[str, Any]] = []
    for item in read_path(args.file):
        if isinstance(item, DeadLetter):
            reports.append({"dead_letter": item.model_dump(mode="json")})
            continue
        try:   # the pipeline's own per-item boundary: any exception is this item's dead letter
            article = normalize(item)
        except Exception as exc:
            reports.append({"dead_letter": failure(item, exc).model_dump(mode="json")})
            continue
        tagged = tagger.tag(article)
        evidence = tagged.document.topics
        alerts = {a.rule_id: a for a in matcher.match(tagged)}
        body_length = len(article.body)
        reports.append({
            "article": tagged.article.model_dump(mode="json"),
            "topics": {t: [e.text for e in evidence.get(t, [])][:10] for t in tagged.article.topics},
            "topic_scores": {t: relevance.score(evidence.get(t) or (), body_length) for t in tagged.article.topics},
            "masked": [{"field": f, "start": a, "end": b, "kind": k}
                       for f, spans in zip(("title", "body"), field_spans(article.title, article.body,
                                                                          article.language), strict=True)
                       for a, b, k in spans],
            "rules": [{"id": r.rule.id, "matched": r.rule.id in alerts,
                       "score": alerts[r.rule.id].score if r.rule.id in alerts else None,
                       "matches": [m.model_dump() for m in alerts[r.rule.id].matches][:10]
                       if r.rule.id in alerts else [],
                       "snippet": alerts[r.rule.id].snippet if r.rule.id in alerts else None}
                      for r in compiled.rules],
        })
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
        return 0
    for rep in reports:
        if "dead_letter" in rep:
            d = rep["dead_letter"]
            print(f"DEAD LETTER ({d['stage']}): {d['error']}\n  excerpt: {d['excerpt'][:120]}\n")
            continue
        a = rep["article"]
        print(f"article {a['id']}  [{a['language']}]  {a['source'] or '-'}  {a['published_at'] or '-'}")
        print(f"  title: {a['title']}\n  url:   {a['url'] or '-'}\n  body:  {len(a['body'])} characters")
        print("  topics:")
        for t, texts in rep["topics"].items():
            print(f"    {t:<22} score {rep['topic_scores'][t]:>5}  {', '.join(sorted(set(texts)))[:90]}")
        if rep["masked"]:
            kinds = sorted({m["kind"] for m in rep["masked"]})
            print(f"  not matched (boilerplate, URLs): {len(rep['masked'])} spans ({', '.join(kinds)})")
        print("  rules:")
        for r in rep["rules"]:
            mark = "MATCH" if r["matched"] else "  -  "
            ev = ", ".join(f"{m['field']}[{m['start']}:{m['end']}]={m['text']!r}" for m in r["matches"][:4])
            score = f"score {r['score']:>5}" if r["score"] is not None else " " * 11
            print(f"    {mark} {r['id']:<28} {score}  {ev}")
        print()
    return 0


def cmd_watch(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipeline.watch import run_watch

    settings, _ = load(args.config)
    return run_watch(settings, args.out, beam_args, state=args.state, duration=args.duration,
                     emit_articles=args.emit_articles, reset_state=args.reset_state)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, beam_args = split_args(argv)
    args = _parser().parse_args(own)
    logs.configure(verbose=args.verbose)
    from schemas.errors import ConfigError, UsageError

    try:
        if args.command == "batch":
            return cmd_batch(args, beam_args)
        if beam_args and args.command in ("check", "explain"):
            raise UsageError(f"unknown option(s) for {args.command}: {' '.join(beam_args)}")
        if args.command == "check":
            return cmd_check(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "report":
            if beam_args:
                raise UsageError(f"unknown option(s) for report: {' '.join(beam_args)}")
            from pipeline.report import write_report

            path, rep = write_report(args.out_dir, args.output)
            print(f"{path}: {rep.alerts} alerts, {rep.story_count} stories, {rep.dead_letters} dead letters"
                  + (f", {rep.bad_total} bad lines skipped" if rep.bad_total else ""))
            return 0
        return cmd_watch(args, beam_args)
    except (ConfigError, UsageError) as exc:
        print(f"newswatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("newswatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        logs.get_logger().error("run failed", error=f"{type(exc).__name__}: {exc}", exc_info=args.verbose)
        print(f"newswatch: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
