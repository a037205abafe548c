"""Notify sinks end to end against real receivers on 127.0.0.1 (``tests/e2e/receivers.py``): an SMTP server
getting a real e-mail from an Apprise ``mailto://`` URL, an HTTP receiver for ``json://``, ``ntfy://`` and a
Slack-compatible incoming webhook (``mmost://``), in batch and in watch; digests in watch across a restart
and with ``newswatch digest`` over a batch output; credentials only from the environment."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli import ROOT, newswatch, read_jsonl
from .feedserver import FeedServer
from .receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.e2e

RULES = """
topics:
  - id: huawei
    terms: [Huawei]
rules:
  - id: huawei-watch
    query: topic:huawei
    severity: high
    description: Huawei in the news
"""


@pytest.fixture
def smtp():
    server = SmtpReceiver()
    yield server
    server.close()


@pytest.fixture
def http():
    server = HttpReceiver()
    yield server
    server.close()


def _config(tmp_path: Path, sinks: str, extra: str = "") -> Path:
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(RULES + "sinks:\n  - id: files\n" + sinks + extra, encoding="utf-8")
    return cfg


def test_batch_sends_an_email_per_alert_with_link_and_marked_snippet(tmp_path, smtp):
    cfg = _config(tmp_path, f"""  - id: mail
    type: notify
    urls: ["{smtp.url()}"]
""")
    run = newswatch("batch", "seeds", "--config", str(cfg), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    alerts = read_jsonl(tmp_path / "out" / "alerts")
    assert len(alerts) >= 3 and len(smtp.wait(len(alerts))) == len(alerts)
    assert any(a["article"]["url"] for a in alerts)
    by_subject = {m.subject: m for m in smtp.mails}
    for alert in alerts:
        article = alert["article"]
        mail = by_subject[f"[HIGH] huawei-watch: {article['title']}"]
        assert mail.rcpt_tos == ["analyst@example.org"]
        if article["url"]:
            assert f'href="{article["url"]}"' in mail.html.replace("&amp;", "&")    # the title links the article
        assert "<mark>huawei</mark>" in mail.html.lower()                          # the matched word marked
        assert (article["source"] or "unknown source") in mail.text and "Huawei in the news" in mail.text
        assert "huawei-watch" in mail.text


def test_json_ntfy_and_slack_style_webhooks_get_their_own_form(tmp_path, http):
    cfg = _config(tmp_path, f"""  - id: chat
    type: notify
    urls: ["json://127.0.0.1:{http.port}/hook", "ntfy://127.0.0.1:{http.port}/desk-alerts",
           "mmost://127.0.0.1:{http.port}/${{MM_HOOK}}"]
""")
    token = "3ccdd113474722377935511fc85d3dd4"
    run = newswatch("batch", "seeds", "--config", str(cfg), "--out", str(tmp_path / "out"), env={"MM_HOOK": token})
    assert run.returncode == 0, run.stderr
    alerts = read_jsonl(tmp_path / "out" / "alerts")
    requests = http.wait(3 * len(alerts))
    assert len(requests) == 3 * len(alerts)
    titles = {a["article"]["title"] for a in alerts}
    hooks = [json.loads(r.body) for r in requests if r.path == "/hook"]
    assert {h["title"].split(": ", 1)[1] for h in hooks} == titles
    assert all("*Huawei*" in h["message"] for h in hooks)                       # text form, words marked
    ntfy = [json.loads(r.body) for r in requests if r.path == "/"]
    assert {n["topic"] for n in ntfy} == {"desk-alerts"} and len(ntfy) == len(alerts)
    slack = [json.loads(r.body) for r in requests if r.path == f"/hooks/{token}"]
    assert len(slack) == len(alerts) and all(any(t in s["text"] for t in titles) for s in slack)


def test_a_failing_target_is_retried_then_a_dead_letter_and_the_jsonl_sink_unharmed(tmp_path):
    receiver = HttpReceiver(fail_always=True, fail_status=500)
    try:
        cfg = _config(tmp_path, f"""  - id: chat
    type: notify
    retries: 1
    urls: ["json://127.0.0.1:{receiver.port}/hook"]
""")
        run = newswatch("batch", "seeds", "--config", str(cfg), "--out", str(tmp_path / "out"))
    finally:
        receiver.close()
    assert run.returncode == 0, run.stderr
    alerts = read_jsonl(tmp_path / "out" / "alerts")
    assert alerts
    dead = [d for d in read_jsonl(tmp_path / "out" / "dead_letters") if d["stage"] == "sink"]
    assert len(receiver.requests) == 2 * len(alerts)                            # first try + one retry each
    assert {d["origin"]["entry_id"] for d in dead} == {a["alert_id"] for a in alerts}
    assert all("notify chat" in d["error"] and "after 2 attempts" in d["error"] and "500" in d["error"]
               for d in dead)                                                     # Apprise's reason kept
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["dead_letters"] >= len(alerts)


@pytest.mark.parametrize(("url", "env", "message"), [
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", {}, "written in clear"),
    ("mailtos://bob:hunter22@example.org?to=a@example.org", {}, "password in clear"),
    ("mailtos://bob:${SMTP_PASSWORD}@example.org?to=a@example.org", {"SMTP_PASSWORD": ""}, None),
    ("json://127.0.0.1:9/${NOT_SET_ANYWHERE}", {}, "NOT_SET_ANYWHERE is not set"),
    ("nosuchservice://x/y", {}, "Apprise cannot use this URL"),
])
def test_credentials_only_from_the_environment(tmp_path, url, env, message):
    cfg = _config(tmp_path, f"""  - id: chat
    type: notify
    urls: ["{url}"]
