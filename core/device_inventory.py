"""What this machine has and who uses it: CPU, each GPU, the TensorFlow/CUDA/cuDNN build.

Memory in MB (2**20 bytes), utilisation in %, temperature in degrees C, load average in runnable
processes over 1, 5 and 15 minutes. Never initialises a GPU in the calling process (the
dashboard's): GPUs come from NVML (nvidia-ml-py) when its library loads, else from `nvidia-smi`,
else from a short-lived helper process (core.device_probe) that asks TensorFlow; the build info
always comes from that helper (once per process: it cannot change without a restart).
`inventory()` caches its answer for CACHE_S seconds.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from core import paths
from core.runs.executor import worker_environment
from core.runs.store import RunStore

CACHE_S = 5.0
PROBE_TIMEOUT_S = 120.0
_lock = threading.Lock()
_cache: dict = {}


def inventory(store: RunStore | None = None, max_age_s: float = CACHE_S) -> dict:
    """{"cpu": {...}, "gpus": [{index, name, memory_total_mb, memory_used_mb, utilization_pct,
    temperature_c, runs}], "build": {...}, "gpu_source": nvml | nvidia-smi | tensorflow | none}."""
    with _lock:
        cached = _cache.get("inventory")
        if cached and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        gpus, source = _nvml_gpus(), "nvml"
        if gpus is None:
            gpus, source = _smi_gpus(), "nvidia-smi"
        build = _build_info(with_gpus=gpus is None)
        if gpus is None:
            gpus, source = build.pop("gpus", []), "tensorflow"
        build.pop("gpus", None)
        if not gpus:
            source = "none" if source == "tensorflow" else source
        attach_runs(gpus, _active_runs(store))
        result = {"cpu": cpu_info(), "gpus": gpus, "build": build, "gpu_source": source}
        _cache["inventory"] = (time.monotonic(), result)
        return result


def list_gpus(max_age_s: float = CACHE_S) -> list[dict]:
    """The GPUs from NVML or nvidia-smi only (no TensorFlow helper: quick enough for a form)."""
    with _lock:
        cached = _cache.get("gpus")
        if cached and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        gpus = _nvml_gpus()
        gpus = _smi_gpus() if gpus is None else gpus
        _cache["gpus"] = (time.monotonic(), gpus or [])
        return gpus or []


def cpu_info() -> dict:
    """Model name, cores, load average and memory (MB) from /proc (Linux) or the platform."""
    model = platform.processor() or platform.machine()
    cpuinfo = _read("/proc/cpuinfo")
    for line in cpuinfo.splitlines():
        if line.lower().startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    meminfo = {}
    for line in _read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            meminfo[key] = int(rest.split()[0]) / 1024
    total = meminfo.get("MemTotal")
    available = meminfo.get("MemAvailable")
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "model": model,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": load,
        "memory_total_mb": round(total) if total else None,
        "memory_used_mb": round(total - available) if total and available is not None else None,
    }


def attach_runs(gpus: list[dict], runs: list) -> None:
    """Fill each GPU's `runs` with the active runs on it: the scheduler's assignment (Run.devices,
    "0,1"), else the GPUs the run's config pins, else the worker pids NVML sees on the GPU."""
    for gpu in gpus:
        gpu.setdefault("runs", [])
    by_index = {g["index"]: g for g in gpus}
    for run in runs:
        indices = _run_gpus(run)
        for gpu in gpus:
            if run.pid and run.pid in gpu.get("pids", []) and gpu["index"] not in indices:
                indices.append(gpu["index"])
        for index in indices:
            if index in by_index:
                by_index[index]["runs"].append(
                    {"id": run.id, "name": run.name, "owner": run.owner, "status": run.status}
                )


def _run_gpus(run) -> list[int]:
    assigned = getattr(run, "devices", None)
    if assigned:
        return [int(i) for i in str(assigned).split(",") if i.strip().isdigit()]
    pinned = (run.config.get("devices") or {}).get("visible_gpus")
    return [int(i) for i in pinned] if isinstance(pinned, list) else []


def _active_runs(store: RunStore | None) -> list:
    try:
        store = store or RunStore(paths.runs_dir() / "runs.sqlite")
        return store.list_runs(limit=200, status="running")
    except Exception:  # noqa: BLE001 - the devices view must not fail with the store
        return []


def _nvml_gpus() -> list[dict] | None:
    """The GPUs NVML reports (ignores CUDA_VISIBLE_DEVICES); None when NVML is unavailable."""
    try:
        pynvml = importlib.import_module("pynvml")  # nvidia-ml-py; resolved per call (optional)
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver library, no GPU
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else str(name),
                    "memory_total_mb": round(memory.total / 2**20),
                    "memory_used_mb": round(memory.used / 2**20),
                    "utilization_pct": _maybe(
                        lambda h=handle: pynvml.nvmlDeviceGetUtilizationRates(h).gpu
                    ),
                    "temperature_c": _maybe(
                        lambda h=handle: pynvml.nvmlDeviceGetTemperature(
                            h, pynvml.NVML_TEMPERATURE_GPU
                        )
                    ),
                    "pids": [
                        p.pid
                        for p in _maybe(
                            lambda h=handle: pynvml.nvmlDeviceGetComputeRunningProcesses(h)
                        )
                        or []
                    ],
                }
            )
        return gpus
    except Exception:  # noqa: BLE001 - a driver error: let the next source try
        return None
    finally:
        _maybe(pynvml.nvmlShutdown)


def _smi_gpus() -> list[dict] | None:
    """The GPUs `nvidia-smi` lists; None when it is not installed or fails."""
    fields = "index,name,memory.total,memory.used,utilization.gpu,temperature.gpu"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = []
    for line in out.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 6:
            continue
        index, name, total, used, util, temp = cells
        gpus.append(
            {
                "index": int(index),
                "name": name,
                "memory_total_mb": _number(total),
                "memory_used_mb": _number(used),
                "utilization_pct": _number(util),
                "temperature_c": _number(temp),
                "pids": [],
            }
        )
    return gpus


def _build_info(with_gpus: bool) -> dict:
    """TensorFlow/CUDA/cuDNN versions from the helper process (cached); with_gpus also lists
    TensorFlow's GPUs, which initialises CUDA there (not here)."""
    key = f"build-{with_gpus}"
    if key not in _cache and not with_gpus and "build-True" in _cache:
        key = "build-True"  # the answer with GPUs holds the build too
    if key not in _cache:
        _cache[key] = run_probe(with_gpus)
    return dict(_cache[key])


def run_probe(with_gpus: bool) -> dict:
    """Run `python -m core.device_probe` with the GPU setting a worker would get."""
    command = [sys.executable, "-m", "core.device_probe"] + (["--gpus"] if with_gpus else [])
    try:
        proc = subprocess.run(
            command,
            cwd=paths.REPO_ROOT,
            env=worker_environment() | {"TF_CPP_MIN_LOG_LEVEL": "3"},
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as err:
        return {"error": f"could not ask TensorFlow for its build ({type(err).__name__})"}


def _maybe(call):
    try:
        return call()
    except Exception:  # noqa: BLE001 - e.g. a GPU model without a temperature sensor
        return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""
