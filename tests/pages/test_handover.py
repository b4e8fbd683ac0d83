"""The Augment -> Train hand-over (dashboard/handover.py): the typed choice and both pages using it.

The page tests open dashboard/app.py, press "Use for training" on the Augment page, switch to the
Train page in the same session and launch a run; the worker is replaced by a recorder, the run's
config is read back from its runs folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import launcher, scheduler
from core.runs.store import RunStore
from dashboard.handover import KEY, AugmentationChoice
from tests.pages.helpers import widget

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
CHECKBOX = "Use the augmentation from the Augment page ({})"


@pytest.fixture
def spawned(monkeypatch) -> list[str]:
    """Record run ids instead of starting a TensorFlow worker process; the queue view's
    ensure_scheduler starts no scheduler either (it would start the queued run at full size)."""
    calls: list[str] = []
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: calls.append(run_id))
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda root: False)
    return calls


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


# ---------------------------------------------------------------------------- the dataclass


def test_a_waveform_choice_keeps_checked_picking_settings():
    choice = AugmentationChoice(
        "waveform", [{"op": "time_shift"}], 3, {"label_shape": "box", "label_width": 7}
    )
    assert choice.data_settings == {"label_shape": "box", "label_width": 7.0}  # only those given
    assert type(choice.data_settings["label_width"]) is float
    assert AugmentationChoice("image", [{"op": "brightness"}], 0).data_settings == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("audio", [{"op": "x"}], 0), "kind must be one of image, waveform"),
        (("image", [], 0), "at least one step"),
        (("image", [{"max_delta": 0.1}], 0), "each with an 'op'"),
        (("image", [{"op": "brightness"}], -1), "seed must be a whole number"),
        (("image", [{"op": "brightness"}], 0, {"noise_std": 0.1}), "carries no data settings"),
        (("waveform", [{"op": "gaps"}], 0, {"shape": "box"}), "unknown data setting(s) shape"),
        (("waveform", [{"op": "gaps"}], 0, {"label_shape": "wave"}), "label_shape must be one"),
        (("waveform", [{"op": "gaps"}], 0, {"label_width": 0}), "label_width must be positive"),
    ],
)
def test_a_bad_choice_is_a_value_error(args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AugmentationChoice(*args)


def offer_app():
    import streamlit as st

    from dashboard.handover import AugmentationChoice, offer, pending

    st.session_state["before"] = pending()
    offer(AugmentationChoice("image", [{"op": "brightness"}], 1))
    offer(AugmentationChoice("waveform", [{"op": "gaps"}], 2, {"label_width": 5}))
    offer(AugmentationChoice("image", [{"op": "hue"}], 3))
    st.session_state["after"] = pending()


def test_offer_keeps_one_choice_per_kind_under_one_key():
    at = run(AppTest.from_function(offer_app))
    assert at.session_state["before"] == {}
    after = at.session_state["after"]
    assert after == {
        "image": AugmentationChoice("image", [{"op": "hue"}], 3),
        "waveform": AugmentationChoice("waveform", [{"op": "gaps"}], 2, {"label_width": 5.0}),
    }
    assert at.session_state[KEY] == after


# ---------------------------------------------------------------------------- Augment -> Train


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"../pages/{page}.py")
    return run(at)


def test_image_pipeline_prefills_the_train_form_and_the_run(runs_root, spawned):
    at = open_page(AppTest.from_file(str(APP), default_timeout=120), "augment")
    for op in ("brightness", "random_flip_left_right"):
        widget(at.selectbox, "Add an operation").set_value(op)
        widget(at.button, "Add").click()
        run(at)
    widget(at.slider, "max delta").set_value(0.3)
    widget(at.number_input, "Seed").set_value(7)
    run(at)
    widget(at.button, "Use for training").click()
    run(at)

    open_page(at, "train")
    use = widget(at.checkbox, CHECKBOX.format("image: 2 step(s)"))
    assert use.value is True
    assert use.help == "image: brightness -> random_flip_left_right (seed 7)"
    widget(at.selectbox, "Dataset").set_value("shapes")
    at.form_submit_button[0].click()
    run(at)

    (record,) = RunStore(runs_root / "runs.sqlite").list_runs()
    assert spawned == [record.id]
    assert record.config["augmentation"] == [
        {"op": "brightness", "max_delta": 0.3},
        {"op": "random_flip_left_right", "probability": 0.5},
    ]
    assert record.config["augment_seed"] == 7
    assert record.config["dataset"] == "shapes"

    open_page(at, "augment")  # the pipeline is still there to edit
    assert [s["op"] for s in at.session_state["augment-steps"]] == [
        "brightness",
        "random_flip_left_right",
    ]


def test_waveform_pipeline_and_labels_reach_the_runs_data_settings(runs_root, spawned):
    at = open_page(AppTest.from_file(str(APP), default_timeout=120), "augment")
    widget(at.selectbox, "Dataset").set_value("synthetic")
    run(at)
    at.selectbox(key="wf-aug-shape").set_value("box")
    at.slider(key="wf-aug-width").set_value(30)
    at.number_input(key="wf-aug-seed").set_value(4)
    run(at)
    first = at.session_state["wf-aug-steps"][0]["uid"]
    at.button(key=f"wf-aug-remove-{first}").click()  # time_shift goes
    run(at)
    at.button(key="wf-aug-use").click()
    run(at)

    open_page(at, "train")
    use = widget(at.checkbox, CHECKBOX.format("waveform: 2 step(s)"))
    assert use.value is True
    assert use.help == (
        "waveform: add_noise -> normalize (seed 4, label_shape=box, label_width=30.0)"
    )
    widget(at.selectbox, "Dataset").set_value("synthetic")
    (model,) = [s for s in at.selectbox if s.label == "Model" and s.form_id]  # not the overview
    model.set_value("phasenet")
    at.form_submit_button[0].click()
    run(at)
    assert not at.error, [e.value for e in at.error]

    (record,) = RunStore(runs_root / "runs.sqlite").list_runs()
    assert spawned == [record.id]
    config = record.config
    assert [s["op"] for s in config["augmentation"]] == ["add_noise", "normalize"]
    assert config["augment_seed"] == 4
    assert config["data_settings"]["label_shape"] == "box"
    assert config["data_settings"]["label_width"] == 30.0
    assert not any(k.startswith("label_label") for k in config["data_settings"])


def test_a_pipeline_for_the_other_kind_of_data_is_an_error(runs_root, spawned):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[KEY] = {
        "waveform": AugmentationChoice("waveform", [{"op": "gaps"}], 0, {"label_width": 5})
    }
    open_page(at, "train")
    at.form_submit_button[0].click()  # digits is image data
    run(at)
    assert [e.value for e in at.error] == [
        "Could not start the run: the Augment page's pipeline is for waveform data, "
        "but digits is image data"
    ]
    widget(at.checkbox, CHECKBOX.format("waveform: 1 step(s)")).uncheck()
    at.form_submit_button[0].click()
    run(at)
    (record,) = RunStore(runs_root / "runs.sqlite").list_runs()
    assert record.config["augmentation"] == [] and record.config["augment_seed"] is None
