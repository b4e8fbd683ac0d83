"""Smoke tests of the waveform views through Streamlit's AppTest (no browser)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.handover import KEY, AugmentationChoice

TIMEOUT = 120


def data_view(name):
    from dashboard.waveform_views import render_waveform_data

    render_waveform_data(name)


def augment_view(name):
    import streamlit as st

    from dashboard.waveform_views import render_waveform_augment

    spec = render_waveform_augment(name)
    if spec is not None:
        st.session_state["returned"] = spec


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def test_data_view_synthetic():
    at = AppTest.from_function(data_view, args=("synthetic",), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert not at.error
    assert len(charts(at)) == 5  # window, spectrogram, S-P, SNR, components
    at.selectbox(key="wf-filter").set_value("bandpass").run()
    at.number_input(key="wf-data-index").set_value(7).run()
    at.selectbox(key="wf-data-split").set_value("test").run()
    assert not at.exception and not at.error
    assert any("test" in m.value for m in at.subheader)


def test_data_view_real_single_component_station():
    at = AppTest.from_function(
        data_view, args=("phasenet:ncedc-sample",), default_timeout=TIMEOUT
    ).run()
    assert not at.exception and not at.error
    at.radio(key="wf-spec-comp").set_value("E")
    for index in range(15):  # find a Z-only station: the spectrogram of E says it is missing
        at.number_input(key="wf-data-index").set_value(index).run()
        if at.info:
            assert "missing" in at.info[0].value
            break
    assert not at.exception


def test_unknown_dataset_is_an_error_not_a_traceback():
    at = AppTest.from_function(data_view, args=("phasenet:../etc",), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "outside the data root" in at.error[0].value
    at = AppTest.from_function(augment_view, args=("nope:x",), default_timeout=TIMEOUT).run()
    assert not at.exception and "unknown waveform dataset" in at.error[0].value


def test_augment_view_preview_and_use_for_training():
    at = AppTest.from_function(augment_view, args=("synthetic",), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert not at.error
    assert len(charts(at)) == 1 + 3  # original (in the expander) + 3 variants
    captions = [c.value for c in at.caption]
    assert any("noise at" in c and "shifted" in c for c in captions)
    at.slider(key="wf-aug-width").set_value(50).run()  # label width redraws
    at.selectbox(key="wf-aug-add-op").set_value("superpose_event").run()
    at.button(key="wf-aug-add").click().run()
    at.slider(key="wf-aug-variants").set_value(2).run()
    assert not at.exception and len(charts(at)) == 3
    at.button(key="wf-aug-use").click().run()
    (choice,) = at.session_state[KEY].values()
    assert isinstance(choice, AugmentationChoice) and choice.kind == "waveform"
    assert [s["op"] for s in choice.spec] == [
        "time_shift",
        "add_noise",
        "normalize",
        "superpose_event",
    ]
    assert at.session_state["returned"] == choice.spec
    assert choice.seed == 0
    assert choice.data_settings == {"label_shape": "gaussian", "label_width": 50.0}


def test_augment_view_reorder_and_bad_settings():
    at = AppTest.from_function(augment_view, args=("synthetic",), default_timeout=TIMEOUT).run()
    first_uid = at.session_state["wf-aug-steps"][0]["uid"]
    at.button(key=f"wf-aug-down-{first_uid}").click().run()
    assert [s["op"] for s in at.session_state["wf-aug-steps"]][:2] == [
        "add_noise",
        "time_shift",
    ]
    noise_uid = at.session_state["wf-aug-steps"][0]["uid"]
    at.slider(key=f"wf-aug-{noise_uid}-snr_db_min").set_value(30.0).run()  # min > max
    assert not at.exception
    assert "cannot run" in at.error[0].value
