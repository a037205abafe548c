"""The words of a notification: one alert, or a digest of many, as a title and a body in three forms.

``Messages(template_path)`` renders with Jinja2 from ``templates/notify.j2`` (the defaults), whose blocks a
sink's own ``template:`` file may replace one by one: ``title``, ``text``, ``markdown``, ``html`` for one
alert and ``digest_title``, ``digest_text``, ``digest_markdown``, ``digest_html`` for a digest. Which body form
a service gets is its own preference (``transforms.deliver.notify``: e-mail and Telegram take HTML, Slack and
Discord Markdown, ntfy and most others plain text).

What a message says by default: severity, rule, the title linked to the article, source, time, the snippet
with the matched words marked (``*word*`` in text, ``**word**`` in Markdown, ``<mark>`` in HTML) and the
story's size ("and 4 other outlets", when the story is known: in watch mode from the story store, for
``newswatch digest`` from the output's ``stories/``; a batch run's alert messages go out before its stories
are settled and say nothing of it).

A digest groups its alerts by story (``story_id``, else the article) and, within a story, by rule: one entry a
story, the strongest first (severity, then score), with the rules that matched it and the snippet of its
best alert.

Every value comes from an alert as JSON (``Alert.model_dump(mode="json")``, a line of ``alerts/``): the same
code renders in the pipeline, from the watch outbox and from the files of a batch run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup, escape

from schemas.errors import ConfigError

FORMS = ("text", "markdown", "html")
SEVERITY_RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}
COLOURS = {"critical": "#b00020", "high": "#d93025", "medium": "#e37400", "low": "#5f6368"}
_TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
_SPACES = re.compile(r"\s+")


class Message(NamedTuple):
    """A rendered notification: its title and its body in each form (``FORMS``)."""

    title: str
    bodies: dict[str, str]

    def body(self, form: str) -> str:
        return self.bodies.get(form) or self.bodies["text"]


def _spans(snippet: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Where ``words`` occur in ``snippet`` (case-insensitively), overlapping spans merged."""
    lowered = snippet.lower()
    fold = len(lowered) == len(snippet)      # lower() kept the offsets (it does not for a few letters: İ)
    if not fold:
        lowered = snippet
    found: list[tuple[int, int]] = []
    for word in {w.lower() if fold else w for w in words if w and w.strip()}:
        start = lowered.find(word)
        while start >= 0:
            found.append((start, start + len(word)))
            start = lowered.find(word, start + len(word))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def marked(snippet: str, words: Iterable[str]) -> dict[str, str]:
    """The snippet with ``words`` marked, in each form (the HTML one escaped, a ``Markup``)."""
    snippet = _SPACES.sub(" ", snippet).strip()
    spans = _spans(snippet, words)
    text, markdown, html = [], [], []
    last = 0
    for start, end in spans:
        before, word = snippet[last:start], snippet[start:end]
        text += [before, f"*{word}*"]
        markdown += [_md(before), f"**{_md(word)}**"]
        html += [str(escape(before)), f"<mark>{escape(word)}</mark>"]
        last = end
    text.append(snippet[last:])
    markdown.append(_md(snippet[last:]))
    html.append(str(escape(snippet[last:])))
    return {"text": "".join(text), "markdown": "".join(markdown), "html": Markup("".join(html))}


