"""Full text of feed entries (``transforms.fulltext.stage``) against a real server on 127.0.0.1 serving real
pages: the entry's body becomes the page's main text with its provenance, the cache answers the second time
(no request; after ``page_refresh`` a conditional GET answered 304), a failed page keeps the summary and adds
a dead letter, a disallowed one only keeps the summary; the batch stage in a TestPipeline, and the watch drain
(``transforms.watch.source.FetchFn``), where an entry waits in the backlog until its page has answered."""

from __future__ import annotations

import time

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import Feed, Fetching
from schemas.records import Origin, RawArticle
from tests.pageserver import PageServer
from transforms.fulltext.cache import PageCache
from transforms.fulltext.stage import FetchFullText, FullText, wants_page
from transforms.normalize import normalize
from transforms.watch.db import SharedDB
from transforms.watch.source import FetchFn, PollTask
from transforms.watch.store import StateStore

SUMMARY = "US and Philippine troops begin joint exercises."
TAIPEI = "/pages/taipeitimes_2024_10_15"


@pytest.fixture
def server():
    with PageServer() as s:
        yield s


def entry(link: str, body: str = SUMMARY, kind: str = "feed", guid: str | None = None) -> RawArticle:
    return RawArticle(origin=Origin(kind=kind, location="http://wire.test/feed.xml", entry_id=guid), title="War games",
                      body=body, url=link, guid=guid)


def fetching(**kw) -> Fetching:
    return Fetching(**{"full_text": True, "page_interval": 0.0, "page_timeout": 2.0, **kw})


def finish(full: FullText, raw: RawArticle):
    ticket = full.start(raw)
    if ticket.future is not None:
        ticket.future.result(timeout=30)
    return full.finish(raw, ticket)


def test_which_entries_want_their_page():
    long = "word " * 400
    assert wants_page(entry("http://a/1"), True, 1500) and wants_page(entry("http://a/1"), "auto", 1500)
    assert not wants_page(entry("http://a/1", body=long), "auto", 1500)
    assert wants_page(entry("http://a/1", body=f"<p>{'x' * 1400}</p>"), "auto", 1500)   # markup does not count
    assert not wants_page(entry("http://a/1"), False, 1500)
    assert not wants_page(entry("http://a/1", kind="html"), True, 1500)            # pages, files: not feed entries
    assert not wants_page(entry("ftp://a/1"), True, 1500) and not wants_page(entry(""), True, 1500)


def test_page_text_replaces_the_summary_once_and_the_cache_answers_after(server, tmp_path):
    db = SharedDB.acquire(str(tmp_path / "pages.sqlite"))
    full = FullText(fetching(), db)
    try:
        raw = entry(server.url(TAIPEI))
        done = finish(full, raw)
        assert done.dead_letter is None
        article = normalize(done.raw)
        assert "Kamandag" in article.body and "Kamandag" not in SUMMARY
        assert article.title == "War games" and article.id == normalize(raw).id       # ids do not change
        src = article.text_from
        assert src is not None and src.matched == "page" and src.status == "fetched"
        assert src.page_url == server.url(TAIPEI) and src.summary_chars == len(SUMMARY) and src.fetched_at
        assert finish(full, raw).raw.text_from.status == "cached"                       # no request
        assert [h.status for h in server.hits("/pages/")] == [200]
    finally:
        full.close()
        db.release()
    db = SharedDB.acquire(str(tmp_path / "pages.sqlite"))       # another run, the same cache file
    full = FullText(fetching(page_refresh=0.0), db)
    try:
        again = finish(full, entry(server.url(TAIPEI)))
        assert again.raw.text_from.status == "revalidated" and "Kamandag" in again.raw.body
        assert [h.status for h in server.hits("/pages/")] == [200, 304]
        assert PageCache(db).size() == 1
    finally:
        full.close()
        db.release()


