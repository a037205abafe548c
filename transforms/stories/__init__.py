"""transforms.stories: near-duplicate articles (syndicated copies of one story) share a ``story_id``.

Plain Python (no Beam):

* ``minhash``: the text an article is compared on, its shingles, MinHash signature and LSH band keys.
* ``cluster``: which articles are one story -- LSH candidates, each verified (estimated Jaccard), union-find;
  the story id is the member that sorts first.
* ``record``: the ``Story`` record of a story (outlets, article ids, rules, suppressed count), built alike in
  both modes.
* ``join``: the batch join by article id -- the kept copy, its story id, its alerts.

Modes:

* ``batch``: the Beam batch stages (``StoryIds``, ``SetStoryIds``, ``SignCopiesFn``); the batch job's
  finishing pass (``transforms.batch.settle``) calls the same plain functions over spill files.
* ``live``: ``AssignStoriesLive`` (watch), over ``store``: the story tables of the watch state file, which are
  also watch's delivery log for ``transforms.throttle``.
"""
