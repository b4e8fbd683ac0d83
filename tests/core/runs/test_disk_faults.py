"""A full or read-only runs folder while the model is saved: a plain message, the old file kept."""

from __future__ import annotations

import errno
import os

import pytest

from core.config import RunConfig
from core.runs import artifacts
from core.runs.store import RunStore
from core.runs.worker import failure_message, run_worker
from tests.conftest import TINY


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "is full"), (errno.EROFS, "read-only"), (errno.EACCES, "read-only")],
)
def test_a_failed_save_fails_the_run_plainly_and_keeps_the_previous_model(
    tmp_path, monkeypatch, code, words
):
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(RunConfig(**TINY).to_dict())
    run_dir = tmp_path / run_id
    run_dir.mkdir()
    (run_dir / "model.keras").write_bytes(b"the previous model")
    real_fsync = os.fsync

    def failing_fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".keras"):
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    monkeypatch.setattr(artifacts.os, "fsync", failing_fsync)
    assert run_worker(store, run_id, run_dir) == 1
    run = store.get_run(run_id)
    assert run.status == "failed" and words in run.error
    assert "previous model file is unchanged" in run.error and "Traceback" not in run.error
    assert (run_dir / "model.keras").read_bytes() == b"the previous model"
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".model")]


def test_other_errors_keep_their_type_and_text(tmp_path):
    assert failure_message(ValueError("bad value"), tmp_path) == "ValueError: bad value"
