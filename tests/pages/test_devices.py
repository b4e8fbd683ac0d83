"""Devices page through AppTest (reached through dashboard/app.py: it uses st.page_link).

This machine has no GPU: the page must say so plainly and show the CPU. The GPU view is checked
with an NVML replacement answering like pynvml (tests/core/test_devices_inventory.py).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import device_inventory
from core.runs.store import RunStore
from tests.core.test_devices_inventory import fake_pynvml

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def fresh_inventory():
    """Fresh GPU answers per test; the build info (one TensorFlow helper process) is kept."""
    for key in ("inventory", "gpus"):
        device_inventory._cache.pop(key, None)
    yield
    for key in ("inventory", "gpus"):
        device_inventory._cache.pop(key, None)


def open_devices() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page("../pages/devices.py").run()
    assert not at.exception, at.exception
    return at


def test_no_gpu_says_so_and_shows_the_cpu(runs_root):
    at = open_devices()
    assert [t.value for t in at.title] == ["Devices"]
    assert any("No GPU found on this machine" in i.value for i in at.info)
    cores = next(m for m in at.metric if m.label == "Cores")
    assert cores.value.startswith(str(os.cpu_count()))
    assert any(m.label == "Memory used" and "GB" in m.value for m in at.metric)
    assert any("CPU-only TensorFlow build" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1  # memory bars: the host RAM


def test_gpus_with_their_runs(runs_root, monkeypatch):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run({"dataset": "digits", "model": "cnn", "epochs": 1}, "big one")
    store.mark_started(run_id, os.getpid())  # a live pid with a heartbeat: not marked lost
    done = threading.Event()

    def keep_beating():  # as the run's worker would, every half second until the test ends
        while not done.wait(0.5):
            store.beat(run_id)

    beat = threading.Thread(target=keep_beating)
    beat.start()
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([os.getpid()]))
    try:
        at = open_devices()
    finally:
        done.set()
        beat.join()
    assert not at.info  # GPUs found: no "no GPU" note
    table = at.dataframe[0].value
    assert list(table["GPU"]) == [0, 1]
    assert list(table["memory used (MB)"]) == [5120, 10240]
    assert list(table["runs"]) == [run_id, "-"]
    assert any("GPUs from NVML" in c.value for c in at.caption)


def form_script():
    """The Train form's Devices expander alone, in a form, its result shown as JSON."""
    import streamlit as st

    from core.config import DeviceSettings
    from dashboard.device_fields import device_fields

    gpus = [{"index": 0, "name": "A100"}, {"index": 1, "name": "A100"}]
    with st.form("f"):
        values = device_fields(DeviceSettings(cpu_replicas=2), gpus=gpus)
        submitted = st.form_submit_button("Train")
    if submitted:
        st.session_state["values"] = values


def test_device_fields_build_the_run_settings():
    from core.config import RunConfig

    at = AppTest.from_function(form_script, default_timeout=30).run()
    assert not at.exception, at.exception
    at.radio(key="dev-mode").set_value("these GPUs")
    at.multiselect(key="dev-indices").set_value([1])
    at.checkbox(key="dev-limit-on").check()
    at.number_input(key="dev-limit").set_value(2048)
    at.selectbox(key="dev-precision").set_value("mixed_bfloat16")
    at.selectbox(key="dev-xla").set_value("on")
    at.checkbox(key="dev-backoff").check()
    at.button[0].click().run()
    values = at.session_state["values"]
    config = RunConfig.from_dict({"devices": values})
    assert config.devices.visible_gpus == [1]
    assert config.devices.memory_limit_mb == 2048
    assert config.devices.mixed_precision == "mixed_bfloat16"
    assert config.devices.jit_compile is True
    assert config.devices.oom_backoff is True
    assert config.devices.cpu_replicas == 2  # the hidden testing option is kept
    at.radio(key="dev-mode").set_value("CPU only")
    at.button[0].click().run()
    assert at.session_state["values"]["visible_gpus"] == []
