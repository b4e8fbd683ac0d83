"""core.runs.training in process: a crash between two epoch-end steps must not lose an epoch."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.runs import callbacks
from core.runs.store import RunStore
from core.runs.training import train_run
from tests.conftest import TINY


class SimulatedKill(Exception):
    """Stands for SIGKILL arriving right after the resume checkpoint of epoch 1 was written."""


class BackupThenDie(callbacks.EpochBackup):
    """Writes a resume checkpoint at every epoch end (no time budget), then dies after epoch 1."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, cost_share=0.0, **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch == 1:
            raise SimulatedKill


def test_killed_right_after_a_backup_resumes_without_a_gap(tmp_path, monkeypatch):
    config = RunConfig(**(TINY | {"epochs": 3, "max_train_examples": 32}))
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(config.to_dict())
    run_dir = tmp_path / run_id
    run_dir.mkdir()

    with monkeypatch.context() as patch:
        patch.setattr(callbacks, "EpochBackup", BackupThenDie)
        with pytest.raises(SimulatedKill):
            train_run(config, store, run_id, run_dir)
    # whatever the backup holds, the store must already hold too
    assert [e["epoch"] for e in store.epoch_metrics(run_id)] == [0, 1]

    metrics = train_run(config, store, run_id, run_dir)  # the resumed worker
    assert [e["epoch"] for e in store.epoch_metrics(run_id)] == [0, 1, 2]
    assert any(e["message"] == "resumed from the end of epoch 2" for e in store.events(run_id))
    assert [b["global_step"] for b in store.batch_metrics(run_id)] == [1, 2, 3]
    assert "test_accuracy" in metrics
