"""Presearch (transforms/query/presearch.py): filters, anchors, candidates, and exact equivalence of the fast
path (Tagger / RuleMatcher) with the straightforward evaluator that runs every topic and every rule."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.config import parse_settings
from schemas.records import Article, Origin
from transforms.analyze.match import MAX_MATCHES, RuleMatcher
from transforms.analyze.rules import CompiledSettings, compile_settings
from transforms.analyze.tag import Tagger
from transforms.query import Document, Evidence, compile_query
from transforms.query.filters import FAnd, FLang, FOr, FTerm, FTopic, anchor_of, filter_of
from transforms.query.hitfield import HitField
from transforms.query.presearch import Presearcher
from transforms.query.scanner import Scanner

PROPS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# -- the reference: evaluate everything ------------------------------------------------------------------


def reference(compiled: CompiledSettings, article: Article) -> tuple[dict[str, list[Evidence]], dict[str, list]]:
    """Every topic in dependency order, then every enabled rule: what the fast path must equal."""
    doc = Document({"title": article.title, "body": article.body, "source": article.source or "",
                    "url": article.url or ""}, lang=article.language)
    found: dict[str, list[Evidence]] = {}
    for t in compiled.topics:
        ev = t.query.match(doc.with_topics(found) if t.query.topics else doc)
        if ev is not None:
            found[t.topic.id] = ev
    tagged_doc = doc.with_topics(found)
    rules = {}
    for r in compiled.rules:
        ev = r.query.match(tagged_doc)
        if ev is not None:
            rules[r.rule.id] = [(e.field, e.start, e.end, e.text) for e in ev[:MAX_MATCHES]]
    return found, rules


def fast(compiled: CompiledSettings, article: Article) -> tuple[dict[str, list[Evidence]], dict[str, list]]:
    tagged = Tagger(compiled).tag(article)
    # topic evidence is computed when first asked for; a pickled document carries all of it
    shipped = pickle.loads(pickle.dumps(tagged.document)).topics
    alerts = RuleMatcher(compiled).match(tagged)
    assert list(tagged.article.topics) == sorted(tagged.document.topics)
    assert type(shipped) is dict and shipped == dict(tagged.document.topics.items())
    return ({k: list(v) for k, v in tagged.document.topics.items()},
            {a.rule_id: [(m.field, m.start, m.end, m.text) for m in a.matches] for a in alerts})


def article(title: str, body: str, lang: str | None = "en", source: str = "", url: str = "") -> Article:
    return Article(id="a1", title=title, body=body, source=source or None, url=url or None, language=lang,
                   fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                   origin=Origin(kind="file", location="x.txt"))


# -- filters and anchors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("huawei", FTerm(("huawe*",), 3)),                   # an inflectable word: a token starts with its anchor
    ("=huawei", FTerm(("huawei",), 3)),                  # the exact form: the whole token
    ("title:tariff*", FTerm(("tariff*",), 1)),             # a prefix key: a token starts with it
    ('"intellectual property"~2', FTerm(("intellectu*", "propert*"), 3)),
    ('="intellectual property"~2', FTerm(("intellectual", "property"), 3)),
    ('"U.S. tariffs"', FTerm(("tariff*",), 3)),            # "u", "s": too short to scan
    ("xi OR ip", FOr((FTerm(("xi",), 3), FTerm(("ip",), 3)))),   # whole words: scanned (too short to inflect)
    ("us OR ip", None),                                   # "us": a function word, not scanned
    ('"Office of the USTR"', FTerm(("offic*", "ustr*", "the*"), 3)),
    ('="Office of the USTR"', FTerm(("office", "ustr"), 3)),
    ("us* OR ip*", None),                                 # stems that short are not
    ("華為公司", FTerm(("華為公司",), 3)),
    ("ip NEAR/4 theft", FTerm(("ip", "theft*"), 3)),
    ("ip* NEAR/4 theft", FTerm(("theft*",), 3)),
    ("acme NEAR/4 theft", FTerm(("acm*", "theft*"), 3)),
    ("topic:ip AND NOT patent", FTopic("ip")),
    ("lang:de AND (=zoll OR =zölle)", FAnd((FLang("de"), FOr((FTerm(("zoll",), 3), FTerm(("zolle",), 3)))))),
    ("acme OR (lang:es AND NOT b)", FOr((FTerm(("acm*",), 3), FLang("es")))),
    ("cło", FTerm(("cło",), 3)),
])
def test_filter_of(query, expected):
    """Filters for English documents (the fallback language)."""
    assert filter_of(compile_query(query).ast) == expected


@pytest.mark.parametrize("query, lang, expected", [
    ("huawei", "pl", FTerm(("huaw*",), 3)),                # the anchor depends on the language's stem
    ("trade", "en", FTerm(("trad*",), 3)),
    ("levy", "en", FTerm(("lev*",), 3)),                   # stem levi: its last letter is left out
    ('"U.S. tariffs"', "es", FTerm(("tariffs*",), 3)),     # Spanish rules leave "tariffs" alone
    # in Polish, the forms that do not start with the anchor are alternatives
    ("cło", "pl", FTerm((("cło", "ceł", "cle", "cła", "cłach", "cłami", "cłem", "cłu"),), 3)),
    ("=cło", "pl", FTerm(("cło",), 3)),
    ("umowa", "pl", FTerm(("umow*",), 3)),
])
def test_filter_of_depends_on_the_language(query, lang, expected):
    assert filter_of(compile_query(query).ast, lang) == expected


@pytest.mark.parametrize("query, anchor", [
    ("topic:huawei AND (patent* OR theft)", {("term", "patent*"), ("term", "theft*")}),
    ("topic:huawei AND topic:ip", {("topic", "huawei")}),
    ("lang:es AND topic:tariffs", {("topic", "tariffs")}),
    ("lang:es AND arancel*", {("term", "arancel*")}),
    ("lang:es", {("lang", "es")}),
    ("acme OR topic:x", {("term", "acm*"), ("topic", "x")}),
])
def test_anchor_prefers_terms_then_topics_then_lang(query, anchor):
    assert anchor_of(filter_of(compile_query(query).ast)) == anchor


def test_an_anchor_on_alternatives_is_all_of_them():
    """A Polish word whose forms do not all start with its anchor is anchored on every alternative."""
    f = filter_of(compile_query("topic:huawei AND cło").ast, "pl")
    assert anchor_of(f) == {("term", k) for k in ("cło", "ceł", "cle", "cła", "cłach", "cłami", "cłem", "cłu")}


def test_candidates_respect_fields_near_and_tags():
    qs = [compile_query(q) for q in ["title:acme", "acme NEAR/2 recall", "topic:t AND acme", "lang:fr", "zeta"]]
    ps = Presearcher(qs)
    doc = Document({"title": "news", "body": "Acme said the recall was voluntary"}, lang="en")
    assert ps.candidates(doc) == [1]                       # title:acme needs acme in the title
    assert ps.candidates(doc, tags={"t"}) == [1, 2]
    assert ps.candidates(doc, lang="fr") == [1, 3]
    assert ps.folded_candidates({"body": "recall", "title": "acme"}) == [0]   # NEAR needs both in one field
    assert [q.match(doc) is not None for q in qs] == [False, True, False, False, False]


def test_scanner_finds_substrings_and_pickles():
    lits = ["acme", "華為", "resume", "e", "ab"]
    text = "résumé of acme 華為公司 abe".replace("é", "e")
    ac = Scanner(lits)
    assert ac.scan({"body": text}) == {"acme": 2, "華為": 2, "resume": 2, "e": 2, "ab": 2}
    assert pickle.loads(pickle.dumps(ac)).scan({"title": "acme"}) == {"acme": 1, "e": 1}


def test_document_stays_lazy_when_nothing_is_a_candidate(compiled):
    tagger = Tagger(compiled)
    tagged = tagger.tag(article("Weather", "Sunny all week, light winds from the west."))
    assert tagged.article.topics == ()
    # nothing was tokenized: the ASCII fields were only scanned (HitField, no token lists), nothing searched
    assert all(isinstance(f, HitField) and not f._cache for f in tagged.document._fields.values())
    assert RuleMatcher(compiled).match(tagged) == []
    doc = pickle.loads(pickle.dumps(tagged.document))     # Tagged crosses process boundaries on some runners
    assert doc.field("body").tokens[:2] == ["sunny", "all"]


def test_topic_chain_and_rules_on_topics():
    s = parse_settings("""
