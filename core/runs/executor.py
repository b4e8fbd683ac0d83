"""How a claimed job's worker starts: the Executor protocol and LocalProcessExecutor, which runs
`python -m core.runs.worker ...` as a detached process on this machine (its own session, no
credentials in its environment, the GPUs the scheduler gave it in CUDA_VISIBLE_DEVICES).

A handle is whatever the executor needs to find the job again (a pid for local processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from core import paths
from core.access import AccessConfigError, read_secrets, secret_names
from core.runs.job_store import TRAIN, Job
from core.runs.store import pid_alive

# The dashboard hides GPUs from its own process; workers get the original setting back.
PARENT_CUDA_ENV = "TFLAB_PARENT_CUDA_VISIBLE_DEVICES"
# The GPU indices a scheduler assigned to a worker (physical, PCI bus order), "" for CPU.
ASSIGNED_GPUS_ENV = "TFLAB_ASSIGNED_GPUS"
# A worker runs user-chosen code paths and writes a log: it gets no credentials. Variables whose
# name contains one of these (any case), or starts with TFLAB_AUTH, are not passed on.
SECRET_MARKERS = ("SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL", "API_KEY", "PRIVATE_KEY")


class Executor(Protocol):
    """Starts, watches and ends the worker of one job."""

    def start(self, job: Job, root: Path, devices: list[int] | None) -> int:
        """Start the job's worker; devices: GPU indices to show it (None: leave the setting)."""

    def is_alive(self, handle: int) -> bool: ...

    def kill(self, handle: int) -> None: ...


def worker_command(job: Job, root: Path) -> list[str]:
    """The worker's argv: core.runs.worker for a training run, core.runs.job_worker else."""
    if job.kind == TRAIN:
        return [
            sys.executable,
            "-m",
            "core.runs.worker",
            "--run-id",
            job.id,
            "--runs-dir",
            str(root),
        ]
    return [
        sys.executable,
        "-m",
        "core.runs.job_worker",
        "--job-id",
        job.id,
        "--runs-dir",
        str(root),
    ]


def job_folder(job: Job, root: Path) -> Path:
    """Where a job's worker.log goes: runs/<id>/ for a run, runs/jobs/<id>/ for a heavy job."""
    return paths.run_dir(job.id, root) if job.kind == TRAIN else root / "jobs" / job.id


class LocalProcessExecutor:
    """Workers as detached local processes (never a fork of the caller)."""

    def start(self, job: Job, root: Path, devices: list[int] | None) -> int:
        folder = job_folder(job, root)
        folder.mkdir(parents=True, exist_ok=True)
        env = worker_environment()
        if devices is not None:
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the indices nvidia-smi shows
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in devices) or "-1"
            env[ASSIGNED_GPUS_ENV] = ",".join(str(d) for d in devices)
        with open(folder / "worker.log", "ab") as log:
            proc = subprocess.Popen(
                worker_command(job, root),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the dashboard's restart and its Ctrl-C
                close_fds=True,
                cwd=paths.REPO_ROOT,
                env=env,
            )
        threading.Thread(target=proc.wait, daemon=True).start()  # reap it, no zombie
        return proc.pid

    def is_alive(self, handle: int) -> bool:
        return pid_alive(handle)

    def kill(self, handle: int) -> None:
        """SIGKILL the worker's process group (it leads its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(handle, signal.SIGKILL)


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
    env.pop(ASSIGNED_GPUS_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env
