"""transforms.throttle: which alerts are delivered and which held back (``once_per_story``, ``cooldown``,
``max_per_hour``).

* ``policy``: the one decision, ``decide``, over a ``DeliveryLog`` (what a rule delivered, and when):
  ``MemoryLog`` in batch, the watch state file's tables (``transforms.stories.store.StoryStore``) in watch.
* ``stages``: the Beam stages -- ``ThrottleAlerts`` (batch: alerts in time order per rule) and
  ``ThrottleAlertsLive`` (watch: element-wise, wall clock).
"""
