# PYTHON_ARGCOMPLETE_OK
"""The ``newswatch`` command: parse, validate the configuration once, call the runner.

    newswatch batch INPUT... [--config PATH] [--out DIR] [--emit-articles] [--full-text on|auto|off]
                             [--page-cache PATH] [--workers N] [--no-progress] [BEAM OPTIONS...]
    newswatch watch          [--config PATH] [--out DIR] [--state PATH] [--duration SECONDS] [--reset-state]
                             [--metrics-port PORT [--metrics-host HOST]] [BEAM OPTIONS...]
    newswatch check          [--config PATH] [--feeds]
    newswatch explain FILE|URL|- [--text TEXT] [--query Q]... [--rule ID]... [--config PATH] [--json]
    newswatch hits QUERY ARCHIVE... | --rule ID ARCHIVE... | --compare OLD NEW ARCHIVE...
    newswatch feeds          [--out DIR | --state PATH] [--json]   |   newswatch feeds import FILE.opml
    newswatch init [DIR]     a commented starter configuration
    newswatch digest OUT_DIR --since SINCE [--until UNTIL] [--sink ID] [--config PATH] [--print]
    newswatch report OUT_DIR [-o FILE]
    newswatch completion bash|zsh      eval "$(newswatch completion bash)"
    newswatch --version

Options are read from the parser itself (``own_options``): any option newswatch does not know is a Beam
pipeline option and is passed through (to ``batch`` and ``watch``; the other commands refuse it). Exit codes: 0 success
(dead letters do not fail a run), 2 usage or configuration error, 1 runtime failure.

This module only parses arguments, loads the configuration and dispatches; each command lives elsewhere:
``batch`` in ``pipeline.run``, ``watch`` in ``pipeline.watch``, ``check`` in ``pipeline.check``, ``explain`` in
``pipeline.explain``, ``hits`` in ``pipeline.hits``, ``feeds`` in ``pipeline.feeds``, ``init`` in ``pipeline.init``,
``report`` in ``pipeline.report``, ``digest`` in ``pipeline.digest``. ``batch``, ``watch``
and ``check`` also resolve the notify sinks' URLs and templates before anything runs
(``transforms.deliver.notify.check_sinks``): an unset ``${VAR}`` is a configuration error, not a dead letter.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from pipeline import logs
from pipeline.settings import load


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


def own_options(parser: argparse.ArgumentParser) -> dict[str, int | str]:
    """Every option of ``parser`` and its subcommands -> how many values it takes (0, 1, 2, ... or ``"?"``):
    what ``split_args`` keeps for newswatch, so that a new option never has to be listed twice."""
    options: dict[str, int | str] = {}
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
                continue
            nargs = action.nargs
            count: int | str = 1 if nargs is None else nargs if isinstance(nargs, int) else "?"
            for opt in action.option_strings:
                options[opt] = count
    return options


def split_args(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> tuple[list[str], list[str]]:
    """Separate newswatch's own arguments from Beam pipeline options (``--name value`` or ``--name=value``)."""
    own_opts = own_options(parser or _parser())
    own: list[str] = []
    beam_args: list[str] = []
    flags: dict[str, bool] | None = None
    i = 0
    while i < len(argv):
        tok = argv[i]
        name = tok.split("=", 1)[0]
        if not tok.startswith("-") or tok == "-":
            own.append(tok)
        elif name in own_opts:
            own.append(tok)
            count = own_opts[name]
            if "=" not in tok:
                if count == "?":
                    count = 1 if i + 1 < len(argv) and not argv[i + 1].startswith("-") else 0
                take = argv[i + 1:i + 1 + int(count)]
                own.extend(take)
                i += len(take)
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


