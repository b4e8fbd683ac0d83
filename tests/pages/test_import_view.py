"""Predict page: "Import a published model" (dashboard/import_view.py) from a data-root folder
or uploaded files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.paths import REPO_ROOT
from core.runs import artifacts
from core.runs.launcher import open_store
from core.seismic.phasenet_import import PhaseNetImportError
from dashboard.import_view import import_uploaded

APP = REPO_ROOT / "dashboard" / "app.py"
CHECKPOINT = REPO_ROOT.parent / "shared" / "models" / "phasenet-2019"
FILES = ("model_95.ckpt.index", "model_95.ckpt.data-00000-of-00001", "checkpoint", "LICENSE")


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    (root / "models" / "pn").mkdir(parents=True)
    for name in FILES:
        shutil.copy(CHECKPOINT / name, root / "models" / "pn" / name)
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(root))
    return root


def open_predict() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    return at


def test_import_a_folder_in_the_data_root_selects_the_new_run(runs_root, data_root):
    at = open_predict()
    assert any("No trained model yet" in i.value for i in at.info)
    assert [e.label for e in at.expander] == ["Import a published model"]
    at.text_input(key="import-folder").set_value("/etc")
    at.button(key="import-go").click().run()
    assert not at.exception, at.exception
    assert "outside the data root" in at.error[0].value
    assert open_store(runs_root).list_runs() == []

    at.text_input(key="import-folder").set_value("models/pn")
    at.text_input(key="import-name").set_value("published picker")
    at.button(key="import-go").click().run()
    assert not at.exception, at.exception
    runs = open_store(runs_root).list_runs()
    assert [(r.status, r.name) for r in runs] == [("succeeded", "published picker")]
    assert runs[0].id in at.query_params["run"]
    assert any(runs[0].id in s.value for s in at.success)
    assert any("Phase picker **phasenet**" in c.value for c in at.caption)
    assert any("windows of 3000 samples" in c.value for c in at.caption)


def test_uploaded_files_make_a_run(runs_root):
    files = [(n, (CHECKPOINT / n).read_bytes()) for n in FILES[:2]]
    run_id = import_uploaded(files, "uploaded", owner="bob")
    run = open_store(runs_root).get_run(run_id)
    assert (run.status, run.owner, run.name) == ("succeeded", "bob", "uploaded")
    assert artifacts.read_model_meta(runs_root / run_id)["window"] == 3000


def test_uploads_that_are_not_a_checkpoint_are_refused(runs_root):
    with pytest.raises(PhaseNetImportError, match="upload the checkpoint files first"):
        import_uploaded([])
    with pytest.raises(PhaseNetImportError, match="evil.py: not a checkpoint file"):
        import_uploaded([("evil.py", b"print(1)")])
    index = [("model_95.ckpt.index", (CHECKPOINT / FILES[0]).read_bytes())]
    with pytest.raises(PhaseNetImportError, match="^the uploaded files: the checkpoint is incompl"):
        import_uploaded(index)
    assert open_store(runs_root).list_runs() == []
