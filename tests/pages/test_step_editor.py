"""The step editor widget (dashboard/step_editor.py) on the image and the waveform op registry."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.step_editor import field_label

TIMEOUT = 120  # the image registry imports TensorFlow

# registry, two ops to add, a slider of the first op and a value to set it to
CASES = {
    "image": ("brightness", "rotation", "max_delta", 0.3),
    "waveform": ("gaps", "time_shift", "max_gaps", 5),
}


def editor_app(registry: str, defaults=None, limits=None):
    import streamlit as st

    from dashboard.step_editor import step_editor

    if registry == "image":
        from core.augment.image_ops import OPS as ops
    else:
        from core.seismic.waveform_augment import WAVEFORM_OPS as ops
    st.session_state["spec"] = step_editor(ops, "ed", defaults=defaults, limits=limits)


def registry(name: str) -> dict:
    if name == "image":
        from core.augment.image_ops import OPS

        return OPS
    from core.seismic.waveform_augment import WAVEFORM_OPS

    return WAVEFORM_OPS


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def add(at: AppTest, op: str) -> AppTest:
    at.selectbox(key="ed-add-op").set_value(op)
    at.button(key="ed-add").click()
    return run(at)


def uids(at: AppTest) -> list[int]:
    return [s["uid"] for s in at.session_state["ed-steps"]]


@pytest.mark.parametrize("kind", list(CASES))
def test_add_move_remove_and_a_slider_give_the_spec(kind):
    first, second, field, value = CASES[kind]
    ops = registry(kind)
    at = run(AppTest.from_function(editor_app, args=(kind,), default_timeout=TIMEOUT))
    assert at.session_state["spec"] == []
    assert at.selectbox(key="ed-add-op").options == [ops[n].LABEL for n in ops]

    add(at, first)
    add(at, second)
    a, b = uids(at)
    defaults = {first: ops[first]().settings(), second: ops[second]().settings()}
    assert at.session_state["spec"] == [
        {"op": first, **defaults[first]},
        {"op": second, **defaults[second]},
    ]
    titles = [m.value for m in at.markdown]
    assert titles == [f"**1. {ops[first].LABEL}**", f"**2. {ops[second].LABEL}**"]
    assert at.button(key=f"ed-up-{a}").disabled and at.button(key=f"ed-down-{b}").disabled

    at.button(key=f"ed-up-{b}").click()
    run(at)
    assert [s["op"] for s in at.session_state["spec"]] == [second, first]
    assert at.button(key=f"ed-up-{b}").disabled and not at.button(key=f"ed-up-{a}").disabled

    slider = at.slider(key=f"ed-{a}-{field}")
    assert slider.label == field_label(field)
    assert (slider.min, slider.max) == tuple(ops[first].PARAMS[field][:2])
    slider.set_value(value)
    run(at)

    at.button(key=f"ed-remove-{b}").click()
    run(at)
    assert at.session_state["spec"] == [{"op": first, **defaults[first], field: value}]
    assert type(at.session_state["spec"][0][field]) is type(value)
    assert [m.value for m in at.markdown] == [f"**1. {ops[first].LABEL}**"]

    add(at, second)  # a new uid: the removed step's widget keys are never reused
    assert len(set(uids(at))) == 2 and b not in uids(at)


def test_choices_are_selectboxes():
    at = run(AppTest.from_function(editor_app, args=("waveform",), default_timeout=TIMEOUT))
    add(at, "normalize")
    (uid,) = uids(at)
    scope = at.selectbox(key=f"ed-{uid}-scope")
    assert scope.label == "scope" and scope.options == ["window", "component"]
    scope.set_value("component")
    run(at)
    assert at.session_state["spec"] == [{"op": "normalize", "mode": "std", "scope": "component"}]


def test_defaults_fill_in_settings_drop_unknown_ops_and_limits_clamp():
    defaults = [{"op": "random_window"}, {"op": "no_such_op"}, {"op": "add_noise", "snr_db_min": 5}]
    limits = {"random_window": {"length": (100, 500)}}
    at = AppTest.from_function(
        editor_app, args=("waveform", defaults, limits), default_timeout=TIMEOUT
    )
    run(at)
    assert at.session_state["spec"] == [
        {"op": "random_window", "length": 500, "margin_s": 1.0},  # 3001 clamped to the limit
        {"op": "add_noise", "snr_db_min": 5.0, "snr_db_max": 20.0},
    ]
    window, noise = uids(at)
    length = at.slider(key=f"ed-{window}-length")
    assert (length.min, length.max, length.value) == (100, 500, 500)
    assert at.slider(key=f"ed-{noise}-snr_db_min").label == "SNR min (dB)"
    at.button(key=f"ed-remove-{window}").click()
    run(at)  # defaults only seed an empty editor: the removed step stays removed
    assert [s["op"] for s in at.session_state["spec"]] == ["add_noise"]


def test_an_empty_slider_range_is_a_fixed_value():
    limits = {"random_window": {"length": (100, 80)}}  # a window shorter than the op's minimum
    at = AppTest.from_function(
        editor_app, args=("waveform", [{"op": "random_window"}], limits), default_timeout=TIMEOUT
    )
    run(at)
    assert at.session_state["spec"][0]["length"] == 100
    assert "length: 100" in [c.value for c in at.caption]
    assert [s.label for s in at.slider] == ["margin (s)"]


def test_field_labels():
    assert field_label("max_delta") == "max delta"
    assert field_label("snr_db_max") == "SNR max (dB)"
    assert field_label("max_gap_s") == "max gap (s)"
    assert field_label("freqmin") == "low corner (Hz)"
