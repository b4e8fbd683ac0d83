"""core.device_inventory and `python -m core devices`: the CPU, GPUs, their runs, the build.

There is no GPU here: the GPU path is checked against an NVML replacement that answers like
pynvml does (same function names and return shapes), the rest against this machine itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest

from core import device_inventory
from core.device_inventory import attach_runs, cpu_info, inventory
from core.paths import REPO_ROOT
from core.runs.store import RunStore


def fake_pynvml(pids_on_gpu0: list[int]) -> types.ModuleType:
    """Two GPUs as NVML reports them (memory in bytes, names as str)."""
    nvml = types.ModuleType("pynvml")
    nvml.NVML_TEMPERATURE_GPU = 0
    nvml.nvmlInit = lambda: None
    nvml.nvmlShutdown = lambda: None
    nvml.nvmlDeviceGetCount = lambda: 2
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetName = lambda h: ["NVIDIA A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB"][h]
    memory = types.SimpleNamespace
    nvml.nvmlDeviceGetMemoryInfo = lambda h: memory(total=40 * 2**30, used=(h + 1) * 5 * 2**30)
    nvml.nvmlDeviceGetUtilizationRates = lambda h: memory(gpu=[87, 0][h], memory=10)
    nvml.nvmlDeviceGetTemperature = lambda h, sensor: [71, 35][h]

    def processes(h):
        if h == 1:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")  # answered per call, as NVML does
        return [memory(pid=p, usedGpuMemory=2**30) for p in pids_on_gpu0]

    nvml.nvmlDeviceGetComputeRunningProcesses = processes
    return nvml


@pytest.fixture
def fresh_cache():
    device_inventory._cache.clear()
    yield
    device_inventory._cache.clear()


def test_cpu_info_reads_this_machine():
    cpu = cpu_info()
    assert cpu["cores"] == os.cpu_count()
    assert cpu["model"]
    assert len(cpu["load_average"]) == 3
    assert 0 < cpu["memory_used_mb"] < cpu["memory_total_mb"]


def test_gpus_from_nvml_with_the_runs_on_them(tmp_path, monkeypatch, fresh_cache):
    store = RunStore(tmp_path / "runs.sqlite")
    by_pid = store.create_run({"dataset": "digits", "model": "cnn", "epochs": 1}, "by pid")
    pinned = store.create_run(
        {"dataset": "digits", "model": "cnn", "epochs": 1, "devices": {"visible_gpus": [1]}},
        "pinned",
        owner="ana",
    )
    store.create_run({"dataset": "digits", "model": "cnn", "epochs": 1}, "still queued")
    store.mark_started(by_pid, 4242)
    store.mark_started(pinned, 4343)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([4242]))
    monkeypatch.setattr(device_inventory, "run_probe", lambda with_gpus: {"tensorflow": "x"})
    info = inventory(store, max_age_s=0)
    assert info["gpu_source"] == "nvml"
    gpu0, gpu1 = info["gpus"]
    assert (gpu0["index"], gpu0["memory_total_mb"], gpu0["memory_used_mb"]) == (0, 40960, 5120)
    assert (gpu0["utilization_pct"], gpu0["temperature_c"]) == (87, 71)
    assert [r["id"] for r in gpu0["runs"]] == [by_pid]
    assert gpu1["runs"] == [{"id": pinned, "name": "pinned", "owner": "ana", "status": "running"}]
    assert gpu1["pids"] == []  # the unsupported call gave nothing, the rest still came
    # cached: a second call within CACHE_S does not ask again
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert inventory(store) is info


def test_the_scheduler_assignment_wins_over_the_config():
    gpus = [{"index": 0, "pids": []}, {"index": 1, "pids": []}]
    run = types.SimpleNamespace(
        id="r1", name="", owner="", status="running", pid=7, devices="0,1", config={}
    )
    attach_runs(gpus, [run])
    assert [len(g["runs"]) for g in gpus] == [1, 1]


def test_cli_json_on_this_machine():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-m", "core", "devices", "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert set(info) >= {"cpu", "gpus", "build"}
    assert info["gpus"] == []  # no GPU on this machine, and none invented
    assert info["cpu"]["cores"] == os.cpu_count()
    import tensorflow as tf

    assert info["build"]["tensorflow"] == tf.__version__
    assert info["build"]["cuda_build"] is False
