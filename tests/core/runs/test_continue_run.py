"""Continue a finished run for more epochs: a new run from the old run's weights and optimizer
state (the old run unchanged), through `python -m core continue RUN --epochs N`; refusals."""

from __future__ import annotations

import json

import h5py
import pytest

from core import access
from core.cli.main import main
from core.config import RunConfig
from core.runs import launcher
from core.runs.continue_run import CHECKPOINT, CONTINUE_FROM, continue_run
from tests.conftest import TINY, wait_for_end
from tests.core.test_access import login_settings


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv(access.SECRETS_ENV, str(path))
    return path


def optimizer_step(checkpoint) -> int:
    """The optimizer's iteration counter in a Keras weights file (its first variable)."""
    with h5py.File(checkpoint, "r") as f:
        return int(f["optimizer/vars/0"][()])


def test_continue_trains_a_new_run_from_the_old_checkpoint(runs_root, capsys):
    old = launcher.launch(RunConfig(**(TINY | {"name": "base"})), runs_root)
    store = launcher.open_store(runs_root)
    assert wait_for_end(store, old).status == "succeeded"
    old_dir = runs_root / old
    assert optimizer_step(old_dir / CHECKPOINT) == 2  # 1 epoch of 64 examples in batches of 32
    old_before = (old_dir / CHECKPOINT).read_bytes(), (old_dir / "model.keras").read_bytes()

    assert main(["continue", old, "--epochs", "2", "--wait", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    new = out["id"]
    assert new != old and out["continues"] == old and out["status"] == "succeeded", out
    assert {"test_accuracy", "val_loss"} <= set(out["metrics"])

    run = store.get_run(new)
    assert run.name == "base +2 epochs" and run.epochs == 2 and run.epoch == 2
    same = ("epochs", "name", "continue_from")
    assert {k: v for k, v in run.config.items() if k not in same} == {
        k: v for k, v in store.get_run(old).config.items() if k not in same
    }
    assert run.config["continue_from"] == old  # in the config, so no worker can miss it
    messages = [e["message"] for e in store.events(new)]
    assert f"starting from run {old}'s checkpoint at optimizer step 2" in messages
    assert optimizer_step(runs_root / new / CHECKPOINT) == 2 + 2 * 2  # went on from step 2
    assert json.loads((runs_root / new / CONTINUE_FROM).read_text()) == {"run": old}

    # the old run is as it was, apart from a note that it was continued
    assert store.get_run(old).status == "succeeded" and store.get_run(old).epochs == 1
    assert ((old_dir / CHECKPOINT).read_bytes(), (old_dir / "model.keras").read_bytes()) == (
        old_before
    )
    assert f"continued as run {new} for 2 more epochs" in [e["message"] for e in store.events(old)]


def finished(store, root, status: str, owner: str = "", checkpoint: bool = True) -> str:
    run_id = store.create_run(RunConfig(**TINY).to_dict(), owner=owner)
    store.set_status(run_id, status)
    (root / run_id).mkdir()
    if checkpoint:
        (root / run_id / CHECKPOINT).write_bytes(b"weights")
    return run_id


def test_continue_refuses_what_cannot_be_continued(runs_root, no_login, monkeypatch, capsys):
    spawned = []
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: spawned.append(run_id))
    store = launcher.open_store(runs_root)
    with pytest.raises(ValueError, match="no run nope"):
        continue_run("nope", 2, runs_root)
    failed = finished(store, runs_root, "failed")
    with pytest.raises(ValueError, match="is failed; only succeeded or stopped runs"):
        continue_run(failed, 2, runs_root)
    old = finished(store, runs_root, "stopped", checkpoint=False)
    with pytest.raises(ValueError, match="has no checkpoint"):
        continue_run(old, 2, runs_root)
    ok = finished(store, runs_root, "stopped")
    with pytest.raises(ValueError, match="at least 1 more epoch"):
        continue_run(ok, 0, runs_root)

    assert main(["continue", failed, "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run ") and "only succeeded or stopped" in err

    login_settings(no_login, users={"alice": "pw-1", "bob": "pw-2"}, admins=("root",))
    alices = finished(store, runs_root, "succeeded", owner="alice")
    with pytest.raises(access.RunPermissionError, match="bob may not continue run"):
        continue_run(alices, 2, runs_root, user="bob")
    assert spawned == [] and store.count_runs() == 4  # nothing was launched
    new = continue_run(alices, 2, runs_root, user="root")  # an admin may
    assert spawned == [new] and store.get_run(new).owner == "root"
