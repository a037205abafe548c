"""Where the tests find the repository, its seeds and the shared fixtures, wherever a test module sits."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = ROOT / "tests" / "fixtures"
