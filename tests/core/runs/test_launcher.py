"""core.runs.launcher + core.runs.worker end to end: artifacts, metrics, detached workers, stop,
kill, resume; owners and who may stop or resume; no secrets in a worker's environment.

Each worker start costs seconds of TensorFlow import, so runs are shared where possible: the
session's `finished_run`, and one killed run that is then resumed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from core import access, paths
from core.config import ConfigError, RunConfig
from core.runs import launcher
from core.runs.store import pid_alive
from core.runs.worker import run_worker
from tests.conftest import TINY, wait_for_end, wait_until
from tests.core.test_access import login_settings

# long enough per epoch (88 batches of 8) that a test can act in the middle of training
SLOW = TINY | {
    "batch_size": 8,
    "max_train_examples": 700,
    "model_settings": {"filters": [16, 32], "dense_units": 32},
}
EXPECTED_FINAL = {"loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"}


# Set in the test process for test_stop_flag_ends_a_run_early: none may reach the worker.
SECRET_ENV = {
    "LAB_DB_PASSWORD": "pw-value-1",
    "S3_SECRET_ACCESS_KEY": "secret-value-2",
    "github_token": "token-value-3",
    "TFLAB_AUTH_EXTRA": "auth-value-4",
    "OPENAI_API_KEY": "key-value-5",
}


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch) -> Path:
    """Login off, from an empty secrets file (never the real one); tests may fill it."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv(access.SECRETS_ENV, str(path))
    return path


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except FileNotFoundError:
        return []


def kill_worker(pid: int, run_id: str) -> None:
    """SIGKILL a worker this test started (checked by its command line), if still there."""
    if pid and pid_alive(pid) and run_id in cmdline(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # the worker leads its own process group


@pytest.fixture
def started():
    """Record (pid, run id) of workers; any still running when the test ends are killed."""
    workers: list[tuple[int, str]] = []
    yield lambda pid, run_id: workers.append((pid, run_id))
    for pid, run_id in workers:
        kill_worker(pid, run_id)


def launch(config: dict, root: Path, started) -> tuple[str, object]:
    run_id = launcher.launch(RunConfig(**config), root)
    store = launcher.open_store(root)
    started(store.get_run(run_id).pid, run_id)
    return run_id, store


# ---- one tiny run trained to the end (shared with test_predict and test_cli) ------------------
def test_finished_run_artifacts(finished_run):
    root, run_id = finished_run
    folder = root / run_id
    assert RunConfig.from_json((folder / "config.json").read_text()) == RunConfig(**TINY)
    assert (folder / "model.keras").stat().st_size > 1000
    meta = json.loads((folder / "model.json").read_text())
    assert meta["model"] == "cnn" and meta["dataset"] == "digits"
    assert meta["input_shape"] == [16, 16, 1] and len(meta["class_names"]) == 10
    env = json.loads((folder / "environment.json").read_text())
    assert env["train_examples"] == 64
    assert {"python", "tensorflow", "keras", "numpy", "data_fingerprint"} <= set(env)
    assert list((folder / "logs").rglob("events.out.tfevents*")), "no TensorBoard event file"
    assert (folder / "worker.log").is_file()
    assert not (folder / "backup").exists()  # the resume checkpoint is removed after success


def test_finished_run_in_the_store(finished_run):
    root, run_id = finished_run
    store = launcher.open_store(root)
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.error is None
    assert run.pid and run.started and run.finished and run.started <= run.finished
    assert (run.epoch, run.epochs, run.steps_per_epoch) == (1, 1, 2)

    batches = store.batch_metrics(run_id)
    assert [b["global_step"] for b in batches] == [1, 2]  # 64 examples / batch 32
    assert all(b["epoch"] == 0 and "loss" in b and "accuracy" in b for b in batches)
    epochs = store.epoch_metrics(run_id)
    assert [e["epoch"] for e in epochs] == [0]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[0])

    final = run.final_metrics
    assert EXPECTED_FINAL <= set(final)
    assert all(isinstance(final[k], float) and math.isfinite(final[k]) for k in EXPECTED_FINAL)
    assert final["loss"] == epochs[0]["loss"]
    assert 0.0 <= final["test_accuracy"] <= 1.0

    messages = [e["message"] for e in store.events(run_id)]
    assert "no GPU found: training on CPU" in messages
    assert any(
        m.startswith("training cnn on digits: 64 examples, 2 steps per epoch") for m in messages
    )
    assert messages[-1].startswith("succeeded: ")


