"""Page-test fixture, applied to every test in tests/pages: a fresh get_store cache per test."""

from __future__ import annotations

import pytest

from core.runs.launcher import PARENT_CUDA_ENV
from dashboard.widgets import get_store


@pytest.fixture(autouse=True)
def fresh_store_cache(monkeypatch):
    """get_store is st.cache_resource: drop the handle so each test sees its own runs folder.

    Also sets the environment dashboard/app.py sets (no GPU here, workers get the original
    CUDA_VISIBLE_DEVICES back); monkeypatch undoes it after the test, so nothing leaks.
    """
    monkeypatch.setenv(PARENT_CUDA_ENV, "")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    get_store.clear()
    yield
    get_store.clear()
