"""Configuration models (``config/newswatch.yaml``) and the loader that turns errors into ``ConfigError``.

Structure is validated here, declaratively. Query *syntax* and ``topic:`` references are checked by
``transforms.analyze.rules.compile_settings``, which knows the query language; references between items
(duplicate ids, rule -> sink ids) and duplicate YAML keys are checked here. Each stage reports *every*
problem it finds at once (``ConfigError.problems``), each with its line and column in the file
(``file:line:col: item: message (did you mean ...?)``) and the CLI exits 2: structure first, queries once
the structure is valid.

Positions come from the YAML node tree. Loading keeps the fast path: the tree is composed once (it gives
the item lines; the loader notes duplicate keys as it builds each mapping), and positions of anything
deeper are only looked up when there is an error: ``Settings.position`` and ``Settings.query_position``
compose the text again then (the text is kept with the settings, ``YamlSource``; settings unpickled in a
worker have only their item lines).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from schemas.errors import ConfigError, Problem
from schemas.records import Severity
from schemas.yamlsource import NodePath, YamlSource, load_yaml, paused_gc, scan

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

    # the YAML text, for positions of errors found after loading (``position``); not part of equality
    _source: YamlSource = PrivateAttr(default_factory=lambda: YamlSource(None))

    @model_validator(mode="after")
    def _unique_ids(self, info: ValidationInfo) -> Settings:
        if info.context and info.context.get("located"):
            return self     # ``parse_settings`` checks them itself, with positions
        found = reference_problems(self)
        if found:
            raise ConfigError(problems=[Problem(self.source_file, None, None, item_name(self, path), message, hint)
                                        for path, message, hint in found])
        return self

    def position(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int | None] | None:
        """The 1-based (line, column) in the YAML file of the value at ``path`` (``("rules", 3, "query")``), or
        of its key (``key``); for a path that is not in the file, the nearest enclosing value. Settings not
        read from YAML: None; unpickled settings: the item's line and no column."""
        if self._source.text is None:
            line = self._item_lines.get((str(path[0]), path[1])) \
                if len(path) >= 2 and isinstance(path[1], int) else None
            return (line, None) if line else None
        return self._source.position(path, key=key)

    def query_position(self, path: Sequence[str | int], offset: int) -> tuple[int, int | None] | None:
        """The 1-based (line, column) in the file of character ``offset`` (0-based) of the string at ``path``:
        exact for plain and quoted one-line scalars and for block scalars (``|``, ``>``); in multi-line flow
        scalars and after escapes of double-quoted ones, the character found by aligning the text."""
        if self._source.text is None:
            return self.position(path)
        return self._source.query_position(path, offset)

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


def item_name(settings_or_data: Any, path: Sequence[Any]) -> str | None:
    """``rules[3] (huawei-ip)`` for a path under an item of a list, ``fetch`` under that section, None at the
    top level (``version``: the key is the message's own)."""
    if not path:
        return None
    section = path[0]
    items = getattr(settings_or_data, str(section), None) if isinstance(settings_or_data, BaseModel) else (
        settings_or_data.get(section) if isinstance(settings_or_data, dict) else None)
    if len(path) == 1 or not isinstance(path[1], int):
        return str(section) if len(path) > 1 or isinstance(items, dict | BaseModel) else None
    name = f"{section}[{path[1]}]"
    item = items[path[1]] if isinstance(items, list | tuple) and 0 <= path[1] < len(items) else None
    item_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    return name + f" ({item_id})" if isinstance(item_id, str) and item_id else name


