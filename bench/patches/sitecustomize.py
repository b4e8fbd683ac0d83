"""Benchmark-only experiments applied inside a launcher worker, without editing core/.

The benchmarks put this folder on the worker's PYTHONPATH and name the experiments in
TFLAB_BENCH_PATCHES (comma separated); Python imports `sitecustomize` at start-up. Nothing
happens when the variable is unset. Experiments:

  held_connection   every RunStore keeps one idle SQLite connection open for its lifetime, so
                    closing the per-call connections is never "the last connection" and SQLite
                    does not checkpoint the WAL (with fsyncs) on every store call.
  flush_epoch_tail  StoreCallback also flushes its buffer after the last batch of an epoch,
                    instead of leaving those rows until on_epoch_end (after validation and
                    BackupAndRestore's checkpoint).
  no_backup         train_run's keras.callbacks.BackupAndRestore does nothing (cost probe).
  lean_tensorboard  keras.callbacks.TensorBoard skips its per-batch scalar calls, which are
                    no-ops when update_freq="epoch" (cost probe).
  tf.data settings of core.data.pipeline.make_dataset (measured by bench/bench_plain_fit.py):
  data_no_cache         no .cache() of the decoded arrays
  data_no_prefetch      no .prefetch(AUTOTUNE)
  data_parallel_batch   .batch(..., num_parallel_calls=AUTOTUNE)
  data_nondeterministic options.deterministic = False
  data_threadpool_1     options.threading.private_threadpool_size = 1
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys

PATCHES = {p.strip() for p in os.environ.get("TFLAB_BENCH_PATCHES", "").split(",") if p.strip()}
DATA_VARIANTS = {
    "data_no_cache",
    "data_no_prefetch",
    "data_parallel_batch",
    "data_nondeterministic",
    "data_threadpool_1",
}
KNOWN = {"held_connection", "flush_epoch_tail", "no_backup", "lean_tensorboard"} | DATA_VARIANTS


def _held_connection(store_module) -> None:
    import sqlite3

    original_init = store_module.RunStore.__init__

    def __init__(self, path):
        original_init(self, path)
        self._bench_held = sqlite3.connect(self.path, check_same_thread=False)
        self._bench_held.execute("SELECT COUNT(*) FROM runs").fetchone()

    store_module.RunStore.__init__ = __init__


def _flush_epoch_tail(callbacks_module) -> None:
    cls = callbacks_module.StoreCallback
    original = cls.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        original(self, batch, logs)
        if batch + 1 >= self.steps_per_epoch and self._buffer:
            self._flush(batch + 1)

    cls.on_train_batch_end = on_train_batch_end


def _no_backup(module) -> None:
    for hook in ("on_train_begin", "on_train_end", "on_epoch_end", "on_train_batch_end"):
        setattr(module.BackupAndRestore, hook, lambda self, *args, **kwargs: None)


def _lean_tensorboard(module) -> None:
    cls = module.TensorBoard
    original = cls.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" and not self._should_trace:
            return
        original(self, batch, logs)

    cls.on_train_batch_end = on_train_batch_end


def _data_settings(pipeline_module) -> None:
    """make_dataset with the data_* variants in PATCHES (see the module docstring)."""
    original = pipeline_module.make_dataset
    tf = pipeline_module.tf
    dataset = tf.data.Dataset

    def make_dataset(*args, **kwargs):
        saved = {name: getattr(dataset, name) for name in ("cache", "prefetch", "batch")}
        if "data_no_cache" in PATCHES:
            dataset.cache = lambda self, *a, **k: self
        if "data_no_prefetch" in PATCHES:
            dataset.prefetch = lambda self, *a, **k: self
        if "data_parallel_batch" in PATCHES:
            batch = saved["batch"]
            dataset.batch = lambda self, size, **k: batch(
                self, size, num_parallel_calls=tf.data.AUTOTUNE, **k
            )
        try:
            out = original(*args, **kwargs)
        finally:
            for name, method in saved.items():
                setattr(dataset, name, method)
        ds, callbacks = out if isinstance(out, tuple) else (out, None)
        options = tf.data.Options()
        if "data_nondeterministic" in PATCHES:
            options.deterministic = False
        if "data_threadpool_1" in PATCHES:
            options.threading.private_threadpool_size = 1
        ds = ds.with_options(options)
        return (ds, callbacks) if isinstance(out, tuple) else ds

    pipeline_module.make_dataset = make_dataset


AFTER_IMPORT = {}
if PATCHES & DATA_VARIANTS:
    AFTER_IMPORT["core.data.pipeline"] = _data_settings
if "held_connection" in PATCHES:
    AFTER_IMPORT["core.runs.store"] = _held_connection
if "flush_epoch_tail" in PATCHES:
    AFTER_IMPORT["core.runs.callbacks"] = _flush_epoch_tail
if "no_backup" in PATCHES:
    AFTER_IMPORT["keras.src.callbacks.backup_and_restore"] = _no_backup
if "lean_tensorboard" in PATCHES:
    AFTER_IMPORT["keras.src.callbacks.tensorboard"] = _lean_tensorboard


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Lets a module import normally, then patches it (so nothing is imported early)."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in AFTER_IMPORT:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader, patch = spec.loader, AFTER_IMPORT[fullname]
        exec_module = loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            patch(module)

        loader.exec_module = exec_and_patch
        return spec


if PATCHES - KNOWN:
    sys.stderr.write(f"sitecustomize: unknown TFLAB_BENCH_PATCHES {sorted(PATCHES - KNOWN)}\n")
if AFTER_IMPORT:
    sys.meta_path.insert(0, _PatchAfterImport())
    sys.stderr.write(f"sitecustomize: benchmark patches {sorted(PATCHES)}\n")
