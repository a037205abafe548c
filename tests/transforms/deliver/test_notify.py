"""Notify targets: ``${VAR}`` from the environment, each service's body form, its secrets never in the file,
and a send that fails says why (what Apprise logged) instead of raising."""

from __future__ import annotations

import pytest

from schemas.config import Sink
from schemas.errors import ConfigError
from tests.e2e.receivers import HttpReceiver
from transforms.deliver.message import Message
from transforms.deliver.notify import Sender, targets

SLACK = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


def _sink(*urls: str, **kw) -> Sink:
    return Sink(id="n", type="notify", urls=urls, **kw)


def test_each_service_gets_its_preferred_form_and_secrets_are_masked():
    found = targets(_sink("mailtos://bob:${PW}@example.org?to=a@example.org", "slack://${SLACK}/#news",
                          "ntfy://ntfy.sh/desk"), environ={"PW": "s3cret-pw", "SLACK": SLACK})
    assert [t.form for t in found] == ["html", "markdown", "text"]
    assert [t.queue for t in found] == ["n#0", "n#1", "n#2"]
    assert "s3cret-pw" not in found[0].label and "TIiajkdnlazkcOXrIdevi7FQ" not in found[1].label


def test_a_secret_path_token_written_in_the_file_is_refused():
    with pytest.raises(ConfigError, match="written in clear"):
        targets(_sink(f"slack://{SLACK}/#news"), environ={})
    with pytest.raises(ConfigError, match="TOKEN is not set"):
        targets(_sink("slack://${TOKEN}/#news"), environ={})


def test_a_failed_send_returns_the_reason():
    receiver = HttpReceiver(fail_always=True, fail_status=500)
    try:
        target, = targets(_sink(f"json://127.0.0.1:{receiver.port}/hook", timeout=5), environ={})
        sender = Sender(5)
        try:
            attempt = sender.send(target, Message("t", {"text": "body", "html": "<p>body</p>", "markdown": "b"}))
        finally:
            sender.close()
    finally:
        receiver.close()
    assert not attempt.ok and attempt.retryable
    assert "json://127.0.0.1" in (attempt.reason or "") and "500" in (attempt.reason or "")
    assert receiver.requests and receiver.requests[0].path == "/hook"


def test_check_sinks_reports_every_bad_url_of_every_sink_at_once_with_its_line():
    from schemas.config import parse_settings
    from transforms.deliver.notify import check_sinks

    text = """version: 1
sinks:
  - id: files
    type: jsonl
  - id: chat
    type: notify
    urls:
      - "slack://${NO_SUCH_TOKEN}/#news"
      - "nosuchservice://x/y"
  - id: desk
    type: notify
    urls: ["json://127.0.0.1:9/${ALSO_UNSET}"]
"""
    with pytest.raises(ConfigError) as caught:
        check_sinks(parse_settings(text, "cfg.yaml"), environ={})
    lines = str(caught.value).splitlines()
    assert lines[0] == "3 problems in cfg.yaml:"
    assert lines[1].startswith("cfg.yaml:8:9: sinks[1] (chat): urls[0]: environment variable NO_SUCH_TOKEN")
    assert lines[2].startswith("cfg.yaml:9:9: sinks[1] (chat): urls[1]: Apprise cannot use this URL")
    assert lines[3].startswith("cfg.yaml:12:12: sinks[2] (desk): urls[0]: environment variable ALSO_UNSET")