topics:
  - {id: base, terms: [acme]}
  - {id: mid, query: 'topic:base AND recall*'}
  - {id: top, query: 'topic:mid OR lang:fr'}
  - {id: other, query: 'NOT topic:base AND zeta'}
rules:
  - {id: r1, query: 'topic:top AND NOT topic:other'}
  - {id: r2, query: 'lang:en'}
  - {id: r3, query: 'topic:base AND acme NEAR/3 x'}
""")
    c = compile_settings(s)
    for art in [article("Acme", "The recall widened."), article("x", "zeta", lang="fr"),
                article("Acme zeta", "nothing"), article("", "acme x", lang=None)]:
        assert fast(c, art) == reference(c, art)
    tagged = Tagger(c).tag(article("Acme", "The recall widened."))
    assert tagged.article.topics == ("base", "mid", "top")
    assert [a.rule_id for a in RuleMatcher(c).match(tagged)] == ["r1", "r2"]


def test_bundled_config_equals_reference_on_seed_texts(compiled):
    from tests.conftest import SEEDS
    from transforms.ingest.read import read_path
    from transforms.normalize import normalize

    arts = [normalize(raw) for p in sorted(SEEDS.rglob("*.txt")) for raw in read_path(str(p))]
    assert arts
    for art in arts:
        assert fast(compiled, art) == reference(compiled, art)


# -- hypothesis: random taxonomies, rules and texts --------------------------------------------------------

VOCAB = ["trade", "tariff", "tariffs", "war", "china", "huawei", "us", "華為", "公司", "résumé", "e-mail",
         "intellectual", "property", "ip", "theft", "x", "levy", "mori", "states", "cło", "umowa", "=trade"]
TEXT_WORDS = [*VOCAB, "Trade", "TARIFFS", "resume", "RÉSUMÉ", "email", "e", "mail", "華", "為", "美國",
              "ＨＵＡＷＥＩ", "Huawei華為", "tariffing", "warfare", "e-mails", "IP-based", "propertY",
              # forms, and tokens that start with a word's anchor but are no form of it ("more" for "mori")
              "trading", "levies", "level", "more", "Mori's", "statement", "state", "ceł", "cła", "cle", "umowie",
              "properties", "thefts", "wars"]
SEPS = [" ", " ", " ", "-", ", ", "", "(", ") ", ". ", "\n"]
TOPIC_IDS = ["t1", "t2", "t3"]


@st.composite
def atoms(draw: st.DrawFn, topics: list[str]) -> str:
    kinds = ["word", "word", "prefix", "phrase", "near", "lang"] + (["topic", "topic"] if topics else [])
    kind = draw(st.sampled_from(kinds))
    field = draw(st.sampled_from(["", "", "", "title:", "body:", "text:", "source:", "url:"]))
    w = draw(st.sampled_from(VOCAB))
    if kind == "word":
        return field + (w if " " not in w else f'"{w}"')
    if kind == "prefix":
        return field + draw(st.sampled_from(["tar", "tariff", "ch", "hua", "w", "us", "prop", "e-ma", "mor",
                                             "stat"])) + "*"
    if kind == "phrase":
        words = [w.lstrip("=") for w in draw(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3))]
        slop = draw(st.sampled_from(["", "", "~1", "~3"]))
        return f'{field}"{" ".join(words)}"{slop}'
    if kind == "near":
        return f"{field}{w} NEAR/{draw(st.integers(0, 3))} {draw(st.sampled_from(VOCAB))}"
    if kind == "lang":
        return "lang:" + draw(st.sampled_from(["en", "es", "zh", "pl"]))
    return "topic:" + draw(st.sampled_from(topics))


def queries(topics: list[str]) -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} AND NOT {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} -({t[1]}))"),
        )

    return st.recursive(atoms(topics), extend, max_leaves=5)


@st.composite
def texts(draw: st.DrawFn, words: list[str]) -> str:
    out = []
    for w in draw(st.lists(st.sampled_from(words), max_size=8)):
        out += [w, draw(st.sampled_from(SEPS))]
    return "".join(out)


def _valid(q: str) -> bool:
    try:
        compile_query(q)
    except Exception:
        return False
    return True


def _yaml_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@st.composite
def configs(draw: st.DrawFn) -> str:
    lines = ["topics:"]
    for k, tid in enumerate(TOPIC_IDS):   # a topic may refer to the topics before it
        q = draw(queries(TOPIC_IDS[:k]).filter(_valid))
        lines.append(f"  - {{id: {tid}, query: {_yaml_str(q)}}}")
    lines.append("rules:")
    for k in range(draw(st.integers(1, 6))):
        q = draw(queries(TOPIC_IDS).filter(_valid))
        lines.append(f"  - {{id: r{k}, query: {_yaml_str(q)}}}")
    return "\n".join(lines) + "\n"


@PROPS
@given(configs(), st.data())
def test_fast_path_equals_reference(config: str, data: st.DataObject) -> None:
    c = compile_settings(parse_settings(config))
    qwords = [w for w in re.findall(r"[^\W\d_]+", config)
              if w not in {"AND", "OR", "NOT", "NEAR", "title", "body", "text", "source", "url", "lang", "topic",
                           "topics", "rules", "id", "query"}]
    words = TEXT_WORDS + qwords * 4
    art = article(data.draw(texts(words)), data.draw(texts(words)),
                  lang=data.draw(st.sampled_from([None, "en", "es", "zh", "pl", "de"])),
                  source=data.draw(texts(words)), url=data.draw(st.sampled_from(["", "https://x.org/huawei-ip"])))
    assert fast(c, art) == reference(c, art)


@st.composite
def long_configs(draw: st.DrawFn) -> str:
    """Topics and rules that are long ORs (8-40 operands, as in a real taxonomy): their operands are indexed by
    anchor key (``plans.OrPlan``) and, past ``presearch._PRECHECK_MAX`` keys, not prechecked."""
    def long_or(topics: list[str]) -> str:
        ops = draw(st.lists(queries(topics).filter(_valid), min_size=8, max_size=40))
        return " OR ".join(f"({q})" for q in ops)

    lines = ["topics:"]
    for k, tid in enumerate(TOPIC_IDS):
        q = long_or(TOPIC_IDS[:k])
        if draw(st.booleans()):   # the long OR under an AND, as in 'topic-words AND NOT ...'
            q = f"({q}) AND NOT {draw(st.sampled_from(VOCAB))}"
        lines.append(f"  - {{id: {tid}, query: {_yaml_str(q)}}}")
    lines.append("rules:")
    lines.append(f"  - {{id: r0, query: {_yaml_str(long_or(TOPIC_IDS))}}}")
    return "\n".join(lines) + "\n"


@PROPS
@given(long_configs(), st.data(), st.booleans())
def test_long_ors_equal_reference(config: str, data: st.DataObject, no_prechecks: bool) -> None:
    from transforms.query import presearch

    saved = presearch._PRECHECK_MAX
    presearch._PRECHECK_MAX = 0 if no_prechecks else saved   # every topic evaluated without its precheck
    try:
        c = compile_settings(parse_settings(config))
        words = TEXT_WORDS * 2 + [w for w in re.findall(r"[^\W\d_]+", config) if w not in {"AND", "OR", "NOT"}]
        art = article(data.draw(texts(words)), data.draw(texts(words)),
                      lang=data.draw(st.sampled_from([None, "en", "es", "zh", "pl", "de"])))
        assert fast(c, art) == reference(c, art)
    finally:
        presearch._PRECHECK_MAX = saved


def test_long_or_index_skips_operands_without_a_present_anchor() -> None:
    from transforms.query.plans import INDEX_MIN, OrPlan

    words = [f"w{i}x" for i in range(3 * INDEX_MIN)]
    q = compile_query(" OR ".join([f'"{w} trade"' for w in words] + ["lang:de AND tariff", "lang:en AND NOT zeta", "lang:es"]))
    doc = Document({"title": "", "body": f"{words[5]} trade and {words[7]}"}, lang="en", fast=True)
    ps = Presearcher([q])
    ps.scan(doc)   # scans and records the scan on the document
    plan = q._plan
    assert isinstance(plan, OrPlan)
    live = plan._live(doc)
    # the two present anchors' phrases (the second then fails on evaluation) and the operands with no key
    # anchor whose filter holds (lang:en); not the 22 other phrases, 'lang:de AND tariff' or lang:es
    n = 3 * INDEX_MIN
    assert [plan.children.index(c) for c in live] == [5, 7, n + 1]
    assert q.match(doc) is not None and [e.text for e in q.match(doc)] == [f"{words[5]} trade"]


@PROPS
@given(st.lists(queries(TOPIC_IDS).filter(_valid), min_size=1, max_size=8), st.data())
def test_candidates_never_drop_a_match(qs: list[str], data: st.DataObject) -> None:
    compiled = [compile_query(q) for q in qs]
    ps = Presearcher(compiled)
    words = TEXT_WORDS + [w for q in qs for w in re.findall(r"[^\W\d_]+", q)] * 3
    doc = Document({f: data.draw(texts(words)) for f in ("title", "body", "source")},
                   lang=data.draw(st.sampled_from([None, "en", "es", "pl"])),
                   topics={t: [] for t in data.draw(st.sets(st.sampled_from(TOPIC_IDS)))})
    cands = set(ps.candidates(doc, doc.topics))
    for i, q in enumerate(compiled):
        if q.match(doc) is not None:
            assert i in cands, (qs[i], doc.topics)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_tokenizer_equals_token_re(text: str) -> None:
    from transforms.query.fieldindex import FieldIndex
    from transforms.query.folding import TOKEN_RE

    fi = FieldIndex("body", text)
    ms = list(TOKEN_RE.finditer(text.lower()))
    assert fi.tokens == [m.group() for m in ms]
    assert fi.starts == [m.start() for m in ms] and fi.ends == [m.end() for m in ms]
    assert fi.joined == bytes([0] + [int(a.start() == b.end()) for a, b in zip(ms[1:], ms, strict=False)])


def test_check_reports_prefilters_and_warns(write_config, capsys):
    from pipeline.cli import main

    cfg = write_config("""