""")
    run = newswatch("check", "--config", str(cfg), env=env)
    if message is None:
        assert run.returncode == 0, run.stderr
        return
    assert run.returncode == 2
    assert message in run.stderr and str(cfg) in run.stderr and "sinks[1] (chat)" in run.stderr
    assert "hunter22" not in run.stderr and "TIiajkdnlazkcOXrIdevi7FQ" not in run.stderr


def test_digest_command_groups_a_batch_output_by_story(tmp_path, smtp):
    cfg = _config(tmp_path, f"""  - id: daily
    type: notify
    digest: daily
    timezone: Europe/Berlin
    urls: ["{smtp.url()}"]
""")
    out = tmp_path / "out"
    run = newswatch("batch", "seeds", "--config", str(cfg), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert smtp.wait(1, timeout=2) == []                   # a digest sink sends nothing during a batch run
    alerts = read_jsonl(out / "alerts")
    stories = {a["story_id"] for a in alerts}
    printed = newswatch("digest", str(out), "--since", "1h", "--config", str(cfg), "--print")
    assert printed.returncode == 0, printed.stderr
    assert f"{len(alerts)} alerts in {len(stories)} stor" in printed.stdout
    sent = newswatch("digest", str(out), "--since", "1h", "--config", str(cfg))
    assert sent.returncode == 0, sent.stderr
    mails = smtp.wait(1)
    assert len(mails) == 1 and mails[0].subject.startswith(f"newswatch digest: {len(alerts)} alerts")
    assert "Europe/Berlin" in mails[0].subject
    for alert in alerts:
        assert alert["article"]["title"] in mails[0].text
    empty = newswatch("digest", str(out), "--since", "2020-01-01", "--until", "2020-01-02", "--config", str(cfg))
    assert empty.returncode == 0 and "nothing sent" in empty.stderr
    assert len(smtp.wait(2, timeout=2)) == 1


# -- watch ----------------------------------------------------------------------------------------------

def _watch(cfg: Path, out: Path, duration: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg), "--out",
                             str(out), "--duration", str(duration)], cwd=str(ROOT), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _item(n: int) -> dict[str, str]:
    return {"title": f"Huawei item {n}", "link": f"http://news.test/h{n}", "body": f"Huawei story number {n}."}


@pytest.mark.slow
def test_watch_emails_a_new_item_within_the_interval_plus_five_seconds(tmp_path, smtp):
    interval = 2
    with FeedServer() as server:
        cfg = _config(tmp_path, f"""  - id: mail
    type: notify
    urls: ["{smtp.url()}"]
""", f"feeds: [{{url: '{server.url('/feed.xml')}', interval: {interval}}}]\n")
        proc = _watch(cfg, tmp_path / "out", 40)
        try:
            deadline = time.monotonic() + 30
            while not server.request_times() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.request_times(), "watch never polled"
            published = time.time()
            server.set_items([_item(1)])
            mails = smtp.wait(1, timeout=interval + 10)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(mails) == 1 and mails[0].subject == "[HIGH] huawei-watch: Huawei item 1"
    assert mails[0].at - published <= interval + 5
    assert "http://news.test/h1" in mails[0].html


@pytest.mark.slow
def test_watch_digest_once_per_period_across_a_restart(tmp_path, smtp):
    period = 40.0
    with FeedServer() as server:
        cfg = _config(tmp_path, f"""  - id: digest
    type: notify
    digest: {period:g}s
    urls: ["{smtp.url()}"]
""", f"feeds: [{{url: '{server.url('/feed.xml')}', interval: 1}}]\n")
        out = tmp_path / "out"
        start = math.ceil(time.time() / period) * period     # the next period boundary
        if start - time.time() < 1:
            start += period
        time.sleep(start - time.time() + 0.5)
        server.set_items([_item(1)])
        first = _watch(cfg, out, 12)                        # stops well before the period ends
        _, err = first.communicate(timeout=90)
        assert first.returncode == 0, err
        assert time.time() < start + period - 10, "the first run took too long for this test's period"
        assert smtp.mails == []                             # the period is still open
        second = _watch(cfg, out, max(10.0, start + period + 15 - time.time()))
        time.sleep(3)
        server.set_items([_item(2), _item(1)])
        _, err = second.communicate(timeout=150)
        assert second.returncode == 0, err
    mails = smtp.wait(1, timeout=5)
    assert len(mails) == 1, [m.subject for m in mails]      # one digest for the period, nothing after it
    mail = mails[0]
    assert mail.subject.startswith("newswatch digest: 2 alerts in 2 stories")
    assert "Huawei item 1" in mail.text and "Huawei item 2" in mail.text
    assert start + period <= mail.at <= start + period + 8
    assert len(read_jsonl(out / "alerts")) == 2              # the JSONL sink had them at once
