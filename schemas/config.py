"""Configuration models (``config/newswatch.yaml``) and the loader that turns errors into ``ConfigError``.

Structure is validated here, declaratively. Query *syntax* and references between items (``topic:``
ids, rule -> sink ids) are checked by ``transforms.analyze.rules.compile_settings``, which knows the query
language; both report ``file: item: [column N:] reason`` and the CLI exits 2.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from schemas.errors import ConfigError
from schemas.records import Severity

Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_backfill(value: str) -> float | None:
    """What a ``backfill`` setting means for a feed's first successful poll: None for ``all`` (every entry is
    analysed), 0.0 for ``none`` (no entry is), else the duration in seconds (``90m``, ``24h``, ``7d``,
    ``2w``, ``30s``): only entries dated within it before now are analysed. Raises ``ValueError`` for
    anything else."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text == "all":
        return None
    if text == "none":
        return 0.0
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"backfill must be 'all', 'none' or a duration such as 90m, 24h or 7d, not {value!r}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"a backfill duration must be more than zero (for no entries: 'none'), not {value!r}")
    return seconds


def _check_backfill(value: str) -> str:
    parse_backfill(value)
    return value


Backfill = Annotated[str, AfterValidator(_check_backfill)]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Topic(_Config):
    """A tag of the taxonomy. ``terms`` is sugar for ``term1 OR term2 ...`` (each term quoted as a phrase)."""

    id: Id
    label: str | None = None
    description: str | None = None
    query: str | None = None
    terms: tuple[str, ...] = ()
    #: relevance thresholds (``transforms.analyze.relevance``): tagged only when the evidence scores at least
    #: ``min_score``, and is in the title or has at least ``min_mentions`` pieces
    min_score: Annotated[float, Field(ge=0)] | None = None
    min_mentions: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _query_or_terms(self) -> Topic:
        if not self.query and not self.terms:
            raise ValueError("a topic needs 'query' or 'terms'")
        return self

    @property
    def effective_query(self) -> str:
        """``query`` OR the quoted ``terms``."""
        parts = [f"({self.query})"] if self.query else []
        parts += ['"' + t.replace('"', " ") + '"' for t in self.terms]
        return " OR ".join(parts)


class Rule(_Config):
    """A watch rule: a query over the article, the severity of its alerts and the sinks they go to."""

    id: Id
    query: str
    description: str | None = None
    severity: Severity = "medium"
    sinks: tuple[Id, ...] | None = None     # None: every sink
    once_per_story: bool = False           # alert once per story; later copies only join the story record
    enabled: bool = True
    cooldown: Annotated[float, Field(ge=0, le=30 * 86400)] = 0     # seconds after an alert with no other
    max_per_hour: Annotated[int, Field(ge=1, le=100_000)] | None = None  # alerts in any 3600 s, at most
    min_score: Annotated[float, Field(ge=0)] | None = None   # alert only when its evidence scores this much


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://([^/@?#]*)@", re.IGNORECASE)
_ZONES: dict[str, bool] = {}


def _check_notify_url(url: str) -> str:
    """A ``notify`` URL as written: an Apprise URL (``scheme://...``) or ``${VAR}`` references to environment
    variables (expanded when the sink starts, ``transforms.deliver.notify``). A password written in the
    URL's user part is refused here; the tokens of a service's path (a Slack webhook's, a Telegram bot's)
    are checked when the sink starts, where Apprise says which parts of its URL are secret."""
    text = url.strip()
    if not text:
        raise ValueError("an empty notify URL")
    if not _ENV_REF.fullmatch(text) and "://" not in _ENV_REF.sub("x", text):
        raise ValueError(f"not an Apprise URL (scheme://...) or ${{VAR}}: {text[:60]!r}")
    userinfo = _USERINFO.match(text)
    if userinfo and ":" in userinfo.group(1):
        password = userinfo.group(1).split(":", 1)[1]
        if password and not _ENV_REF.fullmatch(password):
            raise ValueError("a password in clear in a notify URL: put it in an environment variable and write "
                             "${VAR} in its place (for example mailtos://user:${SMTP_PASSWORD}@host)")
    return text


