"""Out of memory in a run: recognise it, say what to change, optionally retry with half the batch.

TensorFlow raises `tf.errors.ResourceExhaustedError` ("OOM when allocating tensor with
shape[...] ... on .../device:GPU:0 by allocator GPU_0_bfc") when a GPU's or the host's memory
runs out; some GPU paths report it as an InternalError ("Dst tensor is not initialized", cuDNN
allocation failures). Python's MemoryError is the host running out outside TensorFlow.
"""

from __future__ import annotations

import dataclasses
import gc
import re
import sys
from collections.abc import Callable
from pathlib import Path

from core.config import RunConfig
from core.runs import artifacts
from core.runs.store import RunStore

_OOM_TEXT = (
    "OOM when allocating",
    "out of memory",
    "Dst tensor is not initialized",
    "CUDNN_STATUS_ALLOC_FAILED",
    "CUDA_ERROR_OUT_OF_MEMORY",
)
_DEVICE = re.compile(r"on /job:[^ ]*device:([A-Z]+:\d+)")
_BYTES = {"half": 2, "bfloat16": 2, "float": 4, "int32": 4, "double": 8, "int64": 8}
_SHAPE = re.compile(r"tensor with shape\[([\d,]*)\] and type (\w+)")


def is_out_of_memory(err: BaseException) -> bool:
    """True for a GPU or host out-of-memory error, also when wrapped by another exception."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, MemoryError) or _is_tf_oom(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def _is_tf_oom(err: BaseException) -> bool:
    tf = sys.modules.get("tensorflow")  # only loaded (and only needed) inside a worker
    if tf is None or not isinstance(err, tf.errors.OpError):
        return False
    return isinstance(err, tf.errors.ResourceExhaustedError) or any(
        text in str(err) for text in _OOM_TEXT
    )


def out_of_memory_message(err: BaseException, run_dir: Path) -> str | None:
    """The plain message a run that ran out of memory ends with; None for any other error."""
    if not is_out_of_memory(err):
        return None
    text = str(err)
    device = _DEVICE.search(text)
    where = device.group(1) if device else ("the host" if isinstance(err, MemoryError) else "")
    is_gpu = where.startswith("GPU")
    place = f"GPU memory ({where})" if is_gpu else "host memory (RAM)"
    if not where:
        place = "memory"
    shape = _SHAPE.search(text)
    what = ""
    if shape:
        dims = [int(d) for d in shape.group(1).split(",") if d]
        size = _BYTES.get(shape.group(2), 4) * _product(dims) / 2**20  # MB
        what = f" (a {shape.group(2)} tensor of shape {dims}, about {_mb(size)})"
    config = _config(run_dir)
    batch = f" (now {config.batch_size})" if config else ""
    tips = [f"a smaller batch size{batch}", "a smaller model (fewer units, filters or layers)"]
    if is_gpu:
        tips += [
            "mixed precision (devices.mixed_precision=mixed_float16 halves activations)",
            "no memory limit or a larger one (devices.memory_limit_mb), or wait for other "
            "runs on that GPU to finish",
        ]
    else:
        tips.append("fewer training examples held in memory (max_train_examples)")
    if config and not config.devices.oom_backoff:
        tips.append("or let the run retry with half the batch size (devices.oom_backoff=true)")
    return (
        f"out of {place}{what}. Change one of: " + "; ".join(tips) + ". Then start the run again."
    )


def with_oom_backoff(
    fit: Callable[[RunConfig], dict], config: RunConfig, log: Callable[[str], None]
) -> dict:
    """fit(config); on out of memory, if config.devices.oom_backoff, retry with half the batch
    size while it stays >= devices.oom_min_batch_size. log(message) records each retry."""
    while True:
        try:
            return fit(config)
        except Exception as err:  # noqa: BLE001 - anything else is re-raised unchanged
            if not (config.devices.oom_backoff and is_out_of_memory(err)):
                raise
            half = config.batch_size // 2
            floor = config.devices.oom_min_batch_size
            if half < floor:
                log(
                    f"out of memory at batch size {config.batch_size}: not retrying, half of "
                    f"it is below the floor of {floor} (devices.oom_min_batch_size)"
                )
                raise
            log(f"out of memory at batch size {config.batch_size}: retrying with {half}")
            _free_memory()
            config = dataclasses.replace(config, batch_size=half)


def retry_logger(store: RunStore, run_id: str) -> Callable[[str], None]:
    """log() for with_oom_backoff: a warning event, and the unfinished epoch's batch metrics
    dropped (the retry repeats that epoch)."""

    def log(message: str) -> None:
        store.add_event(run_id, message, level="warning")
        store.drop_metrics_from_epoch(run_id, len(store.epoch_metrics(run_id)))

    return log


def _free_memory() -> None:
    """Drop the failed attempt's graphs and layers; keep the dtype policy (clear_session resets
    it). TensorFlow keeps the freed GPU memory in its allocator for the next attempt."""
    import keras

    policy = keras.mixed_precision.global_policy()
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)
    gc.collect()


def _config(run_dir: Path) -> RunConfig | None:
    if not (run_dir / artifacts.CONFIG).is_file():
        return None
    try:
        return RunConfig.from_dict(artifacts.read_json(run_dir, artifacts.CONFIG))
    except Exception:  # noqa: BLE001 - the message must not fail because the config is unreadable
        return None


def _product(dims: list[int]) -> int:
    out = 1
    for d in dims:
        out *= d
    return out


def _mb(size_mb: float) -> str:
    if size_mb >= 2**20:
        return f"{size_mb / 2**20:,.0f} TB"
    if size_mb >= 2**10:
        return f"{size_mb / 2**10:,.1f} GB"
    return f"{size_mb:,.0f} MB"
