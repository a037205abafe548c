"""``newswatch check``: the validated configuration, listed: topics, enabled rules, and how each is prefiltered.

``print_check`` prints what ``check`` shows: the counts, every topic, every rule (severity, sinks, query) with
the presearch's verdict (``transforms.analyze.rules.CompiledSettings.presearch``: prefiltered by which terms,
or not), and on
stderr a warning for each topic or rule that forces a full evaluation on every article.
"""

from __future__ import annotations

import sys
from typing import Any

from schemas.config import Settings
from transforms.analyze.rules import CompiledSettings


def print_check(settings: Settings, compiled: CompiledSettings) -> None:
    """Print the listing of ``settings`` and ``compiled`` (``compile_settings(settings)``) to stdout, the
    warnings to stderr."""
    print(f"{settings.source_file}: OK — {len(compiled.topics)} topics, {len(compiled.rules)} enabled rules, "
          f"{len(settings.sinks)} sinks, {len(settings.feeds)} feeds")
    print("\ntopics:")
    for t in settings.topics:
        print(f"  {t.id:<24} {t.label or ''}")
    topic_ps, rule_ps, _ = compiled.presearch
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


def run_check(args: Any) -> int:
    """``newswatch check [--config PATH] [--feeds]``."""
    from pipeline.cli import load

    print_check(*load(args.config, sinks=True))
    return 0
