"""Predict page "Why?": Layer-CAM over the image for a convolutional run, and with several
uploaded images a choice of which one to explain."""

from __future__ import annotations

import numpy as np
import pytest

from core.runs import artifacts
from core.runs.store import RunStore
from dashboard.classification_view import IMAGE_LABEL
from tests.conftest import TINY
from tests.pages.helpers import widget
from tests.pages.test_predict_uploads import open_predict, png

WHY = "Why? (Grad-CAM for convolutional models, saliency for others)"


@pytest.fixture
def conv_run(tmp_path, monkeypatch):
    """A succeeded digits run whose model is a small (untrained) registry CNN."""
    from core.data.registry import dataset_info
    from core.models.registry import build_model

    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    info = dataset_info("digits")
    store = RunStore(root / "runs.sqlite")
    run_id = store.create_run({**TINY, "model": "cnn"})
    store.set_status(run_id, "succeeded")
    model, settings = build_model("cnn", info.input_shape, info.num_classes, {"filters": [4, 8]})
    meta = {
        "task": "classification",
        "model": "cnn",
        "settings": settings,
        "dataset": "digits",
        "input_shape": list(info.input_shape),
        "class_names": list(info.class_names),
    }
    artifacts.write_json(root / run_id, artifacts.MODEL_META, meta)
    artifacts.save_model(root / run_id, model)
    return run_id


def test_why_explains_the_chosen_one_of_several_images(conv_run):
    at = open_predict()
    widget(at.radio, "Image").set_value("Upload").run()
    files = [
        ("dots.png", png(np.eye(16, dtype=np.uint8) * 255), "image/png"),
        ("block.png", png(np.pad(np.full((6, 6), 255, np.uint8), 5)), "image/png"),
    ]
    widget(at.file_uploader, IMAGE_LABEL).set_value(files).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 1
    assert "why-image" not in [s.key for s in at.selectbox]  # only once Why? is ticked
    widget(at.checkbox, WHY).check().run()
    assert not at.exception, at.exception
    assert widget(at.selectbox, "Image to explain").options == ["dots.png", "block.png"]
    caption = at.image[-1].proto.imgs[0].caption
    assert caption.startswith("Layer-CAM (Grad-CAM weighted per location, all resolutions)")
    first = at.image[-1].proto.imgs[0].url
    widget(at.selectbox, "Image to explain").set_value("block.png").run()
    assert not at.exception, at.exception
    assert at.image[-1].proto.imgs[0].url != first  # another image, another overlay
