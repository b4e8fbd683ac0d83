"""Out of memory: a real ResourceExhaustedError from TensorFlow ends a run with a plain message.

The errors are real and cheap: TensorFlow's CPU allocator refuses a tensor of 2**45 floats
(128 TiB, beyond any address space) at once, without touching memory.
"""

from __future__ import annotations

import dataclasses

import pytest
import tensorflow as tf

from core.config import DeviceSettings, RunConfig
from core.runs import artifacts
from core.runs.oom import is_out_of_memory, out_of_memory_message, with_oom_backoff
from core.runs.store import RunStore
from core.runs.training import train_run
from core.runs.worker import failure_message

# a first Dense kernel of 64 x 2**40 floats: TensorFlow raises ResourceExhaustedError at once
HUGE_MLP = {
    "dataset": "digits",
    "model": "mlp",
    "epochs": 1,
    "batch_size": 32,
    "max_train_examples": 64,
    "model_settings": {"hidden_units": [2**40]},
}


def _run(tmp_path, config: RunConfig):
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(config.to_dict())
    run_dir = tmp_path / run_id
    run_dir.mkdir()
    artifacts.write_json(run_dir, artifacts.CONFIG, config.to_dict())
    with pytest.raises(tf.errors.ResourceExhaustedError) as caught:
        train_run(config, store, run_id, run_dir)
    return store, run_id, failure_message(caught.value, run_dir)


def test_a_run_out_of_host_memory_ends_with_what_to_change(tmp_path):
    store, run_id, message = _run(tmp_path, RunConfig(**HUGE_MLP))
    assert message.startswith("out of host memory (RAM) (a float tensor of shape [")
    assert "1,099,511,627,776" not in message and "TB" in message  # sizes in readable units
    for advice in ("smaller batch size (now 32)", "smaller model", "devices.oom_backoff=true"):
        assert advice in message
    assert "Traceback" not in message and "OOM when allocating" not in message
    assert store.epoch_metrics(run_id) == []


def test_backoff_in_a_run_halves_the_batch_down_to_the_floor_then_says_so(tmp_path):
    devices = DeviceSettings(oom_backoff=True, oom_min_batch_size=8)
    store, run_id, message = _run(tmp_path, RunConfig(**HUGE_MLP, devices=devices))
    warnings = [e["message"] for e in store.events(run_id) if e["level"] == "warning"]
    assert warnings == [
        "out of memory at batch size 32: retrying with 16",
        "out of memory at batch size 16: retrying with 8",
        "out of memory at batch size 8: not retrying, half of it is below the floor of 8 "
        "(devices.oom_min_batch_size)",
    ]
    assert "devices.oom_backoff" not in message  # already on: not suggested again
    assert "smaller batch size (now 32)" in message


def test_backoff_succeeds_once_the_batch_fits():
    """fit() allocates batch_size * 2**42 floats for real: only batch sizes <= 8 fit (as 0)."""
    tried, log = [], []

    def fit(config: RunConfig) -> dict:
        tried.append(config.batch_size)
        tf.zeros([max(config.batch_size - 8, 0) * 2**42])
        return {"batch_size": config.batch_size}

    config = RunConfig(batch_size=64, devices=DeviceSettings(oom_backoff=True))
    assert with_oom_backoff(fit, config, log.append) == {"batch_size": 8}
    assert tried == [64, 32, 16, 8]
    assert log[0] == "out of memory at batch size 64: retrying with 32"
    off = dataclasses.replace(config, devices=DeviceSettings(oom_backoff=False))
    with pytest.raises(tf.errors.ResourceExhaustedError):
        with_oom_backoff(fit, off, log.append)


def test_other_errors_are_not_out_of_memory(tmp_path):
    assert not is_out_of_memory(ValueError("bad value"))
    assert out_of_memory_message(KeyError("x"), tmp_path) is None
    try:
        tf.reshape(tf.zeros([4]), [3])
    except tf.errors.InvalidArgumentError as err:
        assert not is_out_of_memory(err)
    wrapped = RuntimeError("while building")
    wrapped.__cause__ = MemoryError()
    assert is_out_of_memory(wrapped)
    assert out_of_memory_message(wrapped, tmp_path).startswith("out of memory. Change one of:")
