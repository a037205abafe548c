"""The fast matching path equals the tokenizing one.

* ``Document(fast=True)`` matches ASCII-folded fields with :class:`HitField` (string searches on the spaced
  folded text, token counting with ``str.count``) instead of :class:`FieldIndex` (a token index): same result
  and evidence for every query, on random texts with accents, CJK, hyphens, fullwidth forms and folds that
  change lengths (ß, İ, ﬁ, combining marks);
* with a presearch scan recorded (``Presearcher.scan``), the skipped work (absent literals, OR operands whose literals
  are all absent) changes nothing;
* alerts built without validation (``model_construct``) serialize exactly like validated ones.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.config import parse_settings
from schemas.records import Alert, AlertArticle, Article, MatchEvidence, Origin
from transforms.analyze import relevance
from transforms.analyze.match import RuleMatcher, alert_article_of, alert_id, snippet
from transforms.analyze.rules import CompiledSettings, compile_settings
from transforms.analyze.tag import Tagged, Tagger
from transforms.query import Document, compile_query
from transforms.query.fieldindex import FieldIndex
from transforms.query.hitfield import HitField
from transforms.query.presearch import Presearcher
from transforms.query.scanner import Scanner
from transforms.query.spacing import spaced_ascii

PROPS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["trade", "tariff", "tariffs", "war", "a", "us", "u", "s", "résumé", "resume", "RÉSUMÉ", "Straße",
         "strasse", "İstanbul", "istanbul", "ﬁne", "fine", "Ｔrade", "ＴＡＲＩＦＦ", "e-mail", "email", "華為",
         "華", "為", "公司", "Huawei華為", "naïve", "naive", "cafe\u0301", "café", "x", "x_y", "42", "ǅemal",
         # word forms: the same stem in several spellings, near misses that share the anchor
         "trading", "traded", "tradition", "wars", "levies", "levy", "level", "ﬁnes", "Straßen", "résumés",
         "deals", "dealer", "ﬁned"]
SEPS = [" ", " ", " ", "-", ", ", "", "(", ") ", ". ", "\n", "  ", "_", "'"]
QWORDS = ["trade", "tariff", "war", "a", "us", "resume", "résumé", "strasse", "straße", "istanbul", "fine",
          "ﬁne", "e-mail", "華為", "華", "x", "x_y", "42", "cafe", "naive", "levy", "levies", "=trade", "=fine",
          "deal", "tradings"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    out: list[str] = []
    for w in draw(st.lists(st.sampled_from(WORDS), max_size=14)):
        out += [w, draw(st.sampled_from(SEPS))]
    return "".join(out)


@st.composite
def atoms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "word", "prefix", "phrase", "phrase", "near"]))
    field = draw(st.sampled_from(["", "", "title:", "body:"]))
    if kind == "word":
        return field + draw(st.sampled_from(QWORDS))
    if kind == "prefix":
        return field + draw(st.sampled_from(["tar", "tariff", "res", "w", "us", "fin", "e-ma", "x", "4"])) + "*"
    if kind == "phrase":
        words = draw(st.lists(st.sampled_from(QWORDS), min_size=1, max_size=4))
        slop = draw(st.sampled_from(["", "", "~1", "~2", "~5"]))
        return f'{field}{draw(st.sampled_from(["", "", "="]))}"{" ".join(w.lstrip("=") for w in words)}"{slop}'
    left = draw(st.sampled_from([*QWORDS, '"trade war"', '"a tariff"', '="trade war"']))
    right = draw(st.sampled_from([*QWORDS, "tariff*", '"us trade"']))
    return f"{field}{left} NEAR/{draw(st.integers(0, 4))} {right}"


def queries() -> st.SearchStrategy[str]:
    return st.recursive(atoms(), lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} AND NOT {t[1]})"),
    ), max_leaves=4)


def _valid(q: str) -> bool:
    try:
        compile_query(q)
    except Exception:
        return False
    return True


@PROPS
@given(st.lists(queries().filter(_valid), min_size=1, max_size=4), texts(), texts(), st.booleans(),
       st.sampled_from([None, "en", "de", "fr"]))
def test_hitfield_equals_token_index(qs: list[str], title: str, body: str, scanned: bool, lang: str | None) -> None:
    compiled = [compile_query(q) for q in qs]
    slow = Document({"title": title, "body": body}, lang=lang)
    fast = Document({"title": title, "body": body}, lang=lang, fast=True)
    if scanned:
        ps = Presearcher(compiled)
        ps.scan(fast)   # scans and records the scan on the document
    for q in compiled:
        assert q.match(fast) == q.match(slow), q.source
        assert q.matches(fast) == (q.match(slow) is not None), q.source   # the short-circuit test
    for name in ("title", "body"):
        fi = fast.field(name)
        assert isinstance(fi, HitField) and isinstance(slow.field(name), FieldIndex)
        assert fi.tokens == slow.field(name).tokens


@PROPS
@given(st.lists(queries().filter(_valid), min_size=1, max_size=6), texts(), texts())
def test_token_start_scan_is_a_necessary_condition(qs: list[str], title: str, body: str) -> None:
    compiled = [compile_query(q) for q in qs]
    ps = Presearcher(compiled)
    fast = Document({"title": title, "body": body}, fast=True)
    plain = Document({"title": title, "body": body})
    cands = set(ps.candidates(fast))
    assert cands <= set(ps.candidates(plain))      # token starts: never more candidates than substrings
    for i, q in enumerate(compiled):
        if q.match(plain) is not None:
            assert i in cands, q.source


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_spaced_ascii_tokens(text: str) -> None:
    from transforms.query.folding import TOKEN_RE

    spaced = spaced_ascii(text.lower())
    assert spaced.split() == TOKEN_RE.findall(text.lower())
    assert [(m.start() + 1, m.end() + 1) for m in TOKEN_RE.finditer(text.lower())] == [
        (i, spaced.index(" ", i)) for i in range(1, len(spaced) - 1) if spaced[i] != " " and spaced[i - 1] == " "]


def test_examples() -> None:
    doc = Document({"title": "Straße-Tariffs: the İstanbul ﬁne", "body": "Trade,  war! a trade (war) résumé"},
                   fast=True)
    assert isinstance(doc.field("title"), HitField) and isinstance(doc.field("body"), HitField)
    m = compile_query('"trade war" tariff* strasse "istanbul fine" resume').match(doc)
    assert m is not None
    assert [(e.field, e.text) for e in m] == [
        ("body", "Trade,  war"), ("body", "trade (war"), ("body", "résumé"), ("title", "Straße"),
        ("title", "Tariffs"), ("title", "İstanbul ﬁne")]
    near = compile_query("trade NEAR/1 résumé").match(doc)
    assert near is not None and [e.start for e in near] == [15, 27]
    adj = compile_query('"trade war"~0 NEAR/0 résumé').match(doc)
    assert adj is not None and [e.text for e in adj] == ["trade (war", "résumé"]
    assert compile_query('"trade war"~0 NEAR/0 straße').match(doc) is None
    cjk = Document({"body": "美國華為公司"}, fast=True)
    assert isinstance(cjk.field("body"), HitField)
    assert compile_query("華為").match(cjk) is not None


def test_scanning_records_the_scan_on_the_document() -> None:
    doc = Document({"title": "Acme", "body": "acme trade"}, fast=True)
    ps = Presearcher([compile_query("acme OR zeta")])
    assert doc.scan_info is None
    presence = ps.scan(doc)
    assert presence == {"acm*": 3}
    recorded, keys = doc.scan_info  # type: ignore[misc]
    assert recorded is presence and "zeta*" in keys      # zeta was scanned for: known absent
    hf = doc.hit_field("body")
    assert hf is not None and hf.all_ascii
    # a presence known from an earlier scan (the record is not pickled) is recorded again, not rescanned
    back = pickle.loads(pickle.dumps(doc))
    known = {"acm*": 1}   # (not what a scan would find: proves that no scan ran)
    assert ps.scan(back, known) is known and back.scan_info is not None and back.scan_info[0] is known
    assert Document({"body": "x"}).hit_field("body") is None   # a reference document has no fast fields


def test_scan_is_not_pickled_and_copies_share_it() -> None:
    doc = Document({"body": "acme trade"}, fast=True)
    ps = Presearcher([compile_query("acme OR zeta")])
    ps.scan(doc)   # scans and records the scan on the document
    assert ps.scan(doc) == {"acm*": 2}
    assert doc.with_topics({"t": []}).scan_info is doc.scan_info
    back = pickle.loads(pickle.dumps(doc))
    assert back.scan_info is None and back.fast
    assert compile_query("acme").match(back) == compile_query("acme").match(doc)


def test_scanner_token_starts() -> None:
    sc = Scanner(["ban", "trade", "華為", "zolle"])
    doc = Document({"title": "bank trade-ban", "body": "華為公司 ban", "source": "rebank"}, fast=True)
    assert sc.scan_document(doc) == {"trade": 1, "ban": 3, "華為": 2}
    assert sc.scan({"title": "bank", "source": "rebank"}) == {"ban": 5}
    # whole words are whole tokens; a prefix key is a token start; both are substrings for ``scan``
    sc = Scanner(["ban*", "trade", "rade*", "華為"])
    assert sc.scan_document(doc) == {"ban*": 3, "trade": 1, "華為": 2}
    assert sc.scan({"title": "bank", "source": "rebank"}) == {"ban*": 5}


def _article(title: str, body: str) -> Article:
    return Article(id="a1", title=title, body=body, url="https://x.org/1", source="Wire", language="en",
                   published_at=datetime(2024, 3, 1, 8, tzinfo=UTC), fetched_at=datetime(2024, 3, 1, tzinfo=UTC),
                   origin=Origin(kind="file", location="x.txt"), topics=("t",), story_id=None)


def _two_alerts() -> tuple[CompiledSettings, Article, Tagged, list[Alert]]:
    c = compile_settings(parse_settings("""