def _rest(path: Sequence[Any]) -> str:
    """What of ``path`` the item name does not say: ``sinks[1]`` of ``("rules", 0, "sinks", 1)``."""
    if not path:
        return ""
    rest = list(path[2:] if len(path) > 1 and isinstance(path[1], int) else path[1:] if len(path) > 1 else path)
    out = ""
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """``did you mean 'query'?`` when ``word`` is close to one of ``choices`` (difflib), else None."""
    lowered = [c for c in choices if c.lower() == word.lower()]
    close = lowered or difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _model_at(path: Sequence[Any]) -> type[BaseModel] | None:
    """The model of the mapping at ``path`` of the document (``Rule`` at ``("rules", 3)``)."""
    model: type[BaseModel] = Settings
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        sub = _submodel(field.annotation) if field is not None else None
        if sub is None:
            return None
        model = sub
    return model


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [name for name, f in model.model_fields.items() if not f.exclude]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_ID_RULE = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 80"
_KINDS = {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false",
          type(None): "empty"}


def _message(err: Any) -> tuple[str, str | None]:
    """A pydantic error as (message, hint), the way a user reads it."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    scalar = isinstance(value, str | int | float | bool) or value is None
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        shown = ", ".join(f"{e!r}" for e in expected) or str(ctx.get("expected", ""))
        hint = did_you_mean(value, expected) if isinstance(value, str) and expected else None
        if expected == [] and "expected" in ctx:
            return f"{_short(value)} is not {ctx['expected']}", None
        return f"{_short(value)} is not one of {shown}", hint
    if kind == "string_pattern_mismatch" and "a-z0-9" in str(ctx.get("pattern", "")):
        return f"{_short(value)} is not an id ({_ID_RULE} characters)", None
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (key: value), not {_KINDS.get(type(value), type(value).__name__)}", None
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, not {_KINDS.get(type(value), type(value).__name__)}", None
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind != "value_error" and scalar:
        msg += f", not {_short(value)}"
    return msg, None


def _expected(err: Any) -> str:
    """What a union member accepts, for a message about a value none of them accepted."""
    kind = str(err["type"])
    if kind == "literal_error":
        return str((err.get("ctx") or {}).get("expected", "")).replace(" or ", ", ")
    for prefix, what in (("bool", "true, false"), ("int", "a whole number"), ("float", "a number"),
                         ("string", "a string"), ("tuple", "a list"), ("list", "a list")):
        if kind.startswith(prefix):
            return what
    return str(err["msg"]).removeprefix("Value error, ")


def _located(path: Sequence[Any], source: YamlSource, *, key: bool = False) -> tuple[int | None, int | None]:
    pos = source.position(path, key=key)
    return (pos[0], pos[1]) if pos else (None, None)


def _validation_problems(exc: ValidationError, data: dict[str, Any], file: str, source: YamlSource) -> list[Problem]:
    """Every pydantic error as a problem at its place in the file. An unknown key close to a required key
    that is missing from the same item is one problem (``unknown key 'qurey' (did you mean 'query'?)``)."""
    unknown: dict[NodePath, list[Any]] = {}
    missing: dict[NodePath, list[str]] = {}
    other: dict[NodePath, list[Any]] = {}
    for err in exc.errors(include_url=False):
        loc: NodePath = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(loc[-1])
        elif err["type"] == "missing":
            missing.setdefault(loc[:-1], []).append(str(loc[-1]))
        else:
            # a union's members add their names to the location: cut it where the document ends
            node: Any = data
            depth = 0
            for part in loc:
                inside = part in node if isinstance(node, dict) else (
                    isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node))
                if not inside:
                    break
                node = node[part]
                depth += 1
            other.setdefault(loc[:depth], []).append(err)
    problems: list[Problem] = []
    for parent, keys in unknown.items():
        model = _model_at(parent)
        fields = _keys_of(model) if model is not None else []
        node = source.nodes(parent)[1]
        present = {k.value for k, _ in node.value} if isinstance(node, yaml.MappingNode) else set()
        wanted = missing.get(parent, [])
        for key in keys:
            hint = did_you_mean(str(key), wanted) if wanted else None
            if hint is not None:
                wanted.remove(hint.split("'")[1])
            else:
                free = [f for f in fields if f not in present] or fields
                hint = did_you_mean(str(key), free) or (f"known keys: {', '.join(fields)}" if fields else None)
            line, column = _located((*parent, key), source, key=True)
            problems.append(Problem(file, line, column, item_name(data, parent), f"unknown key {_short(key)}", hint))
    for parent, names in missing.items():
        line, column = _located(parent, source)
        for name in names:
            problems.append(Problem(file, line, column, item_name(data, parent), f"missing required key {name!r}"))
    for loc, errs in other.items():
        hint = None
        for err in errs:
            message, h = _message(err)
            hint = hint or h
        if len(errs) > 1:   # the members of a union: what it accepts, together
            wanted = [_expected(err) for err in errs]
            message = f"{_short(errs[0].get('input'))} is not {' or '.join(dict.fromkeys(wanted))}"
        item, rest = item_name(data, loc), _rest(loc)
        line, column = _located(loc, source)
        problems.append(Problem(file, line, column, item, (f"{rest}: " if rest and rest != item else "") + message,
                                hint))
    return problems


def reference_problems(settings: Settings) -> list[tuple[NodePath, str, str | None]]:
    """Duplicate ids of topics, rules and sinks, and rules naming sinks that do not exist: (path of the value,
    message, hint) of each."""
    found: list[tuple[NodePath, str, str | None]] = []
    sections: tuple[tuple[str, tuple[Topic | Rule | Sink, ...]], ...] = (
        ("topics", settings.topics), ("rules", settings.rules), ("sinks", settings.sinks))
    for kind, items in sections:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in first:
                line = settings._item_lines.get((kind, first[item.id]))
                where = f"line {line}" if line else f"{kind}[{first[item.id]}]"
                found.append(((kind, i, "id"), f"duplicate id {item.id!r} (first at {where})", None))
            else:
                first[item.id] = i
    sink_ids = sorted({s.id for s in settings.sinks})
    for i, rule in enumerate(settings.rules):
        for j, ref in enumerate(rule.sinks or ()):
            if ref not in sink_ids:
                found.append((("rules", i, "sinks", j), f"unknown sink {ref!r}",
                              did_you_mean(ref, sink_ids) or f"sinks: {', '.join(sink_ids)}"))
    return found


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


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise ConfigError(problems=problems)


def parse_settings(text: str, file: str = "<memory>") -> Settings:
    """Validate configuration YAML given as text (``file`` names it in error messages); raises ``ConfigError``
    with every problem of its structure (YAML syntax alone: the first, since the parser stops there)."""
    try:
        with paused_gc():   # a big rule file is many long-lived objects: collections only slow it down
            data, root, duplicated = load_yaml(text)  # a safe loader (libyaml or pure)
            lines, duplicates = scan(root, duplicated)
            top = root.start_mark if root is not None else None
            # the node tree is let go here, before validating: errors compose it again
            del root
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        message = f"invalid YAML: {getattr(exc, 'problem', None) or exc}"
        if mark is not None and (text[mark.index:mark.index + 1] == "\t" or "'\\t'" in message):
            message += " (YAML indents with spaces, not tabs)"
        raise ConfigError(message, file=file, line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", file=file) from None
    source = YamlSource(text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping (version, topics, rules, sinks, feeds)", file=file,
                          line=top.line + 1 if top else None, column=top.column + 1 if top else None)
    problems = [Problem(file, k.start_mark.line + 1, k.start_mark.column + 1, item_name(data, path[:-1]),
                        f"duplicate key {path[-1]!r} (also at line {before.start_mark.line + 1}; "
                        "only the last one would be used)")
                for path, k, before in duplicates]
    try:
        settings = Settings.model_validate({**data, "source_file": file}, context={"located": True})
    except ValidationError as exc:
        problems += _validation_problems(exc, data, file, source)
        _raise(problems)
        raise   # not reached: a validation error has errors
    settings._item_lines.update(lines)
    problems += [Problem(file, *_located(path, source), item_name(settings, path), message, hint)
                 for path, message, hint in reference_problems(settings)]
    _raise(problems)
    settings._source = source
    return settings
