"""transforms.batch: the batch job's hand-over between its two passes, so that memory does not grow with the archive.

* ``spill``: spill files -- the per-article pass writes compact records by id shard (``SpillWriter``, also
  used by the finishing pass for what waits on disk).
* ``settle``: the finishing pass -- a shard at a time: one copy per article id (``transforms.dedupe``), story
  ids (``transforms.stories``), throttling (``transforms.throttle``), story records -> the sinks.
"""
