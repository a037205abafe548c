"""The notify sink: alerts as messages where people read them, through Apprise (e-mail, Slack, Discord,
Telegram, ntfy, Matrix, Teams, generic JSON/form endpoints, ~100 services: https://github.com/caronc/apprise).

```yaml
sinks:
  - id: desk
    type: notify
    urls: ["mailtos://${SMTP_USER}:${SMTP_PASSWORD}@smtp.example.org?to=desk@example.org"]
    digest: daily          # optional: one message a day (hourly, weekly, or a duration such as 4h)
    timezone: Europe/Berlin
    hour: 8
```

* **Targets** (``targets``): each of ``urls`` is an Apprise URL in which ``${VAR}`` is replaced by the
  environment variable ``VAR`` when the sink starts (a variable that is not set is an error naming the
  file, the sink and the URL). Credentials never stand in the YAML in clear: a password in a URL's user
  part is refused when the file is read (``schemas.config``), and when the sink starts every part Apprise
  itself treats as secret (a Slack webhook's tokens, a Telegram bot token, an API key) must come from the
  environment, not from the file. A URL Apprise does not know is an error too.
* **Messages** (``transforms.deliver.message``): the default template or the sink's ``template:``; each
  service gets the form it prefers (the first format its Apprise plugin lists: HTML for e-mail and
  Telegram, Markdown for Slack and Discord, text for ntfy, JSON endpoints and most others). E-mail goes out as
  multipart text + HTML.
* **Delivery**: one outbox queue per URL (``<sink id>#<n>``), so one broken service does not hold back the
  others; the same retry policy and dead letters as the webhook sink (``transforms.deliver.outbox``):
  batch sends in the stage (retries included), watch queues in the state file's outbox and sends beside the
  other sinks, never blocking the JSONL sink. Apprise's own retries are left at its default (none): ours
  apply. Every attempt runs in a worker thread under the sink's ``timeout`` (Apprise's connect and read
  timeouts are set to it too); the reason of a failure is what Apprise logged for it.
* **Digests** (``digest:``): in watch, alerts wait in the state file until their period ends
  (``transforms.deliver.digest``), then one message per target lists them by story and rule. A batch run
  sends no digest (its alerts are all "now"): ``newswatch digest OUT_DIR --since 24h`` sends one for the
  alerts a run wrote (``pipeline.digest``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote

import apache_beam as beam
import apprise
from apache_beam.pvalue import TaggedOutput

from schemas.config import Settings, Sink
from schemas.errors import ConfigError, Problem
from schemas.records import Alert, DeadLetter, Origin
from transforms.deliver.digest import DigestStore, Period, period_key, period_of
from transforms.deliver.message import Message, Messages
from transforms.deliver.outbox import Attempt, OutboxFn, Row, send_with_retries
from transforms.stories.store import StoryStore
from transforms.wiring import DEAD_LETTERS, Outputs, counter, with_dead_letters

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PARTS = re.compile(r"([/:@?&=#])")
MAX_SENDERS = 4          # worker threads per notify sink


class Target(NamedTuple):
    """One URL of a notify sink, ready to send."""

    queue: str            # its outbox queue: "<sink id>#<n>"
    label: str            # the URL with its secrets masked (for logs and dead letters)
    form: str             # the body form it gets: "html", "markdown" or "text"
    plugin: Any           # the Apprise plugin instance


def _expand(url: str, environ: Mapping[str, str], where: str, file: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ConfigError(f"environment variable {name} is not set (it is referenced as ${{{name}}})",
                              file=file, item=where)
        return environ[name]
    return _ENV_REF.sub(value, url)


def _secrets(plugin: Any) -> list[str]:
    """The parts of a plugin's URL that Apprise masks as private (tokens, passwords, keys)."""
    plain = _PARTS.split(plugin.url(privacy=False))
    masked = _PARTS.split(plugin.url(privacy=True))
    if len(plain) != len(masked):
        return []
    return [unquote(a) for a, b in zip(plain, masked, strict=True) if a != b and len(unquote(a)) >= 3]


