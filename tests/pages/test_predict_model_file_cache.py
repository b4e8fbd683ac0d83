"""Predict with a model file from elsewhere: a rerun with the same file and images does not start
the model process again (results cached on the file's digest and the images' content); the
upload lands in the configured uploads folder, named by its digest."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from core.models import untrusted
from dashboard.classification_view import IMAGE_LABEL, MODEL_LABEL
from tests.image_run_helpers import save_image_run
from tests.pages.helpers import widget
from tests.pages.test_predict_uploads import open_predict, png

IMAGES = [
    ("one.png", png(np.full((16, 16), 17, np.uint8)), "image/png"),
    ("two.png", png(np.eye(16, dtype=np.uint8) * 201), "image/png"),
]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """(runs folder, id) of a finished digits MLP run, the folder set as TFLAB_RUNS_DIR."""
    root = tmp_path / "runs"
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    root.mkdir()
    return root, save_image_run(root, "classification", epochs=1)


@pytest.fixture
def processes(monkeypatch):
    """The actions of every model process started (inspect / predict)."""
    started = []
    real = untrusted._run_worker

    def counting(action, *args, **kwargs):
        started.append(action)
        return real(action, *args, **kwargs)

    monkeypatch.setattr(untrusted, "_run_worker", counting)
    return started


def test_a_rerun_does_not_start_the_model_process_again(run, processes, tmp_path, monkeypatch):
    monkeypatch.setenv("TFLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    root, run_id = run
    # bytes of our own: no other test's cache entry can answer for this file
    content = (root / run_id / "model.keras").read_bytes()
    at = open_predict()
    widget(at.radio, "Model").set_value("A model file").run()
    widget(at.file_uploader, MODEL_LABEL).set_value(("cache.keras", content, "application/zip"))
    at.run()
    widget(at.file_uploader, IMAGE_LABEL).set_value(IMAGES).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2
    first = list(at.dataframe[0].value["top_k"])
    assert processes.count("predict") == 1

    at.run()  # a rerun (any widget change elsewhere does this)
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["top_k"]) == first
    assert processes.count("predict") == 1 and processes.count("inspect") <= 1
    digest = hashlib.sha256(content).hexdigest()[:24]
    assert (tmp_path / "uploads" / digest / "cache.keras").read_bytes() == content
