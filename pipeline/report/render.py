"""Rendering the report: the view and the chart into ``templates/report.html.j2``, written atomically.

* ``render_html(report)``: the page (Jinja2, autoescape on, undefined names are errors). Everything that
  comes from a feed (titles, snippets, sources, URLs, rule ids...) is only ever inserted as escaped text or a
  quoted attribute (``pipeline.report.view``); the page carries no script and a Content-Security-Policy that
  forbids scripts, so even a templating mistake could not run one.
* ``write_report(out_dir, output)``: ``read_output`` + ``render_html``, written to a temporary file beside
  the target and renamed over it (a reader never sees half a page).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.report.chart import chart
from pipeline.report.folder import MAX_STORIES, Report, read_output
from pipeline.report.view import SEVERITIES, fmt_time, ranked, table
from schemas.errors import UsageError


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("pipeline.report", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(rep: Report) -> str:
    """The report page (a complete HTML document, no external resources, no script)."""
    summary = rep.summary or {}
    facts = []
    for key, label in (("started_at", "run started"), ("runner", "runner"), ("inputs", "inputs"),
                       ("articles", "articles"), ("duplicates", "duplicates"),
                       ("duration_seconds", "duration (s)")):
        if isinstance(summary.get(key), str | int | float) and not isinstance(summary.get(key), bool):
            facts.append((label, summary[key]))
    severities: list[dict[str, Any]] = [{"name": s, "count": rep.by_severity.get(s, 0), "cls": s}
                                        for s in SEVERITIES]
    severities += [{"name": s, "count": c, "cls": "unknown"} for s, c in ranked(rep.by_severity)
                   if s not in SEVERITIES]
    sev_total = max(1, sum(s["count"] for s in severities))
    for s in severities:
        s["pct"] = round(100 * s["count"] / sev_total, 2)
    return str(_environment().get_template("report.html.j2").render(
        r=rep, facts=facts, chart=chart(rep), severities=severities,
        rules=table(rep.by_rule), sources=table(rep.by_source), topics=table(rep.by_topic),
        stages=table(rep.dead_by_stage), suppressed_rules=table(rep.suppressed_by_rule),
        shown_stories=len(rep.stories), more_stories=max(0, rep.story_count - len(rep.stories)),
        title=f"newswatch report — {os.path.basename(os.path.abspath(rep.out_dir))}",
        generated=fmt_time(rep.generated_at),
    ))


def write_report(out_dir: str | os.PathLike[str], output: str | None = None,
                 max_stories: int = MAX_STORIES) -> tuple[str, Report]:
    """Read ``out_dir``, render, write the page atomically to ``output`` (default OUT_DIR/report.html)."""
    rep = read_output(out_dir, max_stories=max_stories)
    page = render_html(rep)
    target = Path(output) if output else Path(out_dir) / "report.html"
    if not target.parent.is_dir():
        raise UsageError(f"output folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return str(target), rep
