"""transforms.deliver: getting records out -- alerts to their sinks, every other record to its JSONL folder.

* ``jsonl``: ``WriteJsonl`` -- records to ``*.jsonl`` files, written to a hidden temp file and renamed; in
  watch, the filter that keeps an alert id from being written twice.
* ``webhook``: ``PostToWebhook`` -- each alert POSTed as JSON, retried (``transforms.net.retry``); in watch
  through the state file's outbox; what fails for good is returned as dead letters.
* ``console``: what a ``stdout`` sink prints -- a readable line per alert on a terminal, JSON lines when piped.
* ``routing``: ``WriteAlerts`` -- which sink gets which alert (``rules[].sinks``), one stage per sink.

Layering: ``routing`` imports ``console``, ``jsonl`` and ``webhook``; ``console`` and ``webhook`` import ``jsonl``;
nothing imports back.
A sink's dead letters go back to the wiring (``pipeline.build``), which writes them with all the others.
"""
