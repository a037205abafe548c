"""transforms.watch: what only continuous monitoring needs -- a clock, fetching, and state that survives restarts.

* ``ticks``: ``PollTicks`` -- the stoppable stream of tick timestamps.
* ``source``: ``PollSources`` -- each tick's due feeds and new files -> fetch -> backlog -> parse
  (``transforms.ingest``).
* ``entries``: a feed entry's id before normalizing; which entries a feed's first poll analyses (``backfill``).
* ``fetch``: conditional GET, timeouts, size cap, per-host limits; retries by ``transforms.net.retry``.
* ``db``: ``SharedDB`` -- one connection per process and state file; a tick's changes commit with its output.
* ``store``: ``StateStore`` over it -- feeds, backlog, seen article ids, sent alert ids, the webhook outbox,
  counters; ``open_state`` (a state file SQLite cannot read is moved aside).
* ``stages``: the watch job's Beam stages over the store -- ``DedupeSeen``, ``DropEmittedAlerts``.

Stories and throttle state of watch live in the same file, in the tables of ``transforms.stories.store``.
"""
