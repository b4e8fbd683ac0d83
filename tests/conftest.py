"""Shared fixtures: an isolated runs folder per test and one tiny finished run per session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.config import RunConfig
from tests.leftover_processes import end_leftovers

TINY = {
    "dataset": "digits",
    "model": "cnn",
    "epochs": 1,
    "batch_size": 32,
    "max_train_examples": 64,
    "model_settings": {"filters": [8], "dense_units": 16},
}


def wait_until(predicate, timeout: float = 60.0, every: float = 0.2):
    """Poll predicate() until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


def wait_for_end(store, run_id: str, timeout: float = 120.0):
    """Wait until the run leaves queued/running (marking lost workers) and return it."""

    def ended():
        store.mark_lost_runs()
        run = store.get_run(run_id)
        return run if not run.is_active else None

    return wait_until(ended, timeout)


@pytest.fixture(autouse=True)
def no_real_secrets(tmp_path_factory, monkeypatch):
    """Tests never read the machine's .streamlit/secrets.toml: login is off unless a test says."""
    empty = tmp_path_factory.getbasetemp() / "no-secrets.toml"
    empty.touch()
    monkeypatch.setenv("TFLAB_SECRETS", str(empty))


@pytest.fixture(autouse=True)
def end_left_workers(tmp_path):
    """After the test: end the schedulers and workers it left running on a runs folder inside
    its tmp_path (tests/leftover_processes.py), so they do not train on during later tests."""
    yield
    if ended := end_leftovers(tmp_path):
        print(f"ended processes left by the test: {ended}")


@pytest.fixture
def runs_root(tmp_path, monkeypatch) -> Path:
    """An empty runs folder that core.paths.runs_dir() points at for this test."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> tuple[Path, str]:
    """(runs folder, run id) of one tiny run trained to the end through the launcher."""
    from core.runs import launcher

    root = tmp_path_factory.mktemp("finished-runs")
    run_id = launcher.launch(RunConfig(**TINY), root)
    run = wait_for_end(launcher.open_store(root), run_id)
    assert run.status == "succeeded", run.error
    return root, run_id
