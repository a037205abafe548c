"""The configuration a command runs with: the bundled default's path, and loading it once, validated.

Shared by the CLI and the commands that load a configuration themselves (``check``, ``explain``, ``hits``),
so that none of them imports ``pipeline.cli``.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Any


def default_config() -> str:
    """The bundled ``config/newswatch.yaml``: beside the source tree, or under ``<prefix>/share``."""
    here = Path(__file__).resolve().parent.parent / "config" / "newswatch.yaml"
    if here.exists():
        return str(here)
    shared = Path(sysconfig.get_path("data")) / "share" / "newswatch" / "config" / "newswatch.yaml"
    return str(shared)


def load(config: str | None, sinks: bool = False) -> tuple[Any, Any]:
    """Validate the configuration once: returns (Settings, CompiledSettings); raises ConfigError. ``sinks``:
    also resolve the notify sinks (environment variables, Apprise URLs, templates)."""
    from schemas.config import load_settings
    from transforms.analyze.rules import compile_settings

    settings = load_settings(config or default_config())
    compiled = compile_settings(settings)
    if sinks:
        from transforms.deliver.notify import check_sinks

        check_sinks(settings)
    return settings, compiled
