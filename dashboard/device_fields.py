"""The "Devices (GPU)" expander of the Train form: GPUs, memory, mixed precision, XLA, logging.

Returns the values of core.config.DeviceSettings as a dict (memory in MB). The GPU list comes
from core.device_inventory.list_gpus (NVML or nvidia-smi, cached): the form never starts
TensorFlow.
"""

from __future__ import annotations

import streamlit as st

from core.config import MIXED_PRECISION, DeviceSettings
from core.device_inventory import list_gpus

GPU_MODES = ("any free GPU", "these GPUs", "CPU only")
XLA_CHOICES = {"auto (on with a GPU)": None, "on": True, "off": False}


def device_fields(base: DeviceSettings, gpus: list[dict] | None = None) -> dict:
    """Draw the expander (inside the form); gpus: the machine's GPUs (default: the inventory)."""
    gpus = _machine_gpus() if gpus is None else gpus
    out = {"cpu_replicas": base.cpu_replicas}  # a testing option: kept, not shown
    mode = 2 if base.visible_gpus == [] else (1 if base.visible_gpus else 0)
    with st.expander("Devices (GPU)"):
        if not gpus:
            st.caption("No GPU on this machine: runs train on the CPU whatever is set here.")
        choice = st.radio("GPUs", GPU_MODES, index=mode, horizontal=True, key="dev-mode")
        out["gpu_count"] = int(
            st.number_input(
                "How many GPUs (any free GPU; 2 or more train mirrored)",
                1,
                max(len(gpus), 1, base.gpu_count),
                base.gpu_count,
                key="dev-count",
            )
        )
        labels = {g["index"]: f"GPU {g['index']} · {g['name']}" for g in gpus}
        for index in base.visible_gpus or []:
            labels.setdefault(index, f"GPU {index} (not on this machine)")
        chosen = st.multiselect(
            "These GPUs",
            list(labels),
            default=[i for i in base.visible_gpus or [] if i in labels],
            format_func=labels.get,
            key="dev-indices",
        )
        out["visible_gpus"] = {0: None, 1: sorted(chosen), 2: []}[GPU_MODES.index(choice)]
        out["memory_growth"] = st.checkbox(
            "Memory growth (take GPU memory as needed, not all at start)",
            base.memory_growth,
            key="dev-growth",
        )
        limit_on = st.checkbox(
            "Memory limit per GPU", base.memory_limit_mb is not None, key="dev-limit-on"
        )
        limit = st.number_input(
            "Memory limit (MB)",
            64,
            1_000_000,
            base.memory_limit_mb or 4096,
            step=256,
            key="dev-limit",
        )
        out["memory_limit_mb"] = int(limit) if limit_on else None
        out["mixed_precision"] = st.selectbox(
            "Mixed precision",
            MIXED_PRECISION,
            index=MIXED_PRECISION.index(base.mixed_precision),
            help="float16/bfloat16 math with float32 weights and a float32 output layer; "
            "faster on recent GPUs, slower on a CPU.",
            key="dev-precision",
        )
        xla = list(XLA_CHOICES)
        out["jit_compile"] = XLA_CHOICES[
            st.selectbox(
                "XLA compilation",
                xla,
                index=list(XLA_CHOICES.values()).index(base.jit_compile),
                key="dev-xla",
            )
        ]
        out["log_device_placement"] = st.checkbox(
            "Log each op's device into the run's worker.log",
            base.log_device_placement,
            key="dev-placement",
        )
        out["oom_backoff"] = st.checkbox(
            "Out of memory: retry with half the batch size",
            base.oom_backoff,
            key="dev-backoff",
        )
        out["oom_min_batch_size"] = int(
            st.number_input(
                "... but not below this batch size",
                1,
                4096,
                base.oom_min_batch_size,
                key="dev-floor",
            )
        )
    return out


def _machine_gpus() -> list[dict]:
    try:
        return list_gpus()
    except Exception:  # noqa: BLE001 - the form must draw even when the inventory fails
        return []