def test_invalid_config_is_refused_before_anything_starts(runs_root):
    with pytest.raises(ConfigError, match="epochs must be at least 1"):
        launcher.launch(RunConfig(epochs=0))
    assert launcher.open_store().list_runs() == []
    assert [p.name for p in runs_root.iterdir()] == ["runs.sqlite"]


def test_resume_refuses_unknown_and_unfinished_runs(finished_run):
    root, run_id = finished_run
    with pytest.raises(ValueError, match="no run nope"):
        launcher.resume("nope", root)
    with pytest.raises(ValueError, match="is succeeded; only interrupted runs can be resumed"):
        launcher.resume(run_id, root)
    assert launcher.open_store(root).get_run(run_id).status == "succeeded"


def test_worker_with_an_unknown_run_id(tmp_path, capsys):
    store = launcher.open_store(tmp_path)
    assert run_worker(store, "nope", tmp_path / "nope") == 2
    assert "no run nope" in capsys.readouterr().out


# ---- stop flag --------------------------------------------------------------------------------
def test_stop_flag_ends_a_run_early(runs_root, monkeypatch, started):
    # the dashboard hides GPUs from itself and remembers the original setting for its workers
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    monkeypatch.setenv(launcher.PARENT_CUDA_ENV, "")
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    run_id, store = launch(SLOW | {"epochs": 50}, runs_root, started)
    pid = store.get_run(run_id).pid
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    hidden = ("CUDA_VISIBLE_DEVICES=", launcher.PARENT_CUDA_ENV)
    assert not any(v.startswith(hidden) for v in environ)  # the original (unset) is restored
    assert any(v.startswith("PYTHONPATH=") and str(paths.REPO_ROOT) in v for v in environ)
    names = {v.split("=", 1)[0] for v in environ if v}
    assert "HOME" in names or "PATH" in names  # the rest of the environment is passed on
    assert not names & {*SECRET_ENV, access.SECRETS_ENV}
    assert not any(value in v for v in environ for value in SECRET_ENV.values())
    assert store.get_run(run_id).owner == access.os_user()  # launched from code: the OS user

    wait_until(lambda: store.latest_batch(run_id), timeout=120, every=0.1)
    assert store.get_run(run_id).status == "running"
    launcher.stop(run_id)  # default root: the runs_root fixture's TFLAB_RUNS_DIR
    asked = time.monotonic()
    run = wait_for_end(store, run_id, timeout=60)
    assert run.status == "stopped", run.error
    assert time.monotonic() - asked < 30  # all 50 epochs would take far longer
    assert run.error is None
    assert len(store.epoch_metrics(run_id)) < 50
    assert run.epoch < 50
    assert {"test_loss", "test_accuracy"} <= set(run.final_metrics)  # scored after a stop too
    assert (runs_root / run_id / "model.keras").is_file()
    assert store.events(run_id)[-1]["message"].startswith("stopped")
    log = (runs_root / run_id / "worker.log").read_text()
    assert not any(value in log for value in SECRET_ENV.values())