@pytest.mark.parametrize("path, error", [("/huge", "exceeds the"), ("/binary", "not an HTML page"),
                                         ("/slow/voa_2024_04_28", "deadline"), ("/missing", "HTTP 404")])
def test_a_hostile_page_keeps_the_summary_and_leaves_a_dead_letter(server, tmp_path, path, error):
    server.slow_seconds = 4.0
    db = SharedDB.acquire(str(tmp_path / "pages.sqlite"))
    full = FullText(fetching(page_max_bytes=1_000_000), db)
    try:
        done = finish(full, entry(server.url(path), guid="g-1"))
    finally:
        full.close()
        db.release()
    assert done.raw.body == SUMMARY and done.raw.text_from.matched == "summary"
    assert done.raw.text_from.status == "failed" and error in done.raw.text_from.error
    dead = done.dead_letter
    assert dead is not None and dead.stage == "fetch" and error in dead.error and server.url(path) in dead.error
    assert dead.origin.location == "http://wire.test/feed.xml" and dead.origin.entry_id == "g-1"


def test_a_disallowed_page_keeps_the_summary_without_a_dead_letter(server, tmp_path):
    db = SharedDB.acquire(str(tmp_path / "pages.sqlite"))
    full = FullText(fetching(), db)
    try:
        done = finish(full, entry(server.url("/private/people_2024_04_24")))
    finally:
        full.close()
        db.release()
    assert done.dead_letter is None and done.raw.body == SUMMARY
    assert done.raw.text_from.status == "disallowed"
    assert not server.hits("/private/")


def test_batch_stage_in_a_pipeline(server, tmp_path):
    items = [entry(server.url(TAIPEI)), entry(server.url("/binary"), body="Tariff summary."),
             entry(server.url("/private/people_2024_04_24"), body="Robots say no."),
             entry("http://wire.test/x", kind="jsonl", body="Not a feed entry.")]
    with BeamTestPipeline() as p:
        out = (p | beam.Create(items)
                 | FetchFullText(fetching(), str(tmp_path / "cache" / "pages.sqlite")))
        assert_that(out.items | "Texts" >> beam.Map(lambda r: (r.body[:40] if r.text_from is None or
                                                               r.text_from.matched == "summary" else
                                                               "page:" + str("Kamandag" in r.body))),
                    equal_to(["page:True", "Tariff summary.", "Robots say no.", "Not a feed entry."]), label="items")
        assert_that(out.dead_letters | "Stages" >> beam.Map(lambda d: (d.stage, "not an HTML page" in d.error)),
                    equal_to([("fetch", True)]), label="dead letters")


def test_watch_drain_holds_an_entry_until_its_page_answers(server, tmp_path):
    server.slow_seconds = 1.5
    state = str(tmp_path / "state.sqlite")
    feed = Feed(url="http://wire.test/feed.xml", fetch_full_text=True)
    fn = FetchFn(state, fetching=fetching(full_text=False, page_timeout=5.0), feeds=(feed,))
    fn.setup()
    try:
        store = StateStore(state)
        slow, quick = entry(server.url("/slow/taipeitimes_2024_10_15"), guid="slow"), entry("", guid="no link")
        store.queue_items([(None, slow.model_dump_json()), (None, quick.model_dump_json())])
        fn.store.begin_tick()
        first = list(fn.process(PollTask(collect=True)))
        assert [r.guid for r in first] == ["no link"]            # the slow page delays only its own entry
        assert store.backlog_size() == 1
        deadline = time.monotonic() + 20
        later: list = []
        while not later and time.monotonic() < deadline:
            time.sleep(0.2)
            fn.store.begin_tick()
            later = list(fn.process(PollTask(collect=True)))
        assert [r.guid for r in later] == ["slow"] and "Kamandag" in later[0].body
        assert later[0].text_from.matched == "page" and store.backlog_size() == 0
        store.close()
    finally:
        fn.teardown()
        SharedDB.finish(state)
