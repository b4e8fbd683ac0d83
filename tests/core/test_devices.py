"""core.devices: each setting reaches TensorFlow (in a fresh process); nothing fakes a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.config import ConfigError, DeviceSettings, RunConfig
from core.devices import _pick, _tf_positions, compile_options, describe, requested_gpu_count
from core.paths import REPO_ROOT

SCRIPT = """
import json
import keras
import tensorflow as tf
from core.config import DeviceSettings
from core.devices import apply_device_settings, keep_outputs_float32

notes = apply_device_settings(DeviceSettings(
    visible_gpus=[0], memory_limit_mb=256, mixed_precision="mixed_bfloat16", cpu_replicas=2,
    jit_compile=True, log_device_placement=True,
))
inputs = keras.Input((4,))
hidden = keras.layers.Dense(8, name="hidden")(inputs)
outputs = keras.layers.Dense(3, activation="softmax", name="probabilities")(hidden)
model = keras.Model(inputs, outputs)
kept = keep_outputs_float32(model)
model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
print(json.dumps({
    "gpus": len(tf.config.list_physical_devices("GPU")),
    "notes": notes,
    "kept": kept,
    "logical_cpus": [d.name for d in tf.config.list_logical_devices("CPU")],
    "policy": keras.mixed_precision.global_policy().name,
    "hidden": model.layers[1].dtype_policy.name,
    "output": model.layers[2].dtype_policy.name,
    "output_dtype": str(model(tf.ones((2, 4))).dtype.name),
    "jit_compile": model.jit_compile,
    "placement_logging": tf.debugging.get_log_device_placement(),
}))
"""


def test_each_setting_reaches_tensorflow_on_a_cpu_only_machine():
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
    notes = result["notes"]
    assert notes[:3] == [
        "no GPU found: training on CPU",
        "requested GPUs [0] are not present",
        "memory limit skipped: it applies to GPUs only",
    ]
    assert not any("using" in n and "GPU(s)" in n for n in notes)
    assert "CPU split into 2 logical devices (testing)" in notes
    assert result["logical_cpus"][-1].endswith("CPU:1") and len(result["logical_cpus"]) == 2
    assert result["policy"] == result["hidden"] == "mixed_bfloat16"
    assert result["output"] == "float32" and result["output_dtype"] == "float32"
    assert result["kept"] == ["output layer(s) kept in float32: probabilities"]
    assert result["jit_compile"] is True
    assert result["placement_logging"] is True
    assert "XLA compilation (jit_compile) on" in notes


def test_gpu_indices_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert _tf_positions([3, 2]) == [1, 0]  # machine GPU 3 is TensorFlow's GPU:1
    notes: list[str] = []
    assert _pick(["gpu2", "gpu3"], _tf_positions([3, 0]), notes, shown=[3, 0]) == ["gpu3"]
    assert notes == ["GPU index(es) [0] do not exist; 2 GPU(s) present"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert _tf_positions([1]) == [1]


def test_pick_keeps_existing_indices_and_reports_missing_ones():
    notes: list[str] = []
    assert _pick(["gpu0", "gpu1"], [1, 5, -1], notes) == ["gpu1"]
    assert notes == ["GPU index(es) [5, -1] do not exist; 2 GPU(s) present"]
    notes = []
    assert _pick(["gpu0", "gpu1"], [0, 1], notes) == ["gpu0", "gpu1"]
    assert notes == []


def test_requested_gpus_and_compile_options():
    assert requested_gpu_count(DeviceSettings()) == 1  # any free GPU
    assert requested_gpu_count(DeviceSettings(gpu_count=2)) == 2
    assert requested_gpu_count(DeviceSettings(visible_gpus=[])) == 0  # CPU only
    assert requested_gpu_count(DeviceSettings(visible_gpus=[1, 3])) == 2
    assert compile_options(DeviceSettings()) == {"jit_compile": "auto"}
    assert compile_options(DeviceSettings(jit_compile=False)) == {"jit_compile": False}


def test_old_configs_and_set_overrides():
    old = {"visible_gpus": None, "memory_growth": True, "memory_limit_mb": None}
    assert RunConfig.from_dict({"devices": {**old, "mixed_precision": True}}).devices == (
        DeviceSettings(mixed_precision="mixed_float16")
    )
    assert RunConfig.from_dict({"devices": {**old, "mixed_precision": False}}).devices == (
        DeviceSettings()
    )
    config = RunConfig().with_overrides(
        [
            "devices.mixed_precision=mixed_bfloat16",
            "devices.jit_compile=true",
            "devices.log_device_placement=on",
            "devices.gpu_count=2",
            "devices.oom_backoff=yes",
            "devices.cpu_replicas=2",
        ]
    )
    assert config.devices == DeviceSettings(
        mixed_precision="mixed_bfloat16",
        jit_compile=True,
        log_device_placement=True,
        gpu_count=2,
        oom_backoff=True,
        cpu_replicas=2,
    )
    assert RunConfig.from_json(config.to_json()) == config
    assert RunConfig().with_overrides(["devices.jit_compile=none"]).devices.jit_compile is None


@pytest.mark.parametrize(
    ("pair", "fragment"),
    [
        ("devices.mixed_precision=float16", "devices.mixed_precision must be one of: off"),
        ("devices.gpu_count=0", "devices.gpu_count must be at least 1"),
        ("devices.memory_limit_mb=10", "devices.memory_limit_mb must be at least 64"),
        ("devices.visible_gpus=[-1]", "devices.visible_gpus must be a list of GPU indices"),
        ("devices.cpu_replicas=99", "devices.cpu_replicas must be in 1..16"),
    ],
)
def test_bad_device_settings_are_explained(pair, fragment):
    with pytest.raises(ConfigError, match=fragment):
        RunConfig().with_overrides([pair])


def test_the_run_panel_line_names_every_non_default_setting():
    assert describe(None) == "GPUs: any free GPU · float32 · XLA auto"
    line = describe(
        {
            "visible_gpus": [0, 2],
            "memory_limit_mb": 4096,
            "mixed_precision": True,  # an old config's bool
            "jit_compile": False,
            "oom_backoff": True,
            "oom_min_batch_size": 8,
        }
    )
    assert line == (
        "GPUs: GPU 0, GPU 2 · memory limit 4096 MB · mixed_float16 · XLA off · "
        "out-of-memory back-off to batch 8"
    )
    assert describe({"visible_gpus": []}).startswith("GPUs: CPU only")


def test_xla_refused_by_keras_is_reported():
    import keras

    from core.devices import xla_notes

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.RandomRotation(0.1, name="random_rotation")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    augmenting = keras.Model(inputs, outputs)
    augmenting.compile("adam", "mse", jit_compile=True)  # Keras turns it off, with a warning
    assert augmenting.jit_compile is False
    (note,) = xla_notes(augmenting, DeviceSettings(jit_compile=True))
    assert note.startswith("XLA requested but not used: Keras cannot compile random_rotation")
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    plain.compile("adam", "mse", jit_compile=True)
    assert plain.jit_compile is True
    assert xla_notes(plain, DeviceSettings(jit_compile=True)) == []
    assert xla_notes(augmenting, DeviceSettings()) == []  # not asked for: nothing to say