def version() -> str:
    """``newswatch 0.1.0 (apache-beam 2.77.0, Python 3.11.7)``: the installed distribution's version."""
    from importlib import metadata

    def of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return f"newswatch {of('newswatch')} (apache-beam {of('apache-beam')}, Python {sys.version.split()[0]})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newswatch", description="News monitoring on Apache Beam.",
                                     epilog="Other --options are Beam pipeline options (--runner, ...).")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default=None, metavar="PATH",
                       help="configuration YAML (default: the bundled one)")

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
    b.add_argument("--no-progress", action="store_true", help="no progress display on a terminal")

    w = sub.add_parser("watch", help="monitor feeds and folders until stopped")
    common(w)
    w.add_argument("--out", default="newswatch-out")
    w.add_argument("--state", default=None, help="state store (default OUT/state.sqlite)")
    w.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    w.add_argument("--emit-articles", action="store_true")
    w.add_argument("--reset-state", action="store_true",
                   help="move the state store aside (STATE.reset-<time>) and start with a fresh one")
    w.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics on http://HOST:PORT/metrics (0: any free port)")
    w.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address the metrics endpoint listens on (default 127.0.0.1)")

    c = sub.add_parser("check", help="validate the configuration and list topics and rules")
    common(c)
    c.add_argument("--feeds", action="store_true",
                   help="also fetch every feed once (status, entries, last-modified); nothing is alerted")

    e = sub.add_parser("explain", help="show how an article is normalized, tagged and matched, rule by rule")
    e.add_argument("source", nargs="?", metavar="FILE|URL|-",
                   help="a file, the URL of a page or feed, or - for standard input")
    e.add_argument("--text", default=None, help="explain this text instead of a file")
    e.add_argument("--title", default=None, help="the title of --text or standard input")
    e.add_argument("--lang", default=None, metavar="XX", help="the language of --text (default: detected)")
    e.add_argument("--query", action="append", default=None, metavar="QUERY",
                   help="an ad-hoc query instead of the config's rules (repeatable; needs no config)")
    e.add_argument("--rule", action="append", default=None, metavar="ID", help="only this rule (repeatable)")
    common(e)
    e.add_argument("--json", action="store_true", help="machine-readable output")

    h = sub.add_parser("hits", help="count the articles of an archive that a query or rule matches")
    h.add_argument("args", nargs="+", metavar="QUERY|ARCHIVE",
                   help="QUERY ARCHIVE... (without --rule or --compare), or ARCHIVE...")
    h.add_argument("--rule", action="append", default=None, metavar="ID", help="a rule of the config (repeatable)")
    h.add_argument("--compare", nargs=2, default=None, metavar=("OLD", "NEW"),
                   help="what changing query OLD to NEW adds and removes (each a query or a rule id)")
    h.add_argument("--samples", type=int, default=5, metavar="N", help="sample titles per query (default 5)")
    common(h)
    h.add_argument("--json", action="store_true", help="machine-readable output")

    f = sub.add_parser("feeds", help="the health of each feed of a watch (or: feeds import FILE.opml)")
    f.add_argument("feeds_args", nargs="*", metavar="[import FILE.opml]",
                   help="nothing: each feed's health from the state store; import FILE.opml: add its feeds")
    f.add_argument("--config", default=None, metavar="PATH",
                   help="the watch's configuration (default ./newswatch.yaml if present; never the bundled one)")
    f.add_argument("--out", default="newswatch-out", help="the watch's output folder (default ./newswatch-out)")
    f.add_argument("--state", default=None, help="state store (default OUT/state.sqlite)")
    f.add_argument("--dry-run", action="store_true", help="import: print what would be added, change nothing")
    f.add_argument("--json", action="store_true", help="machine-readable output")

    i = sub.add_parser("init", help="write a commented starter configuration")
    i.add_argument("dir", nargs="?", default=".", metavar="DIR", help="where to write newswatch.yaml (default .)")
    i.add_argument("--force", action="store_true", help="overwrite an existing newswatch.yaml")

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

    co = sub.add_parser("completion", help="print the shell completion script (bash or zsh)")
    co.add_argument("shell", choices=("bash", "zsh"))
    return parser


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
    progress = None
    if sys.stderr.isatty() and not args.no_progress:
        from pipeline.progress import BatchProgress

        progress = BatchProgress
    summary = run_batch(paths, settings, args.out, beam_args, emit_articles=args.emit_articles,
                        workers=args.workers, progress=progress)
    if sys.stderr.isatty():
        from rich.console import Console

        Console(stderr=True).print(
            f"[bold]{summary['alerts']}[/] alerts, {summary['articles']} articles, "
            f"{summary['duplicates']} duplicates, {summary['dead_letters']} dead letters "
            f"in {summary['duration_seconds']}s -> {args.out}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.check import run_check

    return run_check(args)


def cmd_explain(args: argparse.Namespace) -> int:
    from pipeline.explain import run_explain

    return run_explain(args)


def cmd_hits(args: argparse.Namespace) -> int:
    from pipeline.hits import run_hits

    return run_hits(args)


def cmd_feeds(args: argparse.Namespace) -> int:
    from pipeline.feeds import run_feeds

    return run_feeds(args)


def cmd_init(args: argparse.Namespace) -> int:
    from pipeline.init import run_init

    return run_init(args)


def cmd_completion(args: argparse.Namespace) -> int:
    """The completion script of ``args.shell`` (argcomplete's): ``eval "$(newswatch completion bash)"``."""
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["newswatch"], shell=args.shell))
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
                     emit_articles=args.emit_articles, reset_state=args.reset_state,
                     metrics_port=args.metrics_port, metrics_host=args.metrics_host)


COMMANDS = {"check": cmd_check, "explain": cmd_explain, "hits": cmd_hits, "feeds": cmd_feeds, "init": cmd_init,
            "report": cmd_report, "digest": cmd_digest, "completion": cmd_completion}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    if argv is None and "_ARGCOMPLETE" in os.environ:   # the shell asks for completions: answer and exit
        import argcomplete

        argcomplete.autocomplete(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    own, beam_args = split_args(argv, parser)
    args = parser.parse_args(own)
    logs.configure(verbose=args.verbose)
    from schemas.errors import ConfigError, UsageError

    try:
        if args.command == "batch":
            return cmd_batch(args, beam_args)
        if args.command == "watch":
            return cmd_watch(args, beam_args)
        if beam_args:
            raise UsageError(f"unknown option(s) for {args.command}: {' '.join(beam_args)}")
        return COMMANDS[args.command](args)
    except (ConfigError, UsageError) as exc:
        print(f"newswatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("newswatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:   # `newswatch ... | head`: the reader left; say nothing more
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        logs.get_logger().error("run failed", error=f"{type(exc).__name__}: {exc}", exc_info=args.verbose)
        print(f"newswatch: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