topics: [{id: t, terms: [acme]}]
rules:
  - {id: r1, query: 'topic:t AND recall*', severity: high}
  - {id: r2, query: '"acme corp" NEAR/3 lawsuit'}
"""))
    art = _article("Acme recalls", "Acme Corp faces a lawsuit. The recall widened to Ré\u0301sumé units.")
    tagged = Tagger(c).tag(art)
    return c, art, tagged, RuleMatcher(c).match(tagged)


def test_constructed_alerts_serialize_like_validated_ones() -> None:
    c, art, tagged, alerts = _two_alerts()
    assert [a.rule_id for a in alerts] == ["r1", "r2"]
    for a in alerts:
        rule = next(r.rule for r in c.rules if r.rule.id == a.rule_id)
        ref = Alert(alert_id=alert_id(rule.id, art.id), rule_id=rule.id, severity=rule.severity,
                    created_at=a.created_at,
                    article=AlertArticle(id=art.id, title=art.title, url=art.url, source=art.source,
                                         published_at=art.published_at, language=art.language, origin=art.origin),
                    topics=tagged.article.topics,
                    matches=tuple(MatchEvidence(field=m.field, start=m.start, end=m.end, text=m.text)
                                  for m in a.matches),
                    snippet=snippet(tagged.article, a.matches), story_id=art.id,  # type: ignore[arg-type]
                    score=relevance.score(a.matches, len(art.body)),
                    topic_scores={t: relevance.score(tagged.document.topics[t], len(art.body))
                                  for t in tagged.article.topics})
        assert a.score > 0 and (a.rule_id != "r1" or a.topic_scores["t"] > 0)
        assert a.model_dump(mode="json") == ref.model_dump(mode="json")
        assert a.model_dump_json() == ref.model_dump_json()
        assert a == ref
        assert Alert.model_validate(a.model_dump(mode="json")) == a
    assert alert_article_of(art).model_dump() == AlertArticle(
        id=art.id, title=art.title, url=art.url, source=art.source, published_at=art.published_at,
        language=art.language, origin=art.origin).model_dump()


# -- non-ASCII fields: the same in-place path (spaced text + offset map), no tokenizing ------------------------

UWORDS = ["華為", "華", "為", "公司", "美國", "华星科技", "科技", "東京", "とうきょう", "カタカナ", "ｶﾀｶﾅ", "ไทย", "ภาษา",
          "İstanbul", "ıstanbul", "Istanbul", "ISTANBUL", "Çelik", "Ağır", "Straße", "STRASSE", "ﬁne", "Ｔｒａｄｅ",
          "ＴＡＲＩＦＦ", "cafe\u0301", "Ré\u0301sumé", "naïve", "Zoë", "Müller", "Москва", "москва", "서울", "한국어",
          "Huawei華為", "華為Huawei", "e-mail", "trade", "war", "tariffs", "us", "a", "x_y", "42", "٣", "々", "〆",
          # word forms in several scripts (Polish forms whose vowels change, an ASCII Polish form, Cyrillic)
          "cło", "cła", "ceł", "cle", "CŁA", "umowie", "umowa", "Москвы", "санкции", "санкция", "Straßen", "trading"]
USEPS = [" ", " ", "", "", "-", "、", "。", "，", "(", ") ", "\u3000", "・", "_", "'", "\n", "  ", "「", "」"]
UQWORDS = ["華為", "華", "為", "公司", "美國", "科技", "华星", "東京", "京", "カタカナ", "かな", "ไทย", "istanbul",
           "ıstanbul", "İstanbul", "çelik", "strasse", "straße", "fine", "trade", "tariff", "resume", "zoe",
           "muller", "москва", "서울", "huawei", "e-mail", "x_y", "42", "華為 公司", "Huawei華為", "々",
           "cło", "=cło", "ceł", "umowa", "санкция", "=москва", "cło trade"]


@st.composite
def utexts(draw: st.DrawFn) -> str:
    out: list[str] = []
    for w in draw(st.lists(st.sampled_from(UWORDS), max_size=16)):
        out += [w, draw(st.sampled_from(USEPS))]
    return "".join(out)


@st.composite
def uatoms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "word", "prefix", "phrase", "phrase", "near"]))
    field = draw(st.sampled_from(["", "", "title:", "body:"]))
    if kind == "word":
        return field + draw(st.sampled_from(UQWORDS))
    if kind == "prefix":
        return field + draw(st.sampled_from(["華", "華為", "tar", "ista", "ıs", "stra", "мос", "서", "hua", "e-ma",
                                             "カタ", "x"])) + "*"
    if kind == "phrase":
        words = draw(st.lists(st.sampled_from(UQWORDS), min_size=1, max_size=4))
        slop = draw(st.sampled_from(["", "", "~1", "~2", "~5"]))
        return f'{field}"{" ".join(words)}"{slop}'
    left = draw(st.sampled_from([*UQWORDS, '"華為 公司"', '"美國華為"~2', '"istanbul trade"']))
    right = draw(st.sampled_from([*UQWORDS, "華*", '"公司 科技"~3', "tariff*"]))
    return f"{field}{left} NEAR/{draw(st.integers(0, 4))} {right}"


def uqueries() -> st.SearchStrategy[str]:
    return st.recursive(uatoms(), lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} AND NOT {t[1]})"),
    ), max_leaves=4)


@PROPS
@given(st.lists(uqueries().filter(_valid), min_size=1, max_size=4), utexts(), utexts(), st.booleans(),
       st.sampled_from([None, "pl", "ru", "de", "zh"]))
def test_non_ascii_hitfield_equals_token_index(qs: list[str], title: str, body: str, scanned: bool,
                                               lang: str | None) -> None:
    compiled = [compile_query(q) for q in qs]
    slow = Document({"title": title, "body": body}, lang=lang)
    fast = Document({"title": title, "body": body}, lang=lang, fast=True)
    if scanned:
        ps = Presearcher(compiled)
        ps.scan(fast)   # scans and records the scan on the document
    for q in compiled:
        assert q.match(fast) == q.match(slow), q.source
        assert q.matches(fast) == (q.match(slow) is not None), q.source   # the short-circuit test
    for name in ("title", "body"):
        fi, ref = fast.field(name), slow.field(name)
        assert isinstance(fi, HitField) and isinstance(ref, FieldIndex)
        assert fi.tokens == ref.tokens


@PROPS
@given(utexts())
def test_non_ascii_evidence_of_every_token(text: str) -> None:
    fast, slow = Document({"body": text}, fast=True), Document({"body": text})
    hf, fi = fast.field("body"), slow.field("body")
    assert isinstance(hf, HitField) and isinstance(fi, FieldIndex)
    spans = [(i, hf.padded.index(" ", i)) for i in range(1, len(hf.padded) - 1)
             if hf.padded[i] != " " and hf.padded[i - 1] == " "]
    assert [hf.evidence(a, b) for a, b in spans] == [fi.evidence(p, p) for p in range(len(fi.tokens))]


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(max_size=60))
def test_spaced_text_tokens(text: str) -> None:
    from transforms.query.folding import TOKEN_RE, fold
    from transforms.query.spacing import spaced_text

    folded = fold(text)
    assert spaced_text(folded).split() == TOKEN_RE.findall(folded)
    fast, slow = Document({"body": text}, fast=True), Document({"body": text})
    assert fast.field("body").tokens == slow.field("body").tokens
    for q in ("華為", '"華 為"~1', "a NEAR/2 b"):
        assert compile_query(q).match(fast) == compile_query(q).match(slow)


def test_non_ascii_examples() -> None:
    doc = Document({"title": "İSTANBUL'da Huawei華為公司", "body": "美國華為、華 為。Straße ﬁne Müller-Çelik"},
                   fast=True)
    assert isinstance(doc.field("title"), HitField) and isinstance(doc.field("body"), HitField)
    m = compile_query('華為 "istanbul da" straße "muller celik" huawei*').match(doc)
    assert m is not None
    assert [(e.field, e.text) for e in m] == [
        ("body", "華為"), ("body", "Straße"), ("body", "Müller-Çelik"), ("title", "İSTANBUL'da"),
        ("title", "Huawei"), ("title", "華為")]
    assert compile_query('"華為"').match(Document({"body": "華、為"}, fast=True)) is None
    near = compile_query('"華 為"~0 NEAR/1 fine').match(doc)
    assert near is not None and [e.text for e in near] == ["華 為", "ﬁne"]
    assert compile_query('"華 為"~0 NEAR/0 fine').match(doc) is None
    near = compile_query('為 NEAR/3 straße').match(doc)
    assert near is not None and [e.text for e in near] == ["為", "為", "Straße"]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["trade", "talks", "Talks", "“", "”", "—", "Société", "华为", "-", "’s", "é", "x"]),
                max_size=40), st.sampled_from([" ", "", ", "]))
def test_mostly_ascii_text_with_curly_quotes(parts: list[str], sep: str) -> None:
    """Curly quotes and dashes make the folded text non-ASCII but its tokens ASCII: such a field takes the
    ASCII paths (token-mode scan, offset p - 1) and must still give the tokenizing path's results."""
    text = sep.join(parts)
    queries = ["trade talks", "trade NEAR/2 talks", "societe", "华为", '"talks trade"~1', "tal*", "s"]
    ps = Presearcher([compile_query(q) for q in queries])
    fast, slow = Document({"body": text}, fast=True), Document({"body": text})
    ps.scan(fast)   # scans and records the scan on the document
    for q in queries:
        assert compile_query(q).match(fast) == compile_query(q).match(slow), q
    assert set(ps.candidates(fast)) >= {i for i, q in enumerate(queries) if compile_query(q).match(slow)}


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["alpha", "beta", "gamma", "華", "“", "alphas", "beta-alpha"]), max_size=60),
       st.integers(0, 4))
