"""Shared fixtures: a fresh SQLite file per test and the anyio backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_systemization.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "designs.sqlite3")