def _md(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def _when(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _other_outlets(source: str | None, outlets: Sequence[str] | None) -> int | None:
    if not outlets:
        return None
    others = {o for o in outlets if o and o != source}
    return len(others) or None


def alert_context(alert: Mapping[str, Any], outlets: Sequence[str] | None = None,
                  descriptions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the templates see of one alert (JSON), with its story's ``outlets`` when known."""
    article = alert.get("article") or {}
    severity = str(alert.get("severity") or "medium")
    words = [m.get("text", "") for m in alert.get("matches") or ()]
    snippet = marked(str(alert.get("snippet") or ""), words)
    source = article.get("source")
    return {
        "alert": alert, "alert_id": alert.get("alert_id"), "rule_id": alert.get("rule_id"),
        "rule_description": (descriptions or {}).get(str(alert.get("rule_id"))),
        "severity": severity, "colour": COLOURS.get(severity, "#333"),
        "title": _SPACES.sub(" ", str(article.get("title") or "(untitled)")).strip(), "url": article.get("url"),
        "source": source, "published": _when(article.get("published_at")), "created": _when(alert.get("created_at")),
        "topics": list(alert.get("topics") or ()), "score": float(alert.get("score") or 0.0),
        "story_id": alert.get("story_id"), "outlets": list(outlets or ()),
        "other_outlets": _other_outlets(source, outlets),
        "snippet_text": snippet["text"], "snippet_markdown": snippet["markdown"], "snippet_html": snippet["html"],
    }


def _strength(alert: Mapping[str, Any]) -> tuple[int, float]:
    return SEVERITY_RANK.get(str(alert.get("severity")), 1), float(alert.get("score") or 0.0)


def digest_context(alerts: Sequence[Mapping[str, Any]], period: str,
                   outlets: Mapping[str, Sequence[str]] | None = None,
                   descriptions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the digest templates see: ``alerts`` grouped by story and rule, the strongest story first.
    ``outlets``: story id -> its outlets, when known (else the sources among the digest's own alerts)."""
    by_story: dict[str, list[Mapping[str, Any]]] = {}
    for alert in alerts:
        key = alert.get("story_id") or (alert.get("article") or {}).get("id") or alert.get("alert_id")
        by_story.setdefault(str(key), []).append(alert)
    stories = []
    for key, members in by_story.items():
        best = max(members, key=_strength)
        sources = [(a.get("article") or {}).get("source") for a in members]
        known = (outlets or {}).get(key) or [s for s in sources if s]
        story = alert_context(best, known, descriptions)
        rules: dict[str, dict[str, Any]] = {}
        for alert in sorted(members, key=_strength, reverse=True):
            rule = rules.setdefault(str(alert.get("rule_id")), {"rule_id": alert.get("rule_id"),
                                                                "severity": alert.get("severity"), "alerts": 0})
            rule["alerts"] += 1
        story["rules"] = list(rules.values())
        story["alerts"] = len(members)
        story["rank"] = _strength(best)
        stories.append(story)
    stories.sort(key=lambda s: (s["rank"], s["other_outlets"] or 0, s["published"] or ""), reverse=True)
    return {"period": period, "alerts": len(alerts), "stories": stories}


class Messages:
    """The templates of one sink: the defaults, with the blocks of ``template_path`` (if given) in their place.
    A template that does not load or render raises ``ConfigError`` naming the file."""

    def __init__(self, template_path: str | None = None, source_file: str | None = None) -> None:
        loader = jinja2.FileSystemLoader(_TEMPLATES)
        self.env = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.ChainableUndefined,
                                      keep_trailing_newline=False)
        self.default = self.env.get_template("notify.j2")
        self.own = None
        self.path = template_path
        if template_path:
            try:
                with open(template_path, encoding="utf-8") as fh:
                    self.own = self.env.from_string(fh.read())
            except OSError as exc:
                raise ConfigError(f"cannot read the template: {exc.strerror or exc}", file=template_path,
                                  item=source_file) from None
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(f"line {exc.lineno}: template syntax: {exc.message}", file=template_path,
                                  item=source_file) from None

    def _block(self, name: str, context: dict[str, Any]) -> str:
        template = self.own if self.own is not None and name in self.own.blocks else self.default
        try:
            return "".join(template.blocks[name](template.new_context(context))).strip()
        except jinja2.TemplateError as exc:
            raise ConfigError(f"block {name!r}: {exc}", file=self.path or "notify.j2") from None

    def _render(self, prefix: str, context: dict[str, Any]) -> Message:
        title = _SPACES.sub(" ", self._block(prefix + "title", context)).strip()
        return Message(title[:250], {form: self._block(prefix + form, context) for form in FORMS})

    def alert(self, alert: Mapping[str, Any], outlets: Sequence[str] | None = None,
              descriptions: Mapping[str, str] | None = None) -> Message:
        return self._render("", alert_context(alert, outlets, descriptions))

    def digest(self, alerts: Sequence[Mapping[str, Any]], period: str,
               outlets: Mapping[str, Sequence[str]] | None = None,
               descriptions: Mapping[str, str] | None = None) -> Message:
        return self._render("digest_", digest_context(alerts, period, outlets, descriptions))
