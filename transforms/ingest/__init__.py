"""transforms.ingest: reading inputs -- files in, ``RawArticle`` records and dead letters out.

Entry points: ``read.read_path`` / ``read.read_range`` (one file or byte range, no Beam; the Beam stages over
them, ``ReadArticles`` and ``ReadPlanned``, are in ``transforms.stages``), ``plan.expand_inputs`` / ``plan.plan_path``.

| module | job |
| ------ | --- |
| ``read`` | dispatch: each file to its format's reader, the per-file boundary (no Beam import) |
| ``plan`` | which files the inputs name; which byte ranges of a big WARC/JSONL are read as one piece |
| ``files`` | opening: regular files only, never blocking; names that are not UTF-8 |
| ``formats`` | ``detect_format``: the extension proposes, the content decides |
| ``inflate`` | the bounded gunzip every gzip input goes through (size cap, bomb ratio) |
| ``decode`` | bytes -> text: the one decoding policy |
| ``text`` ``jsonl`` ``jsondoc`` ``feed`` ``html`` ``warc`` | one reader per format |
| ``pagemeta`` | what an HTML page declares about itself: JSON-LD, publication date, headline |
| ``warcsplit`` ``warcio_bounded`` | WARC record boundaries and split points; warcio with bounded reads |
| ``dates`` ``plaintext`` | date parsing and text clean-up, shared with ``transforms.normalize`` |

Layering: ``files``, ``inflate``, ``decode``, ``dates``, ``plaintext`` and ``pagemeta`` import nothing of this
package; the readers import those (``warc`` also ``warcsplit``, ``html``); ``plan`` and ``read`` sit on top.
Nothing here imports ``transforms.normalize`` or ``pipeline``; ``transforms.normalize`` imports ``dates`` and
``plaintext``.
"""
