"""Predict page uploads through AppTest: many images at once (files and a zip) with what was
done to each, a sortable table and a CSV; and a model file from elsewhere, run in a subprocess."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.tasks.image_predict import prepare_images
from dashboard.classification_view import IMAGE_LABEL, MODEL_LABEL
from tests.image_run_helpers import save_image_run
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


RGB = png(np.full((480, 640, 3), 230, np.uint8))  # light grey 640x480 RGB
GRAY = png(np.zeros((16, 16), np.uint8))


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict-upload-runs")
    return root, save_image_run(root, "classification")


@pytest.fixture
def run(image_run, monkeypatch):
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(image_run[0]))
    return image_run


def open_predict() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    return at


def test_prepare_says_what_it_did():
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("folder/a.png", GRAY)
        archive.writestr("folder/.hidden", b"x")
    files = [("photo.png", RGB), ("notes.txt", b"hello"), ("set.zip", zipped.getvalue())]
    prepared = prepare_images(files, (16, 16, 1))
    assert [p.name for p in prepared] == ["photo.png", "notes.txt", "set.zip/folder/a.png"]
    assert prepared[0].notes == "resized 640x480 -> 16x16, RGB -> gray, scaled 0-255 -> 0-1"
    assert prepared[0].array.shape == (16, 16, 1)
    assert prepared[1].array is None and prepared[1].error.startswith("notes.txt: not a")
    assert "BytesIO" not in prepared[1].error
    assert prepared[2].notes == "kept size, scaled 0-255 -> 0-1"
    inverted = prepare_images([("photo.png", RGB)], (16, 16, 1), invert=True)[0]
    assert np.allclose(inverted.array, 1 - prepared[0].array) and "inverted" in inverted.notes


def test_many_images_give_a_table_and_csv(run):
    at = open_predict()
    widget(at.radio, "Image").set_value("Upload").run()
    files = [("light.png", RGB, "image/png"), ("dark.png", GRAY, "image/png")]
    files.append(("junk.png", b"not an image at all", "image/png"))
    widget(at.file_uploader, IMAGE_LABEL).set_value(files).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("junk.png: not a")
    (table,) = at.dataframe
    frame = table.value
    assert list(frame["image"]) == ["light.png", "dark.png"]
    assert set(frame.columns) >= {"prediction", "probability", "top_k", "preprocessing"}
    assert frame["preprocessing"][0].startswith("resized 640x480 -> 16x16, RGB -> gray")
    assert len(at.get("download_button")) == 1


def test_a_model_file_predicts_in_a_subprocess(run):
    root, run_id = run
    at = open_predict()
    widget(at.radio, "Model").set_value("A model file").run()
    content = (root / run_id / "model.keras").read_bytes()
    widget(at.file_uploader, MODEL_LABEL).set_value(("mine.keras", content, "application/zip"))
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 0
    assert "mine.keras: keras model, input (16, 16, 1), 10 outputs" in at.success[0].value
    widget(at.file_uploader, IMAGE_LABEL).set_value([("dark.png", GRAY, "image/png")]).run()
    assert not at.exception, at.exception
    (metric,) = at.metric
    assert metric.label == "Prediction" and metric.value.split(" (")[0] in list("0123456789")


def test_why_draws_a_heat_map(run):
    at = open_predict()
    images = len(at.image)
    widget(at.checkbox, "Why? (Grad-CAM for convolutional models, saliency for others)").check()
    at.run()
    assert not at.exception, at.exception
    assert len(at.image) == images + 1
    assert "saliency for class" in at.image[-1].proto.imgs[0].caption  # an MLP: no conv layer
