"""Start, stop and resume runs, each in its own detached process (never a fork of this one)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path

from core import paths
from core.access import AccessConfigError, authorize, os_user, read_secrets, secret_names
from core.config import ConfigError, RunConfig
from core.models.registry import ModelError, model_spec
from core.runs import artifacts
from core.runs.store import RunStore
from core.tasks.settings import TASK_SETTINGS

# The dashboard hides GPUs from its own process; workers get the original setting back.
PARENT_CUDA_ENV = "TFLAB_PARENT_CUDA_VISIBLE_DEVICES"
# A worker runs user-chosen code paths and writes a log: it gets no credentials. Variables whose
# name contains one of these (any case), or starts with TFLAB_AUTH, are not passed on.
SECRET_MARKERS = ("SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL", "API_KEY", "PRIVATE_KEY")


def open_store(root: Path | None = None) -> RunStore:
    """The run store of a runs folder (default: core.paths.runs_dir())."""
    return RunStore((root or paths.runs_dir()) / "runs.sqlite")


def launch(
    config: RunConfig,
    root: Path | None = None,
    group_id: str | None = None,
    owner: str | None = None,
) -> str:
    """Record a queued run, write its config, start its worker; returns the run id.

    owner: who may stop, rename or delete it (the dashboard's logged-in user); None is the OS
    user, as on the command line.
    """
    config.validate()
    check_data_settings(config)
    root = root or paths.runs_dir()
    store = open_store(root)
    owner = os_user() if owner is None else owner
    run_id = store.create_run(config.to_dict(), config.name, group_id=group_id, owner=owner)
    folder = paths.run_dir(run_id, root)
    folder.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(folder, artifacts.CONFIG, config.to_dict())
    _spawn(store, run_id, root)
    return run_id


def check_data_settings(config: RunConfig) -> None:
    """ConfigError unless config.data_settings suit the model's task (core.tasks.settings)."""

    try:
        TASK_SETTINGS[model_spec(config.model).task].from_dict(config.data_settings)
    except (ModelError, ValueError) as err:
        raise ConfigError(str(err)) from None


def launch_kfold(
    config: RunConfig, k: int, root: Path | None = None, owner: str | None = None
) -> list[str]:
    """K-fold cross-validation: K runs in one group, run i validates on fold i of K."""
    if k < 2:
        raise ValueError("K-fold cross-validation needs k >= 2")
    group = f"kfold-{uuid.uuid4().hex[:8]}"
    base = config.to_dict()
    ids = []
    for fold in range(k):
        fold_config = RunConfig.from_dict(
            {
                **base,
                "k_folds": k,
                "fold": fold,
                "name": f"{config.name or 'kfold'} fold {fold + 1}/{k}",
            }
        )
        ids.append(launch(fold_config, root, group_id=group, owner=owner))
    return ids


def resume(run_id: str, root: Path | None = None, user: str | None = None) -> None:
    """Start an interrupted run again; Keras' BackupAndRestore continues at its last epoch.

    Only its owner or an admin may (core.access.RunPermissionError); user None is the OS user.
    """
    root = root or paths.runs_dir()
    store = open_store(root)
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}")
    authorize(run_id, run.owner, "resume", user)
    if run.status != "interrupted":
        raise ValueError(f"run {run_id} is {run.status}; only interrupted runs can be resumed")
    store.requeue(run_id)
    store.add_event(run_id, "resume requested")
    _spawn(store, run_id, root)


def stop(run_id: str, root: Path | None = None, user: str | None = None) -> None:
    """Ask a run to stop after its current batch (the worker reads the flag).

    Only its owner or an admin may (core.access.RunPermissionError); user None is the OS user.
    """
    store = open_store(root)
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}")
    authorize(run_id, run.owner, "stop", user)
    store.request_stop(run_id)


def is_secret_name(name: str, also: frozenset[str] = frozenset()) -> bool:
    """True for an environment variable a worker must not get (see SECRET_MARKERS)."""
    upper = name.upper()
    return name in also or upper.startswith("TFLAB_AUTH") or any(m in upper for m in SECRET_MARKERS)


def worker_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker: `base` (default os.environ) without credentials, without
    the variables Streamlit copies from the secrets file, with the original CUDA setting, the
    checkout on PYTHONPATH and TensorFlow's C++ logging quiet."""
    base = os.environ if base is None else base
    try:
        from_secrets = frozenset(secret_names(read_secrets()[0]))
    except AccessConfigError:
        from_secrets = frozenset()
    env = {k: v for k, v in base.items() if not is_secret_name(k, from_secrets)}
    if PARENT_CUDA_ENV in env:
        original = env.pop(PARENT_CUDA_ENV)
        if original:
            env["CUDA_VISIBLE_DEVICES"] = original
        else:
            env.pop("CUDA_VISIBLE_DEVICES", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _spawn(store: RunStore, run_id: str, root: Path) -> subprocess.Popen:
    folder = paths.run_dir(run_id, root)
    env = worker_environment()
    with open(folder / "worker.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.runs.worker", "--run-id", run_id, "--runs-dir", str(root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the dashboard's restart and its Ctrl-C
            close_fds=True,
            cwd=paths.REPO_ROOT,
            env=env,
        )
    store.set_pid(run_id, proc.pid)
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it, no zombie
    return proc
