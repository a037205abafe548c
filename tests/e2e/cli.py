"""Running the real ``newswatch`` command in a subprocess."""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def newswatch(*args: str, timeout: float = 300, env: dict[str, str] | None = None,
              cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or str(ROOT), env={**os.environ, **(env or {})})


def read_jsonl(folder: str | Path) -> list[dict]:
    return [json.loads(line) for path in sorted(glob.glob(os.path.join(folder, "*.jsonl")))
            for line in open(path, encoding="utf-8") if line.strip()]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a test or bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60) -> None:
    """Return once something listens on 127.0.0.1:``port``; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def no_throttle_config(folder: str | Path) -> str:
    """The bundled configuration without the settings ``newswatch hits`` does not apply (``THROTTLING_KEYS``),
    written to ``folder/newswatch.yaml``: batch's alerts then equal hits' counts (test and bench alike)."""
    import yaml

    from pipeline.hits import THROTTLING_KEYS

    data = yaml.safe_load((ROOT / "config" / "newswatch.yaml").read_text(encoding="utf-8"))
    for rule in data["rules"]:
        for key in THROTTLING_KEYS:
            rule.pop(key, None)
    path = Path(folder) / "newswatch.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)