NotifyUrl = Annotated[str, AfterValidator(_check_notify_url)]
Digest = Annotated[str, AfterValidator(lambda v: (parse_digest(v), v)[1])]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def parse_digest(value: str) -> str | float:
    """A ``digest`` setting: ``hourly``, ``daily`` or ``weekly`` (calendar periods in the sink's time zone),
    or a duration (``15m``, ``4h``: periods of that length since the epoch). Raises ``ValueError``."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in ("hourly", "daily", "weekly"):
        return text
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"digest must be hourly, daily, weekly or a duration such as 30m or 4h, not {value!r}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 1 <= seconds <= 31 * 86400:
        raise ValueError(f"a digest period must be between 1 s and 31 days, not {value!r}")
    return seconds


def _check_zone(name: str) -> str:
    if name not in _ZONES:
        import zoneinfo
        try:
            zoneinfo.ZoneInfo(name)
            _ZONES[name] = True
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            _ZONES[name] = False
    if not _ZONES[name]:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as UTC, Europe/Berlin, America/New_York)")
    return name


class Sink(_Config):
    """Where alerts go. ``jsonl`` writes files under ``--out``; ``stdout`` prints a line per alert (``format``:
    ``auto`` is a readable line on a terminal and JSON when piped, or ``human`` / ``json``); ``webhook``
    POSTs JSON to ``url``; ``notify`` sends a message through Apprise to each of ``urls`` (e-mail, Slack,
    ntfy, Telegram, ... -- ``transforms.deliver.notify``), one per alert or, with ``digest``, one per
    period."""

    id: Id
    type: Literal["jsonl", "stdout", "webhook", "notify"] = "jsonl"
    path: str | None = None                 # jsonl: folder relative to --out (default: "alerts")
    url: str | None = None                  # webhook
    urls: tuple[NotifyUrl, ...] = ()        # notify: Apprise URLs; ${VAR} is the environment variable VAR
    #: notify: a Jinja2 file (relative to the config file) whose blocks ``title``, ``text``, ``html`` and
    #: ``markdown`` replace the default message's (``digest_*`` blocks for digests)
    template: str | None = None
    format: Literal["auto", "human", "json"] = "auto"    # stdout
    retries: Annotated[int, Field(ge=0, le=20)] = 3
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 1   # webhook: > 1 POSTs a JSON array of up to N alerts
    #: notify: one message per period instead of one per alert (``parse_digest``), sent when the period
    #: ends (``hour``/``weekday`` in ``timezone`` for daily and weekly digests)
    digest: Digest | None = None
    timezone: Annotated[str, AfterValidator(_check_zone)] = "UTC"
    hour: Annotated[int, Field(ge=0, le=23)] = 8
    weekday: Weekday = "mon"

    @model_validator(mode="after")
    def _needs(self) -> Sink:
        if self.type == "webhook" and not self.url:
            raise ValueError("a webhook sink needs 'url'")
        if self.type == "notify" and not self.urls:
            raise ValueError("a notify sink needs 'urls' (Apprise URLs: mailto://, slack://, ntfy://, json://, ...)")
        if self.type != "jsonl" and self.path:
            raise ValueError(f"'path' is only for jsonl sinks, not {self.type}")
        if self.type != "webhook" and self.batch_size != 1:
            raise ValueError(f"'batch_size' is only for webhook sinks, not {self.type}")
        if self.type != "webhook" and self.url:
            raise ValueError(f"'url' is only for webhook sinks, not {self.type} (notify sinks have 'urls')")
        if self.type != "notify":
            for key in ("urls", "template", "digest"):
                if getattr(self, key):
                    raise ValueError(f"{key!r} is only for notify sinks, not {self.type}")
        if self.type != "stdout" and self.format != "auto":
            raise ValueError(f"'format' is only for stdout sinks, not {self.type}")
        return self


FullText = bool | Literal["auto"]


class Feed(_Config):
    """A feed polled in watch mode: an http(s) URL or a local path."""

    url: str
    interval: Annotated[float, Field(gt=0)] = 300
    source: str | None = None
    id: Id | None = None
    timeout: Annotated[float, Field(gt=0, le=600)] = 20.0               # seconds, per poll
    max_bytes: Annotated[int, Field(gt=0)] = 16 * 1024 * 1024          # size cap of one fetched body
    #: what the feed's first successful poll analyses (``parse_backfill``); None: ``fetch.backfill``
    backfill: Backfill | None = None
    #: fetch each entry's page and match on its full text (``auto``: only entries whose own text is shorter
    #: than ``fetch.full_text_below``); None: ``fetch.full_text``
    fetch_full_text: FullText | None = None


class Fetching(_Config):
    """How watch mode fetches feeds: at most ``concurrency`` requests in flight, ``per_host`` to one host
    (politeness: feeds of one site are not fetched all at once). ``backfill`` is what the first successful
    poll of a feed (no state for it yet) analyses, for every feed without its own ``feeds[].backfill``:
    ``all`` (the default: every entry the feed lists, as before the setting existed), ``none`` (none of
    them: they are remembered as seen, only later entries alert) or a duration (``24h``, ``7d``, ``90m``:
    entries whose published/updated date lies within it before now; an entry without a date is analysed,
    since its age cannot be known)."""

    concurrency: Annotated[int, Field(ge=1, le=1000)] = 64
    per_host: Annotated[int, Field(ge=1, le=100)] = 4
    backfill: Backfill = "all"
    #: full text of feed entries (``transforms.fulltext``): false (the default), true, or auto (when the entry's
    #: own text is shorter than ``full_text_below`` characters); for every feed without its own setting, and
    #: for feed files in batch (``newswatch batch --full-text``)
    full_text: FullText = False
    full_text_below: Annotated[int, Field(ge=0, le=1_000_000)] = 1500
    page_interval: Annotated[float, Field(ge=0, le=3600)] = 1.0        # seconds between two page requests to a host
    page_per_host: Annotated[int, Field(ge=1, le=16)] = 1              # page requests in flight to one host
    page_timeout: Annotated[float, Field(gt=0, le=600)] = 20.0         # seconds, per page (whole request)
    page_max_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024      # size cap of one page
    #: seconds a cached page is used as it is; an older one is asked again with a conditional GET
    page_refresh: Annotated[float, Field(ge=0)] = 86400.0
    #: batch: the page cache file (default ``<out>/.cache/pages.sqlite``; watch keeps its pages in the state file)
    page_cache: str | None = None

    def full_text_of(self, feed: Feed | None) -> FullText:
        """The feed's own ``fetch_full_text``, else this ``full_text``."""
        return feed.fetch_full_text if feed is not None and feed.fetch_full_text is not None else self.full_text

    def backfill_of(self, feed: Feed) -> float | None:
        """``parse_backfill`` of the feed's own setting, else of this one."""
        return parse_backfill(feed.backfill if feed.backfill is not None else self.backfill)