def test_near_direct_pairs_and_token_index_agree_with_reference(parts: list[str], n: int) -> None:
    """NEAR counts tokens pair by pair for few occurrences and through the token index for many (> 16
    pairs): both must give the tokenizing path's evidence."""
    text = " ".join(parts)
    for q in (f"alpha NEAR/{n} beta", f"alpha* NEAR/{n} gamma", f'"alpha beta" NEAR/{n} 華'):
        fast, slow = Document({"body": text}, fast=True), Document({"body": text})
        assert compile_query(q).match(fast) == compile_query(q).match(slow), q


def test_scan_hits_give_the_same_positions_as_searching() -> None:
    """The token-mode scan keeps where each key occurs; a field with those hits finds scanned words and
    prefixes without searching, at the same offsets as the search (and an unscanned word still searches)."""
    text = "Tariffs rose; the tariff list grew. Tariffs, tariffs: trade-offs and trade."
    ps = Presearcher([compile_query(q) for q in ("tariff*", "trade", "list")])
    doc = Document({"body": text}, fast=True)
    ps.scan(doc)   # scans and records the scan on the document
    hf = doc.field("body")
    assert isinstance(hf, HitField) and hf._hits is not None
    plain = Document({"body": text}, fast=True).field("body")
    assert isinstance(plain, HitField) and plain._hits is None
    for q in ("tariff*", "trade", "list", "grew", '"tariff list"', "trade NEAR/2 tariffs"):
        assert compile_query(q).match(doc) == compile_query(q).match(Document({"body": text})), q
    from transforms.query.analysis import Elem
    for e in (Elem("tariff", prefix=True), Elem("trade"), Elem("list")):
        assert hf.positions(e) == plain.positions(e) != []