# ---- the environment a worker gets, owners, who may stop and resume ----------------------------
def test_worker_environment_drops_credentials(no_login):
    no_login.write_text('LAB_DB_URL = "postgres://u:p@db/x"\n[auth]\ncookie_secret = "c"\n')
    base = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "KERAS_HOME": "/k",
        "TFLAB_RUNS_DIR": "/runs",
        "LAB_DB_URL": "postgres://u:p@db/x",  # a top-level secret Streamlit copies to os.environ
        "TFLAB_SECRETS": "/s.toml",
        "TFLAB_AUTH_MODE": "password",
        "tflab_auth_admins": "a",
        "Db_Password": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "HF_TOKEN": "x",
        "PASSWD": "x",
        "GOOGLE_APPLICATION_CREDENTIALS": "/c.json",
        "OPENAI_API_KEY": "x",
        launcher.PARENT_CUDA_ENV: "1",
        "CUDA_VISIBLE_DEVICES": "-1",
    }
    env = launcher.worker_environment(base)
    assert set(env) == {
        "PATH",
        "HOME",
        "KERAS_HOME",
        "TFLAB_RUNS_DIR",
        "CUDA_VISIBLE_DEVICES",
        "PYTHONPATH",
        "TF_CPP_MIN_LOG_LEVEL",
    }
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["PATH"] == "/usr/bin"
    assert "LAB_DB_URL" not in launcher.worker_environment({"LAB_DB_URL": "x"})
    no_login.write_text("")
    assert launcher.worker_environment({"LAB_DB_URL": "x"})["LAB_DB_URL"] == "x"


@pytest.fixture
def no_spawn(monkeypatch):
    """Record the runs launch() would start instead of starting workers (no TensorFlow)."""
    spawned = []
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: spawned.append(run_id))
    return spawned


def test_launch_records_the_owner(runs_root, no_spawn):
    alice = launcher.launch(RunConfig(**TINY), runs_root, owner="alice")
    mine = launcher.launch(RunConfig(**TINY), runs_root)
    folds = launcher.launch_kfold(RunConfig(**TINY), 2, runs_root, owner="bob")
    store = launcher.open_store(runs_root)
    assert no_spawn == [alice, mine, *folds]
    assert store.get_run(alice).owner == "alice"
    assert store.get_run(mine).owner == access.os_user()
    assert [store.get_run(f).owner for f in folds] == ["bob", "bob"]


def test_only_the_owner_or_an_admin_stops_or_resumes(runs_root, no_login, no_spawn):
    login_settings(no_login, users={"alice": "password-1", "bob": "password-2"}, admins=("root",))
    store = launcher.open_store(runs_root)
    run_id = store.create_run(RunConfig(**TINY).to_dict(), owner="alice")
    (runs_root / run_id).mkdir()
    with pytest.raises(access.RunPermissionError, match="bob may not stop run .* alice"):
        launcher.stop(run_id, runs_root, user="bob")
    assert not store.stop_requested(run_id)
    launcher.stop(run_id, runs_root, user="alice")
    assert store.stop_requested(run_id)

    store.set_status(run_id, "interrupted")
    with pytest.raises(access.RunPermissionError, match="bob may not resume run"):
        launcher.resume(run_id, runs_root, user="bob")
    assert store.get_run(run_id).status == "interrupted" and no_spawn == []
    launcher.resume(run_id, runs_root, user="root")  # an admin
    assert store.get_run(run_id).status == "queued" and no_spawn == [run_id]
    with pytest.raises(ValueError, match="no run nope"):
        launcher.stop("nope", runs_root, user="root")


def test_the_cli_user_may_stop_only_their_own_runs(runs_root, monkeypatch, no_spawn):
    monkeypatch.setattr(access.config.getpass, "getuser", lambda: "carol")
    store = launcher.open_store(runs_root)
    theirs = store.create_run(RunConfig(**TINY).to_dict(), owner="alice")
    legacy = store.create_run(RunConfig(**TINY).to_dict())
    with pytest.raises(access.RunPermissionError, match="^carol may not stop run"):
        launcher.stop(theirs, runs_root)
    launcher.stop(legacy, runs_root)  # login off: a run without an owner is anyone's
    assert store.stop_requested(legacy) and not store.stop_requested(theirs)