topics: [{id: t, terms: [tariff]}]
rules:
  - {id: keyed, query: 'topic:t AND acme'}
  - {id: bylang, query: 'lang:es'}
  - {id: short, query: 'ip OR "u.s."'}
""")
    assert main(["check", "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    assert "prefiltered on 'acm*'" in out
    assert "NOT prefiltered: only on language (lang:es)" in out
    assert "rule short forces a full evaluation on every article" in err
    assert "rule bylang forces a full evaluation" in err and "rule keyed" not in err


# -- compiled filters equal the interpreted ones ----------------------------------------------------------

_LITS = ["acme", "trade", "華為", "o'neil", "x\\y", "\ud800", "z"]
_IDS = ["t1", "t'2", "t\"3"]


def _filters() -> st.SearchStrategy:
    leaf = st.one_of(
        # a literal is a key or alternative keys (the forms of an inflectable word), one of which is enough
        st.builds(FTerm, st.lists(st.one_of(st.sampled_from(_LITS), st.lists(st.sampled_from(_LITS), min_size=2,
                                                                             max_size=3, unique=True).map(tuple)),
                                  min_size=1, max_size=3, unique=True).map(tuple),
                  st.sampled_from([1, 2, 3, 4, 8, 15])),
        st.builds(FTopic, st.sampled_from(_IDS)),
        st.builds(FLang, st.sampled_from(["en", "de", "zh"])),
    )
    return st.one_of(st.none(), st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(lambda c: FAnd(tuple(c))),
        st.lists(inner, min_size=2, max_size=4).map(lambda c: FOr(tuple(c))),
    ), max_leaves=8))


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(_filters(), min_size=1, max_size=5),
       st.dictionaries(st.sampled_from(_LITS), st.integers(0, 15), max_size=6),
       st.frozensets(st.sampled_from(_IDS)), st.sampled_from([None, "en", "de", "zh"]))
def test_compiled_filters_equal_holds(fs, presence, tags, lang) -> None:
    from transforms.query.filters import compile_filters, holds

    checks = compile_filters(fs)
    assert [bool(c(presence.get, tags, lang)) for c in checks] == [holds(f, presence, tags, lang) for f in fs]
    assert [bool(c(presence.get, set(tags), lang)) for c in checks] == [
        holds(f, presence, set(tags), lang) for f in fs]


def test_compiled_filters_deeper_than_any_query() -> None:
    from transforms.query.filters import compile_filters, holds

    deep: FTerm | FAnd | FOr = FTerm(("acme",), 3)
    for k in range(250):   # deeper than the parser's nesting limit (200 parentheses)
        deep = (FAnd if k % 2 else FOr)((deep, FTerm((f"w{k}",), 3)))
    fs = [FTerm(("acme",), 2), deep, None]
    checks = compile_filters(fs)
    for presence in ({"acme": 2}, {"acme": 1, "w249": 3}, {f"w{k}": 3 for k in range(250)}, {}):
        assert [bool(c(presence.get, frozenset(), None)) for c in checks] == [
            holds(f, presence, frozenset(), None) for f in fs]


@PROPS
@given(st.lists(st.sampled_from(["acme", "trade war", '"acme corp" NEAR/2 recall', "title:acme OR topic:t1",
                                 "lang:de AND (trade OR 華為)", "acme -trade", "(us OR ip) zeta*"]),
                min_size=1, max_size=4))
def test_presearcher_checks_are_its_filters(qs: list[str]) -> None:
    from transforms.query.filters import holds

    ps = Presearcher([compile_query(q) for q in qs])
    for presence in ({"acme": 3, "trade": 2}, {"華為": 2, "war": 2}, {"zeta": 1, "corp": 1, "recall": 1}, {}):
        for tags, lang in ((frozenset(), "de"), (frozenset({"t1"}), None)):
            assert [bool(c(presence.get, tags, lang)) for c in ps.checks] == [
                holds(f, presence, tags, lang) for f in ps.filters]


def test_fields_no_query_looks_in_are_neither_folded_nor_scanned() -> None:
    """The shared scanner scans only the fields the topics and rules look in; a rule on ``source:`` adds
    that field (and changes the scanner's fingerprint, so a tagged document is scanned again)."""
    from transforms.analyze.tag import Tagger

    plain = compile_settings(parse_settings("""
topics:
  - {id: t, terms: [acme]}
rules:
  - {id: r, query: 'title:beta OR acme'}
"""))
    with_source = compile_settings(parse_settings("""
topics:
  - {id: t, terms: [acme]}
rules:
  - {id: r, query: 'source:reuters AND acme'}
"""))
    assert plain.presearch[0].scanner.fields == ("title", "body")
    assert with_source.presearch[0].scanner.fields == ("title", "body", "source")
    art = article("Beta news", "Acme recalls", source="Reuters")
    tagged = Tagger(plain).tag(art)
    assert "source" not in tagged.document._fields and "url" not in tagged.document._fields
    assert plain.presearch[2] != with_source.presearch[2]
    assert [a.rule_id for a in RuleMatcher(with_source).match(tagged)] == ["r"] == list(reference(with_source, art)[1])
    assert fast(plain, art) == reference(plain, art)