def _form(plugin: Any) -> str:
    formats = plugin.notify_format
    first = formats[0] if isinstance(formats, tuple | list) and formats else formats
    value = getattr(first, "value", str(first))
    return value if value in ("html", "markdown", "text") else "text"


def targets(sink: Sink, settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> list[Target]:
    """The sink's URLs, expanded from the environment, parsed and checked (see the module docstring).
    Raises ``ConfigError`` naming the file, the sink and the URL (the first bad one)."""
    env = os.environ if environ is None else environ
    index = _index_of(sink, settings)
    return [_target(sink, n, raw, env, settings, index) for n, raw in enumerate(sink.urls)]


def _index_of(sink: Sink, settings: Settings | None) -> int:
    return next((i for i, s in enumerate(settings.sinks) if s.id == sink.id), 0) if settings is not None else 0


def _target(sink: Sink, n: int, raw: str, env: Mapping[str, str], settings: Settings | None, index: int) -> Target:
    """``urls[n]`` of the sink as a ``Target``; ``ConfigError`` at its line and column in the file."""
    file = settings.source_file if settings is not None else "<memory>"
    where = f"sinks[{index}] ({sink.id}): urls[{n}]"
    at = settings.position(("sinks", index, "urls", n)) if settings is not None else None
    line, column = at if at is not None else (None, None)
    try:
        url = _expand(raw, env, where, file)
    except ConfigError as exc:
        raise ConfigError(exc.reason, file=file, item=where, line=line, column=column) from None
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        shown = raw if _ENV_REF.search(raw) else raw.split("://", 1)[0] + "://..."
        raise ConfigError(f"Apprise cannot use this URL ({shown}): unknown service or missing parts "
                          "(see https://github.com/caronc/apprise/wiki)", file=file, item=where, line=line,
                          column=column)
    literal = _ENV_REF.sub("", raw)
    for secret in _secrets(plugin):
        if secret in literal or secret in unquote(literal):
            raise ConfigError("a secret part of this URL is written in clear in the file: put the URL, or "
                              "that part, in an environment variable and write ${VAR} in its place",
                              file=file, item=where, line=line, column=column)
    for attr in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, attr):
            setattr(plugin, attr, sink.timeout)
    return Target(f"{sink.id}#{n}", plugin.url(privacy=True), _form(plugin), plugin)


