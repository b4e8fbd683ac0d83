"""`python -m core devices [--json]`: the CPU, each GPU (memory, use, the runs on it), the build.

JSON: {"cpu": {...}, "gpus": [{"index", "name", "memory_total_mb", "memory_used_mb",
"utilization_pct", "temperature_c", "runs": [{"id", "name", "owner", "status"}]}], "build": {...}}
(MB = 2**20 bytes).
"""

from __future__ import annotations

import json

from core.device_inventory import inventory


def add_device_commands(sub) -> None:
    p = sub.add_parser("devices", help="CPU, GPUs (memory, use, runs on them), TensorFlow build")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)


def cmd_devices(args) -> int:
    info = inventory(max_age_s=0)
    for gpu in info["gpus"]:
        gpu.pop("pids", None)  # internal: matched to runs already
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print("\n".join(format_devices(info)))
    return 0


def format_devices(info: dict) -> list[str]:
    """The readable table of `python -m core devices`."""
    cpu, build = info["cpu"], info["build"]
    load = ", ".join(f"{x:g}" for x in cpu["load_average"]) if cpu["load_average"] else "?"
    lines = [
        f"CPU   {cpu['model']} · {cpu['cores']} cores · load {load} (1/5/15 min)",
        f"      memory {_mb(cpu['memory_used_mb'])} used of {_mb(cpu['memory_total_mb'])}",
    ]
    if not info["gpus"]:
        lines.append("GPUs  none found: runs train on the CPU")
    for gpu in info["gpus"]:
        extra = []
        if gpu.get("utilization_pct") is not None:
            extra.append(f"{gpu['utilization_pct']:.0f}% busy")
        if gpu.get("temperature_c") is not None:
            extra.append(f"{gpu['temperature_c']:.0f} °C")
        runs = ", ".join(r["id"] for r in gpu["runs"]) or "no runs"
        lines.append(
            f"GPU {gpu['index']} {gpu['name']} · {_mb(gpu['memory_used_mb'])} used of "
            f"{_mb(gpu['memory_total_mb'])}" + "".join(f" · {e}" for e in extra) + f" · {runs}"
        )
    if "error" in build:
        lines.append(f"build {build['error']}")
    else:
        cuda = (
            f"CUDA {build.get('cuda')}, cuDNN {build.get('cudnn')}"
            if build.get("cuda_build")
            else "CPU-only build (no CUDA)"
        )
        lines.append(
            f"build TensorFlow {build.get('tensorflow')} · Keras {build.get('keras')} · {cuda}"
        )
    return lines


def _mb(value) -> str:
    if value is None:
        return "?"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"
