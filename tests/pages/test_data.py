"""Data page (pages/data.py) through Streamlit's AppTest.

Opened through dashboard/app.py and switch_page like the other page tests. Built-in datasets need
no files; the folder import uses a data root (TFLAB_DATA_ROOT) made in the test's tmp_path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.pages.helpers import widget

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
CAPTION = re.compile(r"^(?P<cls>.+) · #(?P<index>\d+)$")  # sample grid: "<class> · #<index>"


def open_data(dataset: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if dataset is not None:
        at.query_params["dataset"] = dataset
    at.switch_page("../pages/data.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Data"]
    return at


def tab(at: AppTest, label: str):
    return widget(at.tabs, label)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def grid_captions(at: AppTest) -> list[str]:
    """Captions of the sample grid (the Samples tab holds exactly one st.image)."""
    (grid,) = tab(at, "Samples").get("image")
    assert len(grid.value) == len(grid.captions)
    return grid.captions


def chart_specs(node) -> list[dict]:
    return [json.loads(c.proto.spec) for c in node.get("plotly_chart")]


def test_digits_shows_splits_samples_and_statistics():
    at = open_data()
    assert widget(at.selectbox, "Dataset").value == "digits"
    assert at.query_params["dataset"] == "digits"
    assert metrics(at) == {"train": "719", "validation": "179", "test": "899", "classes": "10"}
    assert "Handwritten digits" in at.caption[0].value

    captions = grid_captions(at)
    assert len(captions) == 24  # GRID_SIZE
    parsed = [CAPTION.match(c) for c in captions]
    assert all(parsed), captions
    assert {m["cls"] for m in parsed} <= {str(d) for d in range(10)}
    assert len({m["cls"] for m in parsed}) > 3  # a mixed sample, not one class

    stats = tab(at, "Statistics")
    (histogram,) = chart_specs(stats)
    (bars,) = histogram["data"]
    assert bars["type"] == "bar"
    assert bars["x"] == [str(d) for d in range(10)]
    assert sum(bars["y"]) == 719  # the train split
    assert "**719 images**, 16x16 pixels, 1 channel(s)" in stats.markdown[0].value
    (table,) = stats.dataframe
    channels = table.value
    assert channels["channel"].tolist() == ["gray"]
    assert list(channels.columns) == ["channel", "min", "max", "mean", "std"]
    assert 0.0 <= channels["min"][0] < channels["mean"][0] < channels["max"][0] <= 1.0

    (means,) = tab(at, "Mean image per class").get("image")
    assert len(means.value) == 10
    assert means.captions[0].startswith("0 (n=")

    widget(at.radio, "Split").set_value("test").run()
    assert not at.exception, at.exception
    assert "**899 images**" in tab(at, "Statistics").markdown[0].value
    assert sum(chart_specs(tab(at, "Statistics"))[0]["data"][0]["y"]) == 899


def test_class_filter_reduces_the_grid_to_those_classes():
    at = open_data()
    before = grid_captions(at)
    widget(at.multiselect, "Show classes").set_value(["3"]).run()
    assert not at.exception, at.exception
    only_threes = grid_captions(at)
    assert only_threes and all(c.startswith("3 · #") for c in only_threes), only_threes
    assert only_threes != before

    widget(at.multiselect, "Show classes").set_value(["3", "7"]).run()
    assert not at.exception, at.exception
    threes_and_sevens = grid_captions(at)
    assert {CAPTION.match(c)["cls"] for c in threes_and_sevens} == {"3", "7"}

    # another sample seed draws other images of the same classes
    widget(at.number_input, "Sample seed").set_value(5).run()
    assert not at.exception, at.exception
    reseeded = grid_captions(at)
    assert {CAPTION.match(c)["cls"] for c in reseeded} == {"3", "7"}
    assert reseeded != threes_and_sevens


def test_dataset_query_parameter_preselects_shapes():
    at = open_data("shapes")
    assert widget(at.selectbox, "Dataset").value == "shapes"
    assert metrics(at) == {"train": "2,100", "validation": "450", "test": "450", "classes": "4"}
    shapes = {"circle", "square", "triangle", "cross"}
    assert {CAPTION.match(c)["cls"] for c in grid_captions(at)} <= shapes
    stats = tab(at, "Statistics")
    assert stats.dataframe[0].value["channel"].tolist() == ["red", "green", "blue"]
    assert chart_specs(stats)[0]["data"][0]["x"] == ["circle", "square", "triangle", "cross"]


def make_image_folder(root: Path, name: str) -> Path:
    """<root>/<name>/{cat,dog}/*.png, four small colour images each, plus a zero-byte file."""
    rng = np.random.default_rng(0)
    folder = root / name
    for cls in ("cat", "dog"):
        (folder / cls).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / cls / f"{cls}{i}.png")
    (folder / "dog" / "broken.png").write_bytes(b"")
    return folder


def test_your_data_imports_a_folder_and_lists_skipped_files(tmp_path, monkeypatch):
    data_root = tmp_path / "data"
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(data_root))
    # st.cache_resource and load_dataset's lru_cache are per process and keyed by name:
    # a name no other test uses keeps this data root's folder from being mixed up
    make_image_folder(data_root, "pets-data-page")

    at = open_data()
    widget(at.selectbox, "Dataset").set_value("Your data ...").run()
    assert not at.exception, at.exception
    assert len(at.metric) == 0  # nothing to show before a source is typed
    widget(at.text_input, "Source").set_value("folder:pets-data-page@16").run()
    assert not at.exception, at.exception
    assert len(at.error) == 0, [e.value for e in at.error]

    # 8 readable images: 70/15/15 -> 6/1/1
    assert metrics(at) == {"train": "6", "validation": "1", "test": "1", "classes": "2"}
    assert "Image folder pets-data-page: 8 images (1 files skipped) in 2 classes" in (
        at.caption[0].value
    )
    (skipped,) = at.expander
    assert skipped.label == "1 file(s) skipped during import"
    rows = skipped.dataframe[0].value
    assert rows.to_dict("records") == [{"file": "dog/broken.png", "reason": "the file is empty"}]
    assert widget(at.multiselect, "Show classes").options == ["cat", "dog"]
    captions = grid_captions(at)
    assert len(captions) == 6
    assert {CAPTION.match(c)["cls"] for c in captions} <= {"cat", "dog"}
    stats = tab(at, "Statistics")
    assert "16x16 pixels, 3 channel(s)" in stats.markdown[0].value
    assert any(data_root.joinpath(".cache").glob("folder-*.npz"))  # the import was cached

    # one validation image: filtering for the other class shows a message, not an empty grid
    widget(at.radio, "Split").set_value("validation").run()
    (present,) = {CAPTION.match(c)["cls"] for c in grid_captions(at)}
    absent = "dog" if present == "cat" else "cat"
    widget(at.multiselect, "Show classes").set_value([absent]).run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["No images of these classes in this split."]
    assert len(tab(at, "Samples").get("image")) == 0


def test_path_outside_the_data_root_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(tmp_path / "data"))
    (tmp_path / "x" / "cls").mkdir(parents=True)  # exists, but outside the data root

    at = open_data()
    widget(at.selectbox, "Dataset").set_value("Your data ...").run()
    widget(at.text_input, "Source").set_value("folder:../x").run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert "outside the data root" in error.value
    assert "'../x'" in error.value
    assert len(at.metric) == 0
    assert len(at.get("image")) == 0


def test_waveform_dataset_renders_its_charts():
    at = open_data()
    widget(at.selectbox, "Dataset").set_value("synthetic").run()
    assert not at.exception, at.exception
    assert len(at.error) == 0, [e.value for e in at.error]
    assert at.query_params["dataset"] == "synthetic"
    specs = chart_specs(at)
    assert len(specs) >= 3, len(specs)
    assert all(spec["data"] for spec in specs)  # every chart has traces
    assert any("windows" in m.value for m in at.markdown)  # "train: **n** windows · ..."
    assert "classes" not in metrics(at)  # the waveform view, not the image one
    assert at.selectbox(key="wf-data-split").value == "train"


def test_a_changed_folder_is_shown_as_it_is_now(tmp_path, monkeypatch):
    data_root = tmp_path / "data"
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(data_root))
    folder = make_image_folder(data_root, "pets-changed-later")

    def view() -> AppTest:  # a new browser session each time
        at = open_data()
        widget(at.selectbox, "Dataset").set_value("Your data ...").run()
        widget(at.text_input, "Source").set_value("folder:pets-changed-later@16").run()
        assert not at.exception, at.exception
        return at

    assert metrics(view())["classes"] == "2"
    (folder / "bird").mkdir()
    for i in range(4):
        Image.fromarray(np.full((20, 24, 3), 40 * i, np.uint8)).save(folder / "bird" / f"{i}.png")
    assert metrics(view())["classes"] == "3"