def _default_sinks() -> tuple[Sink, ...]:
    return (Sink(id="default", type="jsonl", path="alerts"),)


class Settings(_Config):
    """The whole configuration file."""

    version: Literal[1] = 1
    topics: tuple[Topic, ...] = ()
    rules: tuple[Rule, ...] = ()
    sinks: tuple[Sink, ...] = Field(default_factory=_default_sinks)
    feeds: tuple[Feed, ...] = ()
    watch_paths: tuple[str, ...] = ()
    fetch: Fetching = Field(default_factory=Fetching)
    source_file: str = Field(default="<memory>", exclude=True)
    # (section, index) -> 1-based line of that item in the YAML file, for error messages (``parse_settings``)
    _item_lines: dict[tuple[str, int], int] = PrivateAttr(default_factory=dict)
    # pickling memos (``__reduce__``): id -> (settings, payload) and digest -> settings unpickled
    _pickled: ClassVar[dict[int, tuple[Settings, tuple[str, str, bytes, tuple[tuple[str, int, int], ...]]]]] = {}
    _unpickled: ClassVar[dict[str, Settings]] = {}

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        sections: tuple[tuple[str, tuple[Topic | Rule | Sink, ...]], ...] = (
            ("topics", self.topics), ("rules", self.rules), ("sinks", self.sinks))
        for kind, items in sections:
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    raise ConfigError(f"duplicate id {item.id!r}", file=self.source_file,
                                      item=f"{kind}[{i}] ({item.id})")
                seen.add(item.id)
        sink_ids = {s.id for s in self.sinks}
        for i, rule in enumerate(self.rules):
            for ref in rule.sinks or ():
                if ref not in sink_ids:
                    raise ConfigError(f"unknown sink {ref!r} (sinks: {', '.join(sorted(sink_ids))})",
                                      file=self.source_file, item=f"rules[{i}] ({rule.id})")
        return self

    def topic_line(self, index: int) -> int | None:
        """The 1-based line of ``topics[index]`` in the YAML file (None for settings not read from YAML)."""
        return self._item_lines.get(("topics", index))

    def __reduce__(self) -> tuple[Any, tuple[str, str, bytes, tuple[tuple[str, int, int], ...]]]:
        """Pickles as its JSON (compressed), its item lines and a digest: every stage's DoFn carries the
        settings and a runner pickles and unpickles each of them, and with thousands of rules the default
        pickle of the models costs seconds per job (5,000 rules: ~1.5 s of an 8 s run on the seeds, measured
        2026-12-01). Unpickling the same settings again in a process returns the same object, so
        ``compile_settings`` finds its compilation at once. Both memos are bounded (``_MEMO``)."""
        cls = type(self)
        entry = cls._pickled.get(id(self))
        if entry is None or entry[0] is not self:
            data = self.model_dump_json().encode("utf-8")
            digest = hashlib.sha256(self.source_file.encode("utf-8", "surrogatepass") + b"\x00" + data).hexdigest()
            lines = tuple((section, index, line) for (section, index), line in self._item_lines.items())
            entry = (self, (digest, self.source_file, zlib.compress(data, 1), lines))
            _remember(cls._pickled, id(self), entry)
            cls._unpickled.setdefault(digest, self)
        return (_settings_from_payload, entry[1])

    def rule_line(self, index: int) -> int | None:
        return self._item_lines.get(("rules", index))


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: parsing and compiling thousands of rules allocates hundreds of
    thousands of long-lived objects, and the collections they trigger (each traversing everything
    allocated so far) were a third of the time of loading and compiling 5,000 rules (measured).
    Reference counting still frees everything that is not in a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_MEMO = 16   # settings per pickling memo


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO:
        memo.pop(next(iter(memo)))
    memo[key] = value


