"""core.runs.callbacks: metric values reach the store as plain JSON-safe floats."""

from __future__ import annotations

import numpy as np

from core.runs.callbacks import _floats


def test_floats_converts_drops_and_nulls():
    logs = {
        "loss": np.float32(0.5),
        "acc": 1,
        "bad": float("nan"),
        "inf": float("inf"),
        "name": "text",
        "none": None,
    }
    assert _floats(logs) == {"loss": 0.5, "acc": 1.0, "bad": None, "inf": None}
    assert _floats(None) == {}
