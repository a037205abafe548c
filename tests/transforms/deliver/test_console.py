"""``transforms.deliver.console``: the human line of an alert (fields, severity colours, ``NO_COLOR``, hostile
titles kept to one plain line, width), the format decision, and a stdout sink in a real Beam pipeline."""

from __future__ import annotations

import json
import re

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from rich.cells import cell_len

from schemas.config import parse_settings
from schemas.records import Alert, AlertArticle
from tests.transforms.throttle.test_policy import alert
from transforms.deliver.console import (
    LineRenderer,
    StdoutWriter,
    clean,
    color_allowed,
    format_record,
    shorten,
    wants_human,
)
from transforms.deliver.routing import WriteAlerts

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RED = re.compile(r"\x1b\[(?:[0-9;]*;)?31m")          # red foreground, alone or with bold


def news(severity: str = "high", title: str = "EU raises tariffs on Chinese EVs", source: str | None = "Reuters",
         url: str | None = "https://example.com/eu-evs", rule: str = "tariffs-watch") -> Alert:
    a = alert(1, 0, rule=rule)
    article = AlertArticle(**{**a.article.model_dump(), "title": title, "source": source, "url": url})
    return a.model_copy(update={"severity": severity, "article": article})


def test_plain_line_has_severity_rule_title_source_and_url():
    line = LineRenderer(color=False).render(news(), width=200)
    assert line == "HIGH     tariffs-watch  EU raises tariffs on Chinese EVs — Reuters  https://example.com/eu-evs"
    assert "\x1b" not in line


def test_without_url_the_input_location_is_shown_and_without_source_no_dash():
    line = LineRenderer(color=False).render(news(url=None, source=None), width=200)
    assert line.endswith("EU raises tariffs on Chinese EVs  x")      # origin location of the test alert
    assert "—" not in line


@pytest.mark.parametrize("severity, colour", [("critical", RED), ("high", RED), ("medium", re.compile(r"\x1b\[33m")),
                                              ("low", re.compile(r"\x1b\[2m"))])
def test_severity_colours(severity, colour):
    line = LineRenderer(color=True).render(news(severity=severity), width=200)
    head = line.split(" ", 1)[0]                                   # the coloured severity label
    assert colour.search(head), repr(head)
    assert ANSI.sub("", line).startswith(severity.upper())
    assert ANSI.sub("", line) == LineRenderer(color=False).render(news(severity=severity), width=200)


def test_no_color_environment_turns_colour_off_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_allowed(True) and not color_allowed(False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_allowed(True)
    line = LineRenderer(color_allowed(True)).render(news(), width=200)
    assert "\x1b" not in line and line.startswith("HIGH ")


def test_format_decision():
    assert wants_human("auto", True) and not wants_human("auto", False)
    assert wants_human("human", False) and not wants_human("json", True)


def test_control_characters_escapes_and_newlines_are_stripped_to_one_line():
    title = "EU\nraises\r\ntariffs\x00 \x1b[31mnow\x1b[0m\x1b]0;pwned\x07 \u202eevil\u2028next\tend\x7f\x9b2J"
    source = "Reu\x1bcters\n"
    for color in (False, True):
        line = LineRenderer(color).render(news(title=title, source=source, url="https://x.test/a\nb"), width=300)
        plain = ANSI.sub("", line)
        assert "\n" not in line and "\r" not in line and "\u2028" not in line and "\u202e" not in line
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in plain), repr(plain)
        assert "pwned" not in plain
        assert "EU raises tariffs now evil next end" in plain
        assert "https://x.test/a b" in plain
    assert clean(None) == "" and clean(42) == "42" and clean("  a \u00a0 b  ") == "a b"


def test_long_titles_are_cut_to_the_width_and_the_url_kept_whole():
    title = "Tariffs " * 100 + "END"
    line = LineRenderer(color=False).render(news(title=title), width=120)
    assert cell_len(line) == 120 and "END" not in line and "…" in line
    assert line.endswith("— Reuters  https://example.com/eu-evs")
    wide = LineRenderer(color=False).render(news(title="关税" * 100), width=99)   # double-width characters
    assert cell_len(wide) in (98, 99) and "…" in wide
    narrow = LineRenderer(color=False).render(news(title=title), width=10)       # keeps some title anyway
    assert "Tariffs Tariffs" in narrow
    assert shorten("abcdef", 4) == "abc…" and shorten("abc", 4) == "abc" and cell_len(shorten("关税关税", 5)) <= 5


def test_odd_records_never_raise():
    renderer = LineRenderer(color=True)
    assert json.loads(format_record(alert(1, 0), None))["alert_id"] == "id1"
    odd = news(title="", source="", url="", severity="high").model_copy(update={"severity": "weird"})
    assert "(no title)" in renderer.render(odd)
    article = alert(1, 0).article                                   # not an alert: its JSON line
    assert json.loads(format_record(article, renderer))["id"] == "art1"


def test_stdout_sink_human_format_in_a_beam_pipeline(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    settings = parse_settings("""
topics: [{id: t, query: tariff}]
rules: [{id: r, query: 'topic:t'}]
sinks: [{id: screen, type: stdout, format: human}, {id: raw, type: stdout, format: json}]
""")
    alerts = [news(title="Zölle\nsteigen", rule="r"), news(severity="low", title="second", rule="r")]
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        p | beam.Create(alerts) | WriteAlerts(settings, str(tmp_path))
    lines = capfd.readouterr().out.splitlines()
    human = sorted(line for line in lines if not line.startswith("{"))
    raw = [json.loads(line) for line in lines if line.startswith("{")]
    assert human == ["HIGH     r  Zölle steigen — Reuters  https://example.com/eu-evs",
                     "LOW      r  second — Reuters  https://example.com/eu-evs"]    # not a terminal: no colour
    assert sorted(r["severity"] for r in raw) == ["high", "low"]


def test_writer_decides_from_the_stream_it_writes_to(capsys):
    assert not StdoutWriter("auto").human                      # pytest's captured stdout is no terminal
    assert StdoutWriter("human").human and StdoutWriter("human").renderer.color is False
    StdoutWriter("auto").write(news())
    assert json.loads(capsys.readouterr().out)["rule_id"] == "tariffs-watch"
