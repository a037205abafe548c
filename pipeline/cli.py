"""The ``newswatch`` command: parse, validate the configuration once, call the runner.

    newswatch batch INPUT... [--config PATH] [--out DIR] [--emit-articles] [--full-text on|auto|off]
                             [--page-cache PATH] [BEAM OPTIONS...]
    newswatch watch          [--config PATH] [--out DIR] [--state PATH] [--duration SECONDS] [--reset-state]
                             [BEAM OPTIONS...]
    newswatch check          [--config PATH]
    newswatch explain FILE   [--config PATH] [--json]
    newswatch digest OUT_DIR --since SINCE [--until UNTIL] [--sink ID] [--config PATH] [--print]

Any option newswatch does not know is a Beam pipeline option and is passed through. Exit codes: 0 success
(dead letters do not fail a run), 2 usage or configuration error, 1 runtime failure.

This module only parses arguments, loads the configuration and dispatches; each command lives elsewhere:
``batch`` in ``pipeline.run``, ``watch`` in ``pipeline.watch``, ``check`` in ``pipeline.check``, ``explain`` in
``pipeline.explain``, ``report`` in ``pipeline.report``, ``digest`` in ``pipeline.digest``. ``batch``, ``watch``
and ``check`` also resolve the notify sinks' URLs and templates before anything runs
(``transforms.deliver.notify.check_sinks``): an unset ``${VAR}`` is a configuration error, not a dead letter.
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

OWN_VALUE_OPTIONS = {"--config", "--out", "--state", "--duration", "-o", "--output", "--workers", "--since",
                     "--until", "--sink", "--full-text", "--page-cache"}
OWN_FLAGS = {"--emit-articles", "--json", "--verbose", "-v", "-h", "--help", "--reset-state", "--print"}


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
    b.add_argument("--full-text", choices=("on", "auto", "off"), default=None,
                   help="fetch the pages of feed entries and match their text (auto: short entries only; "
                        "default: the config's fetch.full_text)")
    b.add_argument("--page-cache", default=None, metavar="PATH",
                   help="page cache file for --full-text (default OUT/.cache/pages.sqlite)")

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

    d = sub.add_parser("digest", help="send one digest message of the alerts in an output folder")
    d.add_argument("out_dir", metavar="OUT_DIR")
    common(d)
    d.add_argument("--since", required=True, help="ISO date/time or a duration before now (24h, 7d)")
    d.add_argument("--until", default=None, help="ISO date/time or a duration before now (default: now)")
    d.add_argument("--sink", default=None, metavar="ID", help="this notify sink (default: those with 'digest')")
    d.add_argument("--print", action="store_true", help="print the digest instead of sending it")
    return parser


def load(config: str | None, sinks: bool = False) -> tuple[Any, Any]:
    """Validate the configuration once: returns (Settings, CompiledSettings); raises ConfigError. ``sinks``:
    also resolve the notify sinks (environment variables, Apprise URLs, templates)."""
    from schemas.config import load_settings
    from transforms.analyze.rules import compile_settings

    settings = load_settings(config or default_config())
    compiled = compile_settings(settings)
    if sinks:
        from transforms.deliver.notify import check_sinks

        check_sinks(settings)
    return settings, compiled


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
    from transforms.ingest.plan import expand_inputs

    settings, _ = load(args.config, sinks=True)
    if args.full_text is not None or args.page_cache is not None:
        update: dict[str, Any] = {"page_cache": os.path.abspath(args.page_cache)} if args.page_cache else {}
        if args.full_text is not None:
            update["full_text"] = {"on": True, "auto": "auto", "off": False}[args.full_text]
        settings = settings.model_copy(update={"fetch": settings.fetch.model_copy(update=update)})
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
    from pipeline.check import print_check

    print_check(*load(args.config, sinks=True))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from pipeline.explain import explain_file, render_text
    from schemas.errors import UsageError

    _, compiled = load(args.config)
    if not os.path.isfile(args.file):
        raise UsageError(f"not a file: {args.file}")
    entries = explain_file(args.file, compiled)
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render_text(entries))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import write_report

    path, rep = write_report(args.out_dir, args.output)
    print(f"{path}: {rep.alerts} alerts, {rep.story_count} stories, {rep.dead_letters} dead letters"
          + (f", {rep.bad_total} bad lines skipped" if rep.bad_total else ""))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from pipeline.digest import run_digest

    settings, _ = load(args.config, sinks=not args.print)
    return run_digest(settings, args.out_dir, args.since, args.until, sink_id=args.sink, print_only=args.print)


def cmd_watch(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipeline.watch import run_watch

    settings, _ = load(args.config, sinks=True)
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
        if beam_args and args.command in ("check", "explain", "report", "digest"):
            raise UsageError(f"unknown option(s) for {args.command}: {' '.join(beam_args)}")
        if args.command == "check":
            return cmd_check(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "digest":
            return cmd_digest(args)
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
