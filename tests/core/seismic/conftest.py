"""Shared fixtures for the waveform tests: small synthetic sets and the real NCEDC sample."""

from __future__ import annotations

import pytest

from core.seismic.sources import SAMPLE_FOLDER
from core.seismic.synthetic import make_synthetic


@pytest.fixture(scope="session")
def small_set():
    """40 synthetic windows of 3001 samples (seed 5)."""
    return make_synthetic(40, seed=5)


@pytest.fixture(scope="session")
def long_set():
    """20 synthetic windows of 6001 samples (seed 6), for cropping."""
    return make_synthetic(20, seed=6, samples=6001)


@pytest.fixture(scope="session")
def ncedc_folder():
    assert SAMPLE_FOLDER.is_dir(), f"the shared NCEDC sample is missing: {SAMPLE_FOLDER}"
    return SAMPLE_FOLDER
