"""Queue, stop and resume runs; each runs in its own detached worker process (never a fork of
this one), started by the scheduler (core.runs.scheduler) when its GPUs or CPU slot are free."""

from __future__ import annotations

import uuid
from pathlib import Path

from core import paths
from core.access import authorize, os_user
from core.config import ConfigError, DeviceSettings, RunConfig
from core.devices import requested_gpu_count
from core.models.registry import ModelError, model_spec
from core.runs import artifacts, scheduler
from core.runs.executor import (  # noqa: F401 - re-exported: the launcher's public names
    PARENT_CUDA_ENV,
    SECRET_MARKERS,
    is_secret_name,
    worker_environment,
)
from core.runs.store import RunStore
from core.tasks.init_from import check_init_from
from core.tasks.settings import TASK_SETTINGS


def open_store(root: Path | None = None) -> RunStore:
    """The run store of a runs folder (default: core.paths.runs_dir())."""
    return RunStore((root or paths.runs_dir()) / "runs.sqlite")


def launch(
    config: RunConfig,
    root: Path | None = None,
    group_id: str | None = None,
    owner: str | None = None,
) -> str:
    """Record a queued run, write its config and hand it to the scheduler (it starts at once
    when a slot is free); returns the run id.

    owner: who may stop, rename or delete it (the dashboard's logged-in user); None is the OS
    user, as on the command line.
    """
    config.validate()
    check_data_settings(config)
    root = root or paths.runs_dir()
    store = open_store(root)
    owner = os_user() if owner is None else owner
    run_id = store.create_run(
        config.to_dict(),
        config.name,
        group_id=group_id,
        owner=owner,
        resources=run_resources(config.devices),
    )
    folder = paths.run_dir(run_id, root)
    folder.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(folder, artifacts.CONFIG, config.to_dict())
    _spawn(store, run_id, root)
    return run_id


def run_resources(devices: DeviceSettings) -> dict:
    """What a run asks the scheduler for: {"gpus": n (0 = CPU), "gpu_indices": [..] | None}."""
    pinned = devices.visible_gpus or None
    return {"gpus": requested_gpu_count(devices), "gpu_indices": pinned}


def check_data_settings(config: RunConfig) -> None:
    """ConfigError unless config.data_settings suit the model's task (core.tasks.settings)."""

    try:
        TASK_SETTINGS[model_spec(config.model).task].from_dict(config.data_settings)
    except (ModelError, ValueError) as err:
        raise ConfigError(str(err)) from None
    check_init_from(config)  # init_from / freeze_encoder: a picker run of the same architecture


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
    """Ask a run to stop after its current batch (the worker reads the flag); a run still
    waiting in the queue is cancelled.

    Only its owner or an admin may (core.access.RunPermissionError); user None is the OS user.
    """
    store = open_store(root)
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}")
    authorize(run_id, run.owner, "stop", user)
    store.request_stop(run_id)
    if run.status == "queued" and run.claimed is None:
        store.cancel_job(run_id, user)


def cancel(job_id: str, root: Path | None = None, user: str | None = None) -> str:
    """Cancel a queued job or run ('cancelled'), or ask a started one to stop ('stop
    requested'). Only its owner or an admin may (core.access.RunPermissionError)."""
    store = open_store(root)
    outcome = store.cancel_job(job_id, user)
    if outcome == "cancelled":
        store.add_event(job_id, "cancelled while queued")
    return outcome


def submit_job(
    kind: str,
    params: dict,
    root: Path | None = None,
    owner: str | None = None,
    resources: dict | None = None,
    label: str = "",
    files: dict[str, bytes] | None = None,
) -> str:
    """Queue a heavy job (pick, evaluate, export; core.runs.job_worker.JOB_KINDS) and hand it
    to the scheduler; files are written into its folder (runs/jobs/<id>/) first. Returns its id.
    resources default: one GPU ("any free", a CPU job on a machine without GPUs)."""
    root = root or paths.runs_dir()
    store = open_store(root)
    owner = os_user() if owner is None else owner
    folder_files = files or {}
    job_id = store.create_job(
        kind, params, owner, resources or {"gpus": 1, "gpu_indices": None}, label, held=True
    )
    folder = root / "jobs" / job_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in folder_files.items():
        (folder / Path(name).name).write_bytes(content)
    store.release_job(job_id)  # only now may a scheduler take it
    _spawn(store, job_id, root)
    return job_id


def _spawn(store: RunStore, run_id: str, root: Path) -> None:
    """Hand a queued run to the queue: one dispatch pass now (so a free slot starts it at once,
    pid recorded before this returns), and a scheduler for whatever still waits."""
    scheduler.dispatch_now(root)
    if any(job.waiting for job in store.active_jobs()):
        scheduler.ensure_scheduler(root)