def test_packed_alerts_round_trip() -> None:
    """The batch story join ships alerts packed as plain tuples: unpacked, they equal the originals (and
    serialize the same), with the story id replaced when one is given."""
    import pickle

    from schemas.records import pack_alert, unpack_alert

    alerts = _two_alerts()[3]
    assert len(alerts) == 2
    for a in alerts:
        back = unpack_alert(pickle.loads(pickle.dumps(pack_alert(a))))
        assert back == a and back.model_dump_json() == a.model_dump_json()
        assert back.__pydantic_fields_set__ == a.__pydantic_fields_set__
        moved = unpack_alert(pack_alert(a), "story-1")
        assert moved.story_id == "story-1" and moved.model_copy(update={"story_id": a.story_id}) == a
        # UTC times travel as integer microseconds (no datetime to pickle), exactly; others as they are
        state = pack_alert(a)
        assert type(state[3]) is int and unpack_alert(state).created_at == a.created_at
        odd = a.model_copy(update={"created_at": datetime(2024, 5, 6, 7, 8, 9, 123457,
                                                          tzinfo=timezone(timedelta(hours=2)))})
        assert unpack_alert(pack_alert(odd)).model_dump_json() == odd.model_dump_json()
        exact = a.model_copy(update={"created_at": datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)})
        assert unpack_alert(pack_alert(exact)).created_at == exact.created_at


