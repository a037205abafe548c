"""``newswatch report OUT_DIR``: one self-contained HTML page over an output folder.

One module per job, in the order the data flows:

* ``records``: what one output record says, read leniently (text fields, times, whether a line is an alert).
* ``folder``: ``read_output`` streams the output folder once, counting everything, and keeps only the latest
  stories (``Report``); memory and page size are bounded by the stories shown, not by the alerts.
* ``view``: story cards, highlighted evidence, count tables and the URL policy (``safe_url``) -- the plain
  values the template shows.
* ``chart``: the timeline's geometry (alerts per topic per day, week or month) for the inline SVG.
* ``render``: ``render_html`` fills ``templates/report.html.j2`` (autoescape on, no script, a CSP that forbids
  scripts); ``write_report`` writes the page atomically.

The names below are the report's public API (``pipeline.cli`` and the tests use them).
"""

from pipeline.report.chart import MAX_DAYS, chart
from pipeline.report.folder import MAX_STORIES, BadLines, Report, is_output_dir, read_output
from pipeline.report.records import event_time, parse_time
from pipeline.report.render import render_html, write_report
from pipeline.report.view import highlight, safe_url

__all__ = [
    "MAX_DAYS",
    "MAX_STORIES",
    "BadLines",
    "Report",
    "chart",
    "event_time",
    "highlight",
    "is_output_dir",
    "parse_time",
    "read_output",
    "render_html",
    "safe_url",
    "write_report",
]
