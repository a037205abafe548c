"""transforms.fulltext: the full text of summary-only feed entries -- fetch the entry's page, match on its text.

Most feeds carry a sentence or two per entry; with ``fetch_full_text`` (per feed, or ``fetch.full_text`` for
every feed and for feed files in batch) the entry's link is fetched, its main text extracted (trafilatura,
``transforms.ingest.html.extract_page``) and matched instead of the summary. The summary stays the fallback:
whatever happens to the page, the entry still becomes its article, and ``Article.text_from``
(``schemas.records.TextSource``) says which text the rules saw and why.

| module | job |
| ------ | --- |
| ``robots`` | robots.txt: the rules for our user agent, Crawl-delay, what an unreachable file means |
| ``pages`` | ``PageFetcher``: one GET per page under robots.txt, per-host concurrency and spacing, deadlines, caps |
| ``cache`` | ``PageCache``: extracted pages by URL with their validators (SQLite: the watch state file, or a file) |
| ``stage`` | the one code path of batch and watch: which entries want their page (``wants_page``), ``FullText``
              (start a page, finish an entry: text, provenance, dead letters) and the batch stage ``FetchFullText`` |

Layering: ``robots`` imports nothing of ours; ``pages`` imports ``robots`` and ``transforms.net``; ``cache``
imports ``transforms.watch.db`` (the shared connection of a state file); ``stage`` sits on top and imports
``transforms.ingest`` (decoding, extraction). The watch source (``transforms.watch.source``) uses ``stage``
inside its backlog drain; ``pipeline.build`` puts ``FetchFullText`` before normalization in batch.
"""