def test_word_and_prefix_keys_of_one_stem_stay_apart() -> None:
    """``tariff`` (a word) and ``tariff*`` (a prefix) are different presearch keys: a text with ``tariffs``
    but no ``tariff`` token lacks the first and has the second, and a term ending in the prefix still matches."""
    queries = ["=tariff", "tariff*", "=tariff NEAR/2 =war", "tariff* NEAR/2 =war", "=new-tariff*", "tariff"]
    ps = Presearcher([compile_query(q) for q in queries])
    text = "New tariffs war looms"
    fast, slow = Document({"body": text}, fast=True), Document({"body": text})
    ps.scan(fast)   # scans and records the scan on the document
    assert ps.scan(fast) == {"tariff*": 2, "war": 2, "new": 2}   # "tariff": anchor tariff*, as the prefix
    for q in queries:
        assert compile_query(q).match(fast) == compile_query(q).match(slow), q
    assert [compile_query(q).match(fast) is not None for q in queries] == [False, True, False, True, True, True]


def test_fields_with_cjk_scan_ascii_keys_as_tokens() -> None:
    """A field that is not all ASCII is scanned like an ASCII one for the ASCII keys (whole tokens, token
    starts, with their hits) and by substring for the others: ``ip`` inside ``shipping`` is not a hit,
    华为 is found, and every query gives the tokenizing path's evidence."""
    text = "华为 shipping equipment to Europe; IP theft charges against 华为公司, ships impounded."
    queries = ("ip", "华为", "ship*", '"ip theft"', "europe NEAR/3 ip")
    ps = Presearcher([compile_query(q) for q in queries])
    doc = Document({"body": text}, fast=True)
    presence = ps.scan(doc)
    hf = doc.field("body")
    assert isinstance(hf, HitField) and not hf.all_ascii and hf._hits is not None
    assert hf._hits[1] == ps.scanner.ascii_keys and "华为" not in hf._hits[1]
    assert presence["ip"] and presence["ship*"] and presence["华为"]
    assert hf._hits[2]["ip"] and len(hf._hits[2]["ip"]) == 1            # the token, not "sh-ip-ping"/"equ-ip-ment"
    for q in queries:
        assert compile_query(q).match(doc) == compile_query(q).match(Document({"body": text})), q
