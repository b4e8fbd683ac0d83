"""core.devices: on a CPU-only machine nothing pretends a GPU exists (checked in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core.devices import _pick
from core.paths import REPO_ROOT

SCRIPT = """
import json
import keras
import tensorflow as tf
from core.config import DeviceSettings
from core.devices import apply_device_settings

requested = apply_device_settings(
    DeviceSettings(visible_gpus=[0], memory_limit_mb=256, mixed_precision=True)
)
plain = apply_device_settings(DeviceSettings())
print(json.dumps({
    "gpus": len(tf.config.list_physical_devices("GPU")),
    "requested": requested,
    "plain": plain,
    "policy": keras.mixed_precision.global_policy().name,
}))
"""


def test_cpu_only_notes_and_no_mixed_precision():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["gpus"] == 0
    assert result["plain"] == ["no GPU found: training on CPU"]
    notes = result["requested"]
    assert notes[0] == "no GPU found: training on CPU"
    assert "requested GPUs [0] are not present" in notes
    assert "mixed precision skipped: it only speeds up GPUs" in notes
    assert not any("using" in n and "GPU(s)" in n for n in notes)
    assert result["policy"] == "float32"  # mixed precision requested but not switched on


def test_pick_keeps_existing_indices_and_reports_missing_ones():
    notes: list[str] = []
    assert _pick(["gpu0", "gpu1"], [1, 5, -1], notes) == ["gpu1"]
    assert notes == ["GPU index(es) [5, -1] do not exist; 2 GPU(s) present"]
    notes = []
    assert _pick(["gpu0", "gpu1"], [0, 1], notes) == ["gpu0", "gpu1"]
    assert notes == []
