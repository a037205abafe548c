"""The CLI's own tools, run for real: ``--version``, ``init``, shell completion (in bash), and the batch
progress display on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
import tomllib
from importlib import metadata

import pytest

from tests.e2e.cli import ROOT, newswatch, read_jsonl

pytestmark = pytest.mark.e2e
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_version_names_the_installed_release_and_beam():
    run = newswatch("--version")
    assert run.returncode == 0, run.stderr
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert run.stdout.strip() == (f"newswatch {declared} (apache-beam {metadata.version('apache-beam')}, "
                                  f"Python {sys.version.split()[0]})")


def test_init_writes_a_starter_that_checks_runs_and_alerts(tmp_path):
    folder = tmp_path / "desk"
    run = newswatch("init", str(folder))
    assert run.returncode == 0, run.stderr
    cfg = folder / "newswatch.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert text.count("\n#") > 10 and "华为" in text and "IP address" in text    # commented, multilingual

    check = newswatch("check", "--config", str(cfg))
    assert check.returncode == 0, check.stderr
    assert "3 topics, 3 enabled rules, 2 sinks, 1 feeds" in check.stdout

    out = tmp_path / "out"
    batch = newswatch("batch", str(ROOT / "seeds"), "--config", str(cfg), "--out", str(out))
    assert batch.returncode == 0, batch.stderr
    fired = {a["rule_id"] for a in read_jsonl(out / "alerts")}
    assert fired == {"huawei-ip", "new-tariffs", "chips-export"}, fired    # each starter rule alerts on the seeds
    assert batch.stdout.count('"rule_id"') == len(read_jsonl(out / "alerts"))   # the stdout sink printed each


def test_init_never_overwrites_without_force(tmp_path):
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text("version: 1\n# mine\n", encoding="utf-8")
    again = newswatch("init", str(tmp_path))
    assert again.returncode == 2 and "exists; use --force" in again.stderr
    assert cfg.read_text(encoding="utf-8") == "version: 1\n# mine\n"
    forced = newswatch("init", str(tmp_path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "rules:" in cfg.read_text(encoding="utf-8")


def _complete(line: str) -> list[str]:
    """What bash offers after ``line`` with the completion script of ``newswatch completion bash`` loaded."""
    bindir = os.path.dirname(sys.executable)
    script = (f'eval "$(newswatch completion bash)"; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; '
              f'read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=(""); '
              'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_TYPE=9; '
              '_python_argcomplete newswatch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=str(ROOT),
                         env={**os.environ, "PATH": f"{bindir}:{os.environ.get('PATH', '')}"})
    assert run.returncode == 0, run.stderr
    return [w.strip() for w in run.stdout.splitlines() if w.strip()]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.skipif(not shutil.which("newswatch", path=os.path.dirname(sys.executable)),
                    reason="the newswatch script is not installed beside this Python")
def test_bash_completion_offers_commands_and_options():
    assert _complete("newswatch ch") == ["check"]
    assert set(_complete("newswatch ")) >= {"batch", "watch", "check", "explain", "hits", "feeds", "init"}
    assert _complete("newswatch hits --sa") == ["--samples"]
    assert "--metrics-port" in _complete("newswatch watch --me")


def test_zsh_completion_script_is_argcompletes():
    run = newswatch("completion", "zsh")
    assert run.returncode == 0 and run.stdout.startswith("#compdef newswatch")
    assert "_python_argcomplete" in run.stdout


def _on_a_terminal(*args: str, timeout: float = 300) -> tuple[int, str]:
    """Run the command with stdin, stdout and stderr on a pseudo-terminal; its exit code and screen text."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=str(ROOT), close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:      # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def test_batch_shows_progress_on_a_terminal_with_inputs_rate_and_eta(tmp_path):
    code, screen = _on_a_terminal("batch", str(ROOT / "seeds"), "--out", str(tmp_path / "out"), "--workers", "2")
    assert code == 0, screen[-2000:]
    inputs = len([p for p in (ROOT / "seeds").rglob("*") if p.is_file()])
    assert f"{inputs}/{inputs} inputs" in screen                    # every input counted, from both workers
    assert re.search(r"\b1[0-9] items, \d+/s", screen), screen[-2000:]   # the seeds' 13 items, and a rate
    assert "ETA" in screen and "finishing" in screen


def test_batch_progress_stays_off_when_piped_or_asked(tmp_path):
    piped = newswatch("batch", str(ROOT / "seeds"), "--out", str(tmp_path / "a"))
    assert piped.returncode == 0 and " inputs " not in piped.stderr and "ETA" not in piped.stderr
    code, screen = _on_a_terminal("batch", str(ROOT / "seeds"), "--out", str(tmp_path / "b"), "--no-progress")
    assert code == 0 and "ETA" not in screen and "alerts" in screen
