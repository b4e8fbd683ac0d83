"""Predict page for a denoising autoencoder run: input, noisy input, reconstruction, errors."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from core.runs import launcher
from dashboard.widgets import get_store
from tests.conftest import wait_for_end

REPO = Path(__file__).resolve().parent.parent.parent


def test_autoencoder_run_shows_three_rows_and_errors(runs_root):
    config = RunConfig(model="autoencoder", epochs=1, max_train_examples=64, batch_size=32)
    run_id = launcher.launch(config, runs_root)
    run = wait_for_end(launcher.open_store(runs_root), run_id)
    assert run.status == "succeeded", run.error
    get_store.clear()
    at = AppTest.from_file(str(REPO / "dashboard/app.py"), default_timeout=120).run()
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == [
        "Mean absolute error, noisy",
        "Mean absolute error, reconstructed",
    ]
    assert len(at.image) == 3  # input, noisy input, reconstruction rows
    at.slider[0].set_value(0.0).run()  # no noise: the noisy copy equals the input
    assert at.metric[0].value == "0.0000"
    get_store.clear()