def check_sinks(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Resolve every notify sink's targets and template now (``newswatch check``, and before a run starts),
    so a missing variable or a bad URL is a configuration error, not a dead letter an hour later. Every
    problem of every sink is reported at once (one ``ConfigError`` with all of them)."""
    env = os.environ if environ is None else environ
    problems: list[Problem] = []
    for index, sink in enumerate(settings.sinks):
        if sink.type != "notify":
            continue
        for n, raw in enumerate(sink.urls):
            try:
                _target(sink, n, raw, env, settings, index)
            except ConfigError as exc:
                problems.extend(exc.problems)
        try:
            messages_of(sink, settings)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems=problems)


def template_path(sink: Sink, settings: Settings | None) -> str | None:
    """The sink's ``template:``, relative to the configuration file's folder."""
    if not sink.template:
        return None
    base = os.path.dirname(settings.source_file) if settings is not None and settings.source_file != "<memory>" else ""
    return os.path.join(base, sink.template)


def messages_of(sink: Sink, settings: Settings | None) -> Messages:
    return Messages(template_path(sink, settings), settings.source_file if settings is not None else None)


class _Captured(logging.Handler):
    """Apprise's warnings and errors of the calling thread (the reason a send failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


#: Apprise says why a send failed only in its log: its warnings are collected per call (``_Captured``) and end up
#: in the attempt's reason (a retry, a dead letter), not on stderr, whatever the logging configuration.
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.setLevel(logging.WARNING)
_APPRISE_LOG.propagate = False


def send(target: Target, message: Message, timeout: float) -> Attempt:
    """One attempt to send ``message`` to ``target``, in the calling thread. Never raises."""
    captured = _Captured()
    _APPRISE_LOG.addHandler(captured)
    started = time.monotonic()
    try:
        ok = target.plugin.notify(body=message.body(target.form), title=message.title,
                                  body_format=target.form)
    except Exception as exc:    # a plugin that raises is a failed attempt, not a crash
        return Attempt(False, f"{target.label}: {type(exc).__name__}: {exc}")
    finally:
        _APPRISE_LOG.removeHandler(captured)
    if ok:
        return Attempt(True)
    reason = "; ".join(dict.fromkeys(captured.lines))[:500] or "Apprise reported a failure"
    if time.monotonic() - started >= timeout:
        reason = f"timed out: no answer within {timeout:g} s ({reason})"
    return Attempt(False, f"{target.label}: {reason}")


class Sender:
    """Sends on worker threads: ``submit`` returns a future at once; an attempt longer than the sink's
    ``timeout`` is reported as timed out (its thread finishes on its own)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.pool = concurrent.futures.ThreadPoolExecutor(MAX_SENDERS, thread_name_prefix="newswatch-notify")

    def submit(self, target: Target, message: Message) -> concurrent.futures.Future[Attempt]:
        done: concurrent.futures.Future[Attempt] = concurrent.futures.Future()
        inner = self.pool.submit(send, target, message, self.timeout)
        late = Attempt(False, f"{target.label}: timed out: no answer within {self.timeout:g} s")
        timer = threading.Timer(self.timeout + 1.0, _settle, (done, late))
        timer.daemon = True
        timer.start()

        def finished(f: concurrent.futures.Future[Attempt]) -> None:
            timer.cancel()
            _settle(done, f.result() if not f.cancelled() and f.exception() is None
                    else Attempt(False, f"{target.label}: {f.exception() or 'cancelled'}"))
        inner.add_done_callback(finished)
        return done

    def send(self, target: Target, message: Message) -> Attempt:
        return self.submit(target, message).result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _settle(future: concurrent.futures.Future[Attempt], attempt: Attempt) -> None:
    if not future.done():
        with contextlib.suppress(concurrent.futures.InvalidStateError):   # the timer and the answer raced
            future.set_result(attempt)


def _descriptions(settings: Settings | None) -> dict[str, str]:
    return {r.id: r.description for r in settings.rules if r.description} if settings is not None else {}


def _dead(sink: Sink, target: str, key: str, excerpt: str, failure: str) -> DeadLetter:
    return DeadLetter.of("sink", f"notify {sink.id}: {failure}", Origin(kind="feed", location=target, entry_id=key),
                         excerpt, limit=2000)


def encode(message: Message, alert: str | None = None) -> str:
    """An outbox row's body: the rendered message (and the alert it is about, for its dead letter)."""
    return json.dumps({"title": message.title, "bodies": message.bodies, "alert": alert}, ensure_ascii=False)


def decode(body: str) -> tuple[Message, str]:
    data = json.loads(body)
    return Message(data["title"], data["bodies"]), data.get("alert") or data["bodies"].get("text", "")


class _NotifyNowFn(beam.DoFn):
    """Batch: each alert to every target now, retries included; a target that fails makes a dead letter."""

    def __init__(self, sink: Sink, settings: Settings) -> None:
        self.sink = sink
        self.settings = settings
        self.ok = counter("sink_notify_delivered")
        self.failed = counter("sink_notify_failed")

    def setup(self) -> None:
        self.targets = targets(self.sink, self.settings)
        self.messages = messages_of(self.sink, self.settings)
        self.descriptions = _descriptions(self.settings)
        self.sender = Sender(self.sink.timeout)

    def teardown(self) -> None:
        self.sender.close()

    def process(self, alert: Alert) -> Iterator[str | TaggedOutput]:
        line = alert.model_dump_json()
        message = self.messages.alert(json.loads(line), None, self.descriptions)
        for target in self.targets:
            failure = send_with_retries(functools.partial(self.sender.send, target, message), self.sink.retries)
            if failure is None:
                self.ok.inc()
                yield alert.alert_id
            else:
                self.failed.inc()
                yield TaggedOutput(DEAD_LETTERS, _dead(self.sink, target.label, alert.alert_id, line, failure))


class _NotifyOutboxFn(OutboxFn):
    """Watch: a message per alert (or, with ``digest``, per period) through the outbox, one queue per URL."""

    def __init__(self, sink: Sink, settings: Settings, state_path: str) -> None:
        super().__init__(state_path, sink.retries, "notify")
        self.sink = sink
        self.settings = settings

    def open(self) -> None:
        self.targets = {t.queue: t for t in targets(self.sink, self.settings)}
        self.queues = tuple(self.targets)
        self.messages = messages_of(self.sink, self.settings)
        self.descriptions = _descriptions(self.settings)
        self.sender = Sender(self.sink.timeout)
        self.stories = StoryStore(self.state_path)
        self.digests = DigestStore(self.state_path) if self.sink.digest else None

    def close(self) -> None:
        self.sender.close()
        self.stories.close()
        if self.digests is not None:
            self.digests.close()

    def _outlets(self, story_id: str | None) -> tuple[str, ...]:
        story = self.stories.story(story_id) if story_id else None
        return tuple(story.outlets) if story is not None else ()

    def queue(self, alert: Alert) -> Iterator[tuple[str, str, str]]:
        line = alert.model_dump_json()
        if self.digests is not None:
            self.digests.add(self.sink.id, alert.alert_id, period_of(self.sink, time.time()).end, line)
            return
        message = self.messages.alert(json.loads(line), self._outlets(alert.story_id), self.descriptions)
        body = encode(message, line)
        for queue in self.queues:
            yield queue, alert.alert_id, body

    def before_dispatch(self) -> None:
        """Close the digest periods that have ended: one message per target (see ``transforms.deliver.digest``)."""
        if self.digests is None:
            return
        now = time.time()
        for end in self.digests.due(self.sink.id, now):
            alerts = [json.loads(body) for body in self.digests.take(self.sink.id, end)]
            if not alerts:
                continue
            period = period_of(self.sink, end - 1e-3)
            outlets = {a["story_id"]: self._outlets(a["story_id"]) for a in alerts if a.get("story_id")}
            message = self.messages.digest(alerts, Period(period.start, end).label(self.sink.timezone),
                                           outlets, self.descriptions)
            body = encode(message, None)
            for queue in self.queues:
                self.store.enqueue(queue, period_key(end), body)
                self.queued.inc()

    def submit(self, queue: str, rows: list[Row]) -> concurrent.futures.Future[Attempt]:
        message, _ = decode(rows[0][1])
        return self.sender.submit(self.targets[queue], message)

    def dead(self, queue: str, key: str, body: str, failure: str) -> DeadLetter:
        _, excerpt = decode(body)
        return _dead(self.sink, self.targets[queue].label, key, excerpt, failure)


class _Nothing(beam.DoFn):
    def process(self, alert: Alert) -> Iterator[str]:
        return iter(())


class Notify(beam.PTransform):
    """Alert -> messages -> ``Outputs(items=delivered keys, dead_letters=undelivered messages)``. With
    ``state_path`` (watch), through the state store's outbox; a digest sink in batch sends nothing (see the
    module docstring)."""

    def __init__(self, sink: Sink, settings: Settings, state_path: str | None = None) -> None:
        super().__init__()
        self.sink = sink
        self.settings = settings
        self.state_path = state_path

    def expand(self, alerts: beam.PCollection) -> Outputs:
        fn: beam.DoFn
        if self.state_path is not None:
            fn = _NotifyOutboxFn(self.sink, self.settings, self.state_path)
        elif self.sink.digest:
            fn = _Nothing()
        else:
            fn = _NotifyNowFn(self.sink, self.settings)
        return with_dead_letters(alerts, "Notify", fn)
