"""transforms.deliver: getting records out -- alerts to their sinks, every other record to its JSONL folder.

* ``jsonl``: ``WriteJsonl`` -- records to ``*.jsonl`` files, written to a hidden temp file and renamed; in
  watch, the filter that keeps an alert id from being written twice.
* ``outbox``: the one delivery policy of webhook and notify sinks -- the batch retry loop, the watch outbox
  (queues in the state file, dispatched each tick beside the other sinks), ``Attempt``.
* ``webhook``: ``PostToWebhook`` -- each alert POSTed as JSON, retried (``transforms.net.retry``); in watch
  through the outbox; what fails for good is returned as dead letters.
* ``message``: the words of a notification (Jinja2, ``templates/notify.j2``): one alert or a digest, in text,
  Markdown and HTML.
* ``digest``: digest periods (time zones, DST) and the watch store of a period's alerts.
* ``notify``: ``Notify`` -- messages through Apprise (e-mail, Slack, ntfy, ...), secrets from the environment,
  one outbox queue per URL, digests.
* ``console``: what a ``stdout`` sink prints -- a readable line per alert on a terminal, JSON lines when piped.
* ``routing``: ``WriteAlerts`` -- which sink gets which alert (``rules[].sinks``), one stage per sink.

Layering: ``routing`` imports ``console``, ``jsonl``, ``webhook`` and ``notify``; ``notify`` imports ``outbox``,
``message`` and ``digest``; ``webhook`` imports ``outbox`` and ``jsonl``; ``console`` imports ``jsonl``; nothing
imports back.
A sink's dead letters go back to the wiring (``pipeline.build``), which writes them with all the others.
"""
