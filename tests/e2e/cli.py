"""Running the real ``newswatch`` command in a subprocess."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def newswatch(*args: str, timeout: float = 300, env: dict[str, str] | None = None,
              cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or str(ROOT), env={**os.environ, **(env or {})})


def read_jsonl(folder: str | Path) -> list[dict]:
    return [json.loads(line) for path in sorted(glob.glob(os.path.join(folder, "*.jsonl")))
            for line in open(path, encoding="utf-8") if line.strip()]
