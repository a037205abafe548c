"""Shared fixtures: the bundled configuration, compiled once, and a helper to write config files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

logging.getLogger().setLevel(logging.ERROR)   # Beam's import-time notices are not test output

from schemas.config import Settings, load_settings  # noqa: E402
from transforms.analyze.rules import CompiledSettings, compile_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "newswatch.yaml"
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "000_1f939b5c64f92757.txt"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(CONFIG)


@pytest.fixture(scope="session")
def compiled(settings: Settings) -> CompiledSettings:
    return compile_settings(settings)


@pytest.fixture
def write_config(tmp_path: Path):
    """Write YAML text to a config file in tmp_path and return its path."""

    def write(text: str, name: str = "newswatch.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