def _settings_from_payload(digest: str, source_file: str, payload: bytes,
                           lines: tuple[tuple[str, int, int], ...] = ()) -> Settings:
    settings = Settings._unpickled.get(digest)
    if settings is None:
        data = json.loads(zlib.decompress(payload))
        settings = Settings.model_validate({**data, "source_file": source_file})
        settings._item_lines.update({(section, index): line for section, index, line in lines})
        _remember(Settings._unpickled, digest, settings)
    return settings


# libyaml's safe loader when PyYAML was built with it (10x faster on large rule files), else the pure one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

def _item_lines(root: yaml.Node | None) -> dict[tuple[str, int], int]:
    """(section, index) -> 1-based line of each item of a top-level list."""
    lines: dict[tuple[str, int], int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.SequenceNode):
                for i, node in enumerate(value.value):
                    lines[(key.value, i)] = node.start_mark.line + 1
    return lines


def _load_yaml(text: str) -> tuple[Any, dict[tuple[str, int], int]]:
    """The YAML document and its item lines (parsed once: the lines come from the same node tree)."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return data, _item_lines(root)


def _describe(loc: tuple[Any, ...], data: Any) -> str:
    """``topics[3] (huawei): query`` for a pydantic error location."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
            node = node[part] if isinstance(node, list | tuple) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                parts[-1] += f" ({node['id']})"
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ": ".join(parts) if parts else "(top level)"


def load_settings(path: str | Path) -> Settings:
    """Read and validate a configuration file; every problem raises ``ConfigError`` naming the file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=file) from None
    return parse_settings(text, file)


def parse_settings(text: str, file: str = "<memory>") -> Settings:
    """Validate configuration YAML given as text (``file`` names it in error messages)."""
    try:
        with paused_gc():   # a big rule file is many long-lived objects: collections only slow it down
            data, lines = _load_yaml(text)  # a safe loader (libyaml or pure)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{where}invalid YAML: {getattr(exc, 'problem', exc)}", file=file) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping (version, topics, rules, sinks, feeds)", file=file)
    try:
        settings = Settings.model_validate({**data, "source_file": file})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
            loc = loc[:-1]
        raise ConfigError(msg + more, file=file, item=_describe(loc, data)) from None
    settings._item_lines.update(lines)
    return settings
