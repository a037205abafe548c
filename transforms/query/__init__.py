"""Boolean news-monitoring query language (pure Python, no I/O, no Beam).

Syntax (see :mod:`.parser` for the grammar and :mod:`.lexer` for lexical
rules)::

    tariff* AND (china OR "people's republic") -title:opinion
    "trade war"~2   huawei NEAR/5 sanctions   lang:es   topic:trade-war
    華為   intellectual-property   source:reuters   url:example.com

Semantics in brief (details in :mod:`.folding`, :mod:`.analysis`, :mod:`.fieldindex`,
:mod:`.compiler`):

* matching is case/accent/width-insensitive (:func:`fold`), on tokens
  (maximal runs of ``\\w``; each character of Han/Kana/Thai/... is a token
  of its own, so CJK terms behave as substring searches);
* a word made of several tokens (``U.S.``, ``e-mail``, ``Huawei華為``)
  is matched as the phrase of those tokens;
* ``"a b"~N``: in order, at most N other tokens in between in total;
  ``x NEAR/N y``: either order, at most N tokens in between;
* default field ``text`` = title OR body; also ``title``, ``body``,
  ``source``, ``url``, ``lang`` (exact) and ``topic`` (tag present);
* queries that could match by negation alone are rejected.

Typical use::

    q = compile_query('huawei NEAR/5 sanction*')
    doc = Document({"title": t, "body": b}, lang="en")
    evidence = q.match(doc)   # None or list[Evidence]

The modules, in dependency order (each imports only those above it)::

    errors, lexer            the query text: tokens, the one exception (QuerySyntaxError)
    folding, spacing, keys   document text: fold + offset map, tokens; the spaced text; presearch keys
    wordforms, analysis      word forms per language; a query term's elements (Elem, analyze_term)
    parser                   query text -> AST (And, Or, Not, Near, Word, Phrase, Lang, Topic)
    pretest, fields          regex pretests; the Field interface, Term, Evidence
    fieldindex, hitfield     the reference matcher and the fast one (both Fields)
    document                 Document (fields prepared on first use, the recorded scan), LazyTopics
    filters                  presearch filters of an AST, compiled to closures; anchors
    plans, compiler          evaluation plans; compile_query / CompiledQuery (validation, filters)
    scanner, presearch       the multi-pattern scan; Presearcher (candidates, taxonomy order)

State: no module-level mutable state beyond bounded memos of pure functions (folding, spacing,
``analyze_term``, ``wordforms``: each documents its bound); everything else is owned by the object that
uses it (a plan's pretest and gates, a term's phrase info, a presearcher's per-language index, a
scanner's automata).
"""

from .compiler import CompiledQuery, compile_query
from .document import Document, LazyTopics
from .errors import QuerySyntaxError
from .fields import Evidence
from .folding import fold
from .parser import And, Atom, Lang, Near, Node, Not, Or, Phrase, Topic, Word, parse_query

__all__ = [
    "And",
    "Atom",
    "CompiledQuery",
    "Document",
    "Evidence",
    "Lang",
    "LazyTopics",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QuerySyntaxError",
    "Topic",
    "Word",
    "compile_query",
    "fold",
    "parse_query",
]