# ---- a worker killed with SIGKILL, then resumed -----------------------------------------------
@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """A 3-epoch run SIGKILLed during its second epoch; facts observed along the way."""
    root = tmp_path_factory.mktemp("killed-runs")
    run_id = launcher.launch(RunConfig(**(SLOW | {"epochs": 3})), root)
    store = launcher.open_store(root)
    pid = store.get_run(run_id).pid
    try:

        def in_second_epoch():
            latest = store.latest_batch(run_id)
            return latest and latest["epoch"] >= 1 and store.epoch_metrics(run_id)

        wait_until(in_second_epoch, timeout=150, every=0.05)
        facts = {
            "cmdline": cmdline(pid),
            "sid": os.getsid(pid),
            "status_before": store.get_run(run_id).status,
        }
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        facts["epochs_at_kill"] = [e["epoch"] for e in store.epoch_metrics(run_id)]

        def interrupted():
            store.mark_lost_runs()
            run = store.get_run(run_id)
            return run if run.status == "interrupted" else None

        facts["run"] = wait_until(interrupted, timeout=30, every=0.1)
        facts["seconds_to_interrupted"] = time.monotonic() - killed
        facts["events"] = store.events(run_id)
        backup = root / run_id / "backup" / "training_metadata.json"
        facts["backup"] = json.loads(backup.read_text()) if backup.is_file() else None
    finally:
        kill_worker(pid, run_id)
    return root, run_id, pid, facts


def test_worker_is_a_detached_process_named_by_its_run(killed_run):
    _, run_id, pid, facts = killed_run
    assert facts["status_before"] == "running"
    args = facts["cmdline"]
    assert "core.runs.worker" in args
    assert args[args.index("--run-id") + 1] == run_id
    assert facts["sid"] != os.getsid(0)  # its own session: survives the dashboard's Ctrl-C
    assert facts["sid"] == pid


def test_sigkill_marks_the_run_interrupted(killed_run):
    _, run_id, pid, facts = killed_run
    assert not pid_alive(pid)
    assert facts["seconds_to_interrupted"] < 10
    run = facts["run"]
    assert run.status == "interrupted" and run.finished is not None
    assert "killed or crashed" in run.error
    assert facts["events"][-1]["message"] == "worker lost: marked interrupted; it can be resumed"
    # it really was killed in the middle: not every epoch had ended
    assert facts["epochs_at_kill"] and len(facts["epochs_at_kill"]) < 3


def test_resume_continues_after_the_last_finished_epoch(killed_run, started):
    root, run_id, _, facts = killed_run
    assert facts["backup"] is not None and facts["backup"]["epoch"] >= 1
    store = launcher.open_store(root)
    assert store.get_run(run_id).status == "interrupted"

    launcher.resume(run_id, root)
    started(store.get_run(run_id).pid, run_id)
    run = wait_for_end(store, run_id, timeout=150)
    assert run.status == "succeeded", run.error
    assert run.error is None and run.epoch == 3
    assert EXPECTED_FINAL <= set(run.final_metrics)

    assert [e["epoch"] for e in store.epoch_metrics(run_id)] == [0, 1, 2]
    with sqlite3.connect(store.path) as db:  # no duplicate rows hidden behind the API
        rows = db.execute(
            "SELECT epoch FROM epoch_metrics WHERE run_id = ? ORDER BY epoch", (run_id,)
        ).fetchall()
    assert [r[0] for r in rows] == [0, 1, 2]
    steps = [b["global_step"] for b in store.batch_metrics(run_id, max_points=10_000)]
    assert steps == list(range(1, 3 * 88 + 1))  # every batch once, none repeated

    messages = [e["message"] for e in store.events(run_id)]
    assert "resume requested" in messages
    resumed = [m for m in messages if m.startswith("resumed from the end of epoch ")]
    assert len(resumed) == 1
    assert int(resumed[0].rsplit(" ", 1)[1]) >= 1
    assert int(resumed[0].rsplit(" ", 1)[1]) == facts["backup"]["epoch"]
    assert messages[-1].startswith("succeeded: ")
    assert (root / run_id / "model.keras").is_file()


# ---- a run that fails in its worker -----------------------------------------------------------
def test_failing_run_ends_failed_with_a_clean_message(runs_root, started):
    run_id, store = launch(TINY | {"model_settings": {"nonsense": 1}}, runs_root, started)
    run = wait_for_end(store, run_id, timeout=120)
    assert run.status == "failed"
    assert "nonsense" in run.error
    assert "Traceback" not in run.error and 'File "' not in run.error
    assert run.final_metrics is None
    errors = [e for e in store.events(run_id) if e["level"] == "error"]
    assert [e["message"] for e in errors] == [run.error]
    assert "Traceback" in (runs_root / run_id / "worker.log").read_text()  # details go to the log
