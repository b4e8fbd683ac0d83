"""Devices page: the CPU, each GPU (memory, use, temperature, the runs on it), the TF build.

Nothing here loads TensorFlow or touches a GPU: core.device_inventory asks NVML (or nvidia-smi,
or a helper process) and caches the answer for a few seconds for every viewer.
"""

import streamlit as st

from core.device_inventory import CACHE_S, inventory
from dashboard.device_figures import memory_bars
from dashboard.tab_visibility import poll_every
from dashboard.widgets import format_seconds, get_store, page_path

store = get_store()


def devices_view() -> None:
    """Everything on the page; reruns every CACHE_S seconds when auto-refresh is on."""
    fresh = st.session_state.pop("devices-refresh", False)
    with st.spinner("Asking the machine for its devices ..."):
        info = inventory(store, max_age_s=0 if fresh else CACHE_S)
    cpu, gpus, build = info["cpu"], info["gpus"], info["build"]

    st.subheader("CPU")
    cores = f"{cpu['cores']}"
    if cpu.get("usable_cores") and cpu["usable_cores"] != cpu["cores"]:
        cores += f" ({cpu['usable_cores']} usable)"
    load = cpu.get("load_average") or [None]
    cols = st.columns(3)
    cols[0].metric("Cores", cores)
    cols[1].metric("Load (1 min)", f"{load[0]:.2f}" if load[0] is not None else "?")
    if cpu.get("memory_total_mb"):
        cols[2].metric(
            "Memory used",
            f"{cpu['memory_used_mb'] / 1024:.1f} of {cpu['memory_total_mb'] / 1024:.1f} GB",
        )
    st.caption(
        f"{cpu['model']} · load average {', '.join(f'{x:.2f}' for x in cpu['load_average'])}"
        " (1, 5, 15 min)"
        if cpu.get("load_average")
        else cpu["model"]
    )

    st.subheader("GPUs")
    if not gpus:
        st.info(
            "No GPU found on this machine: every run trains on the CPU. "
            "The GPU settings of the Train form are kept in the run's config but have no effect.",
            icon=":material/memory:",
        )
    else:
        st.dataframe(
            [
                {
                    "GPU": g["index"],
                    "name": g["name"],
                    "memory used (MB)": g.get("memory_used_mb"),
                    "memory total (MB)": g.get("memory_total_mb"),
                    "busy (%)": g.get("utilization_pct"),
                    "temperature (°C)": g.get("temperature_c"),
                    "runs": ", ".join(r["id"] for r in g["runs"]) or "-",
                }
                for g in gpus
            ],
            hide_index=True,
        )
        for gpu in gpus:
            for run in gpu["runs"]:
                st.page_link(
                    page_path("train"),
                    label=f"GPU {gpu['index']}: {run['name'] or run['id']} ({run['owner'] or '-'})",
                    icon=":material/model_training:",
                    query_params={"run": run["id"]},
                )
    st.plotly_chart(memory_bars(cpu, gpus), key="memory-bars")

    st.subheader("Build")
    if "error" in build:
        st.warning(build["error"])
    else:
        cuda = (
            f"CUDA {build.get('cuda')} · cuDNN {build.get('cudnn')}"
            if build.get("cuda_build")
            else "CPU-only TensorFlow build (no CUDA)"
        )
        st.markdown(
            f"TensorFlow **{build.get('tensorflow')}** · Keras **{build.get('keras')}** · {cuda}"
        )
    source = {
        "nvml": "NVML",
        "nvidia-smi": "nvidia-smi",
        "tensorflow": "TensorFlow (helper process)",
        "none": "NVML, nvidia-smi and TensorFlow (none found a GPU)",
    }[info["gpu_source"]]
    st.caption(f"GPUs from {source}; answers are cached for {format_seconds(CACHE_S)}.")


st.title("Devices")
left, right = st.columns([1, 3])
if left.button("Refresh", icon=":material/refresh:"):
    st.session_state["devices-refresh"] = True
auto = right.toggle(f"Refresh every {CACHE_S:.0f} s", key="devices-auto")
st.fragment(devices_view, run_every=poll_every(CACHE_S if auto else None))()
