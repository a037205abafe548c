"""A ``stdout`` sink through the real CLI: JSON lines (and nothing else) when standard output is a pipe, readable
coloured lines under a real pseudo-terminal, logs on standard error in every case -- also when standard error
is the terminal and its spinner is running while standard output is piped."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
from rich.cells import cell_len

from transforms.deliver.console import MIN_TITLE

from .cli import ROOT, newswatch, read_jsonl

pytestmark = pytest.mark.e2e

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLUMNS = 160


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """The bundled configuration with a jsonl sink (the reference) and a stdout sink of format auto."""
    text = (ROOT / "config" / "newswatch.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("stdout-config") / "newswatch.yaml"
    path.write_text(text[:text.index("\nsinks:")] + "\nsinks:\n  - {id: files, type: jsonl}\n"
                    "  - {id: screen, type: stdout}\n", encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "FORCE_COLOR")}
    return {**env, "TERM": "xterm-256color"}


def _terminal(columns: int = COLUMNS) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    return master, slave


def _drain(master: int, into: list[bytes]) -> threading.Thread:
    """Read the terminal's output until every writer has closed it (EIO), in the background."""
    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            into.append(chunk)
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _run(args: list[str], tty_stdout: bool, tty_stderr: bool) -> tuple[int, str, str]:
    """The CLI with its stdout and/or stderr on one real pseudo-terminal, the other on a pipe."""
    master, slave = _terminal()
    chunks: list[bytes] = []
    reader = _drain(master, chunks)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=str(ROOT), env=_env(),
                                stdin=subprocess.DEVNULL,
                                stdout=slave if tty_stdout else subprocess.PIPE,
                                stderr=slave if tty_stderr else subprocess.PIPE)
        os.close(slave)
        piped_out, piped_err = proc.communicate(timeout=300)
        reader.join(timeout=30)
    finally:
        os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    out = terminal if tty_stdout else piped_out.decode("utf-8")
    err = terminal if tty_stderr else piped_err.decode("utf-8")
    return proc.returncode, out, err


def _alerts(out: Path) -> list[dict]:
    alerts = read_jsonl(out / "alerts")
    assert len(alerts) >= 10, "the seeds alert on many rules"
    return alerts


def test_piped_stdout_is_json_lines_only_one_per_alert_and_logs_on_stderr(config, tmp_path):
    result = newswatch("batch", "seeds", "--config", str(config), "--out", str(tmp_path), env=_env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    printed = [json.loads(line) for line in lines]                 # every line is JSON: nothing else on stdout
    assert all(line.startswith("{") and "\x1b" not in line for line in lines)
    assert sorted(a["alert_id"] for a in printed) == sorted(a["alert_id"] for a in _alerts(tmp_path))
    assert all("event" not in a and "rule_id" in a for a in printed)   # no log record among them
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert "batch finished" in {log.get("event") for log in logs}


def test_terminal_stdout_has_one_readable_coloured_line_per_alert(config, tmp_path):
    code, out, err = _run(["batch", "seeds", "--config", str(config), "--out", str(tmp_path)],
                          tty_stdout=True, tty_stderr=False)
    assert code == 0, err
    alerts = _alerts(tmp_path)
    lines = [line for line in out.split("\n") if line.strip()]
    assert len(lines) == len(alerts)                               # one line per alert, nothing else
    assert not any(line.lstrip().startswith("{") for line in lines)    # no JSON on the terminal
    assert all("\x1b[" in line for line in lines)                  # coloured
    plain = [ANSI.sub("", line) for line in lines]
    for alert in alerts:
        severity, rule, title = alert["severity"].upper(), alert["rule_id"], alert["article"]["title"]
        assert any(p.startswith(severity) and f" {rule}  " in p and title.split()[0][:8] in p for p in plain), \
            (rule, title, plain)
    for line in plain:       # within the terminal's width, unless the title is already down to its minimum
        title_shown = re.fullmatch(r"\S+ +\S+  (.*?)(?: — .*)?  \S+", line).group(1)
        assert cell_len(line) <= COLUMNS or cell_len(title_shown) <= MIN_TITLE, line
    assert any("…" in line for line in plain)                      # long titles were shortened
    assert "batch finished" in err and "batch finished" not in out  # logs stay on stderr


def test_piped_stdout_under_a_terminal_spinner_still_gets_only_json(config, tmp_path):
    """A spinner on a terminal's stderr redirects ``sys.stdout`` through ``rich``: piped alerts must not
    follow it to the terminal."""
    code, out, err = _run(["batch", "seeds", "--config", str(config), "--out", str(tmp_path)],
                          tty_stdout=False, tty_stderr=True)
    assert code == 0, err
    printed = [json.loads(line) for line in out.splitlines()]
    assert sorted(a["alert_id"] for a in printed) == sorted(a["alert_id"] for a in _alerts(tmp_path))
    assert '"alert_id"' not in err
