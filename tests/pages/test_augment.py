"""Augment page (pages/augment.py) through Streamlit's AppTest.

The page reaches st.page_link ("Go to Train"), which only works for pages registered with
st.navigation, so it is opened through dashboard/app.py and switch_page. The preview runs the
real TensorFlow ops (core.augment.pipeline), so the first test of a session pays TensorFlow's
import.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.handover import KEY, AugmentationChoice
from tests.pages.helpers import widget

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
STEPS = "augment-steps"
FOOTER = "Variant v of a sample is exactly what training feeds the model"
BRIGHTNESS = re.compile(r"^brightness [+-]\d\.\d\d$")


def open_augment() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)  # the first run imports TensorFlow
    at.switch_page("../pages/augment.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Augment"]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def add(at: AppTest, op: str) -> AppTest:
    widget(at.selectbox, "Add an operation").set_value(op)
    widget(at.button, "Add").click()
    return rerun(at)


def ops(at: AppTest) -> list[str]:
    return [s["op"] for s in at.session_state[STEPS]]


def uids(at: AppTest) -> list[int]:
    return [s["uid"] for s in at.session_state[STEPS]]


def step_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if re.match(r"^\*\*\d+\. ", m.value)]


def notes(at: AppTest) -> list[str]:
    """The caption under every variant: the drawn parameters of each op, joined by '; '."""
    return [c.value for c in at.caption if not c.value.startswith(FOOTER)]


def image_captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def image_urls(at: AppTest) -> list[str]:
    return [url for image in at.image for url in image.value]


def test_empty_pipeline_shows_a_hint_and_unchanged_samples():
    at = open_augment()
    assert widget(at.selectbox, "Dataset").value == "digits"
    assert [i.value for i in at.info] == ["Add operations above; they run in this order."]
    assert notes(at) == ["unchanged"] * 12  # 3 samples x 4 variants
    assert widget(at.button, "Use for training").disabled
    assert at.code[0].value == "(no augmentation)"


def test_added_operations_fill_a_samples_by_variants_grid():
    at = open_augment()
    add(at, "brightness")
    add(at, "rotation")
    assert ops(at) == ["brightness", "rotation"]
    assert step_titles(at) == ["**1. Brightness**", "**2. Rotation**"]
    assert len(at.info) == 0
    assert {s.label for s in at.slider} >= {"max delta", "max degrees", "fill value"}
    assert widget(at.selectbox, "fill mode").value == "reflect"

    # 3 samples x (original + 4 variants)
    captions = image_captions(at)
    assert len(captions) == 3 * 5
    originals = captions[::5]
    assert all(re.match(r"^original #\d+ \(\d\)$", c) for c in originals), originals
    assert [c for c in captions if not c.startswith("original")] == [
        f"epoch {v}" for v in range(4)
    ] * 3
    lines = notes(at)
    assert len(lines) == 12
    for line in lines:  # one entry per op, in pipeline order
        brightness, rotation = line.split("; ")
        assert BRIGHTNESS.match(brightness), line
        assert re.match(r"^rotated [+-]\d+\.\d deg$", rotation), line
    assert len(set(lines)) == 12  # every (sample, epoch) draws its own parameters
    assert at.code[0].value.splitlines() == [
        "Brightness(max_delta=0.2)",
        "Rotation(max_degrees=15, fill_mode='reflect', fill_value=0)",
    ]

    widget(at.slider, "Variants (epochs)").set_value(2)
    widget(at.slider, "Samples").set_value(2)
    rerun(at)
    assert len(image_captions(at)) == 2 * 3
    assert len(notes(at)) == 2 * 2


def test_seed_changes_the_draws_and_the_same_seed_repeats_them():
    at = open_augment()
    add(at, "brightness")
    seed = widget(at.number_input, "Seed")
    first, first_urls = notes(at), image_urls(at)
    assert all(BRIGHTNESS.match(n) for n in first), first

    seed.set_value(1)
    rerun(at)
    second, second_urls = notes(at), image_urls(at)
    assert second != first
    assert sum(a != b for a, b in zip(first, second, strict=True)) > 8  # nearly every draw
    # the originals stay; the variant images change with their draws
    assert second_urls[::5] == first_urls[::5]
    assert second_urls != first_urls

    widget(at.number_input, "Seed").set_value(0)
    rerun(at)
    assert notes(at) == first
    assert image_urls(at) == first_urls

    widget(at.slider, "max delta").set_value(0.0)
    rerun(at)
    assert set(notes(at)) == {"brightness +0.00"}


def test_steps_move_up_and_down_and_can_be_removed():
    at = open_augment()
    for op in ("brightness", "flip_left_right", "gaussian_noise"):
        add(at, op)
    a, b, c = uids(at)
    assert len({a, b, c}) == 3
    assert at.button(key=f"augment-up-{a}").disabled
    assert not at.button(key=f"augment-down-{a}").disabled
    assert at.button(key=f"augment-down-{c}").disabled
    assert not at.button(key=f"augment-up-{c}").disabled

    at.button(key=f"augment-down-{a}").click()
    rerun(at)
    assert ops(at) == ["flip_left_right", "brightness", "gaussian_noise"]
    assert step_titles(at)[0] == "**1. Flip left-right**"
    first = notes(at)[0].split("; ")
    assert first[0] == "flipped left-right" and BRIGHTNESS.match(first[1])
    assert at.button(key=f"augment-up-{b}").disabled  # flip is first now

    at.button(key=f"augment-up-{c}").click()
    rerun(at)
    assert ops(at) == ["flip_left_right", "gaussian_noise", "brightness"]
    assert notes(at)[0].split("; ")[1] == "Gaussian noise sigma=0.050"

    at.button(key=f"augment-remove-{c}").click()
    rerun(at)
    assert ops(at) == ["flip_left_right", "brightness"]
    assert step_titles(at) == ["**1. Flip left-right**", "**2. Brightness**"]
    assert all(len(n.split("; ")) == 2 for n in notes(at))

    at.button(key=f"augment-remove-{b}").click()
    at = rerun(at)
    at.button(key=f"augment-remove-{a}").click()
    rerun(at)
    assert ops(at) == []
    assert notes(at) == ["unchanged"] * 12


def test_use_for_training_offers_the_spec_and_seed():
    at = open_augment()
    add(at, "brightness")
    add(at, "random_flip_left_right")
    widget(at.slider, "max delta").set_value(0.3)
    widget(at.number_input, "Seed").set_value(7)
    rerun(at)
    assert KEY not in at.session_state

    widget(at.button, "Use for training").click()
    rerun(at)
    spec = [
        {"op": "brightness", "max_delta": 0.3},
        {"op": "random_flip_left_right", "probability": 0.5},
    ]
    assert at.session_state[KEY] == {"image": AugmentationChoice("image", spec, 7)}
    assert [s.value for s in at.success] == ["The Train page will use these 2 step(s)."]
    (link,) = at.page_link
    assert link.label == "Go to Train"
    assert link.proto.page == "train"


def test_standardization_before_another_op_is_an_error_not_an_exception():
    at = open_augment()
    add(at, "standardize")
    add(at, "brightness")
    (error,) = at.error
    assert error.value.startswith("This pipeline cannot run: step 1: per-image standardization")
    assert "must be the last op" in error.value
    assert len(at.image) == 0  # no preview
    assert not any(b.label == "Use for training" for b in at.button)

    at.button(key=f"augment-down-{uids(at)[0]}").click()  # standardization last: fine
    rerun(at)
    assert ops(at) == ["brightness", "standardize"]
    assert len(at.error) == 0
    assert all(n.endswith("; standardized (zero mean, unit variance)") for n in notes(at))
    assert len(image_captions(at)) == 15


def test_adding_after_removing_a_step_keeps_widget_keys_unique():
    at = open_augment()
    add(at, "brightness")
    add(at, "flip_left_right")
    at.button(key=f"augment-remove-{uids(at)[0]}").click()
    rerun(at)
    add(at, "contrast")  # fails: the new step gets the uid of flip_left_right
    assert ops(at) == ["flip_left_right", "contrast"]
    assert len(set(uids(at))) == 2
