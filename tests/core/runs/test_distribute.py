"""MirroredStrategy on the CPU split into two logical devices: the same run as on one device.

Each configuration trains in its own process (tests.core.runs.device_run_probe): device settings
are fixed when TensorFlow starts. The model is deterministic (no dropout, augmentation or batch
norm, whose per-replica statistics differ by design) and the data unshuffled (a distributed
dataset starts its reshuffling one iteration later), so both runs see the same global batches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.paths import REPO_ROOT

DETERMINISTIC = {
    "dataset": "digits",
    "model": "cnn",
    "epochs": 2,
    "batch_size": 32,
    "max_train_examples": 128,
    "shuffle_buffer": 1,
    "model_settings": {
        "filters": [8],
        "dense_units": 16,
        "batch_norm": False,
        "translation": 0,
        "rotation": 0,
        "zoom": 0,
        "dropout": 0,
    },
}


def _start(tmp_path, name: str, config: dict) -> subprocess.Popen:
    out = tmp_path / name
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.core.runs.device_run_probe", json.dumps(config), str(out)],
        cwd=REPO_ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc


def _result(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr[-3000:]
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["error"] is None, result["error"]
    return result


def test_two_logical_cpus_train_like_one_device(tmp_path):
    procs = [
        _start(tmp_path, "one", DETERMINISTIC),
        _start(tmp_path, "two", DETERMINISTIC | {"devices": {"cpu_replicas": 2}}),
        _start(
            tmp_path,
            "two-bf16",
            DETERMINISTIC | {"devices": {"cpu_replicas": 2, "mixed_precision": "mixed_bfloat16"}},
        ),
    ]
    try:
        single, mirrored, mixed = (_result(p) for p in procs)
    finally:
        for proc in procs:  # a failed assertion above must not leave a training process behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert single["seen"]["replicas"] == 1 and mirrored["seen"]["replicas"] == 2
    assert mirrored["seen"]["variable_type"] == "MirroredVariable"
    assert (
        "MirroredStrategy over 2 devices (CPU:0, CPU:1): each batch of 32 is split into "
        "16 examples per replica" in mirrored["events"]
    )
    assert [e["epoch"] for e in mirrored["epochs"]] == [0, 1]  # live charts: every epoch stored
    for a, b in zip(single["epochs"], mirrored["epochs"], strict=True):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "grad_norm"):
            # grad_norm: the norm of the summed gradient, not one replica's share
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    assert mirrored["metrics"]["test_accuracy"] == pytest.approx(
        single["metrics"]["test_accuracy"], abs=1e-6
    )
    # mixed_bfloat16 on two replicas: same run within bfloat16's 8-bit mantissa
    assert mixed["seen"]["global_policy"] == "mixed_bfloat16"
    assert mixed["seen"]["output_dtype"] == "float32"
    for a, b in zip(single["epochs"], mixed["epochs"], strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=0.03)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=0.03)
