"""A migration revision's module loaded from its file, so a test can run its upgrade() and
downgrade() on the test's own connection (the outer rollback undoes them)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def load_revision(filename: str):
    spec = importlib.util.spec_from_file_location(f"revision_{filename[:4]}", VERSIONS / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
