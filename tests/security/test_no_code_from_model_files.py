"""A crafted `.keras` (a Lambda whose code creates a marker file), `.keras` zip bombs and hostile
SavedModel zips never run and are refused with a message naming the file: core, the CLI and the
Predict page's model upload."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.cli.main import main
from core.models import untrusted
from core.models.untrusted import UntrustedModelError, check_model_file, inspect_model
from dashboard.classification_view import IMAGE_LABEL, MODEL_LABEL
from tests.image_run_helpers import evil_keras, keras_many_members, keras_zip_bomb
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
LAMBDA = "contains a Lambda layer"


@pytest.fixture
def evil(tmp_path) -> tuple[Path, Path]:
    """(hostile .keras, marker its payload would create)."""
    marker = tmp_path / "marker-created-by-payload"
    return evil_keras(tmp_path / "evil.keras", marker), marker


@pytest.fixture
def bombs(tmp_path) -> list[tuple[Path, str]]:
    """(file, words its refusal must contain) for each kind of `.keras` zip bomb."""
    return [
        (keras_zip_bomb(tmp_path / "bomb.keras"), "decompression bomb"),
        (keras_many_members(tmp_path / "many.keras"), "more than the 64 allowed"),
    ]


def test_the_payload_is_real(evil):
    """Loaded without safe mode (in a throw-away process) the file does create the marker."""
    path, marker = evil
    assert not marker.exists()
    code = f"import keras; keras.models.load_model({str(path)!r}, safe_mode=False)"
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=True)
    assert marker.exists()


def test_core_refuses_it_before_any_process(evil):
    path, marker = evil
    with pytest.raises(UntrustedModelError, match=LAMBDA) as err:
        check_model_file(path, "upload.keras")
    assert str(err.value).startswith("upload.keras: ")
    with pytest.raises(UntrustedModelError, match=LAMBDA):
        inspect_model(path)
    assert not marker.exists()


def test_the_subprocess_refuses_it_too(evil, monkeypatch):
    """Without the config check, Keras' safe mode in the worker still refuses the Lambda."""
    path, marker = evil
    monkeypatch.setattr(untrusted, "check_model_file", lambda p, n="": "keras")
    with pytest.raises(UntrustedModelError, match=LAMBDA) as err:
        inspect_model(path)
    assert "evil.keras" in str(err.value)
    assert not marker.exists()


def _rewrite_config(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config["config"]["layers"][-1])
                data = json.dumps(config).encode()
            new.writestr(info, data)
    return dst


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda layer: layer.update(module="os"), "from os, not part of Keras"),
        (lambda layer: layer.update(registered_name="Evil>Dense"), "custom object Evil>Dense"),
    ],
)
def test_custom_objects_are_refused(evil, tmp_path, edit, words):
    path, _ = evil
    good_layers = tmp_path / "custom.keras"
    _rewrite_config(path, good_layers, edit)
    with pytest.raises(UntrustedModelError) as err:
        untrusted.scan_keras_config(
            json.loads(zipfile.ZipFile(good_layers).read("config.json"))["config"]["layers"][-1:],
            "custom.keras",
        )
    assert words in str(err.value)


def test_zip_bombs_are_refused_before_unpacking(bombs):
    for path, words in bombs:
        with pytest.raises(UntrustedModelError, match=words) as err:
            inspect_model(path)
        assert str(err.value).startswith(f"{path.name}: ")


def _savedmodel_zip(path: Path, members: dict[str, bytes], link: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("saved_model.pb", b"")
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (0o120777 << 16) | 0
            archive.writestr(info, "/etc/passwd")
    return path


def test_savedmodel_zips_with_unsafe_members_are_refused(tmp_path):
    cases = [
        (_savedmodel_zip(tmp_path / "up.zip", {"../../escape.txt": b"x"}), "a path with '..'"),
        (_savedmodel_zip(tmp_path / "abs.zip", {"/tmp/abs.txt": b"x"}), "an absolute path"),
        (_savedmodel_zip(tmp_path / "link.zip", {}, link="variables/link"), "a symbolic link"),
    ]
    for path, words in cases:
        with pytest.raises(UntrustedModelError, match=words) as err:
            check_model_file(path)
        assert str(err.value).startswith(path.name)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_savedmodel_that_writes_files_is_refused(tmp_path):
    """A real SavedModel whose serving function would write a file: refused from its graph."""
    import shutil

    import tensorflow as tf

    marker = tmp_path / "written-by-graph"

    class Writer(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None, 4), tf.float32)])
        def serve(self, x):
            tf.io.write_file(str(marker), "payload")
            return {"out": x * 2.0}

    folder = tmp_path / "writer"
    module = Writer()
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    archive = Path(shutil.make_archive(str(tmp_path / "writer"), "zip", folder))
    with pytest.raises(UntrustedModelError, match="WriteFile") as err:
        untrusted.predict(archive, tf.zeros((2, 4)).numpy())
    assert str(err.value).startswith("writer.zip: ")
    assert not marker.exists()


def test_cli_refuses_them(evil, bombs, runs_root, capsys):
    path, marker = evil
    for bad, words in [(path, LAMBDA), *bombs]:
        assert main(["evaluate", "--model-file", str(bad), "--dataset", "digits"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad.name}: ") and words in err, err
        assert "Traceback" not in err
    assert not marker.exists()


def _upload_model(name: str, content: bytes) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("../pages/predict.py").run()
    widget(at.radio, "Model").set_value("A model file").run()
    assert not at.exception, at.exception
    widget(at.file_uploader, MODEL_LABEL).set_value((name, content, "application/x-zip")).run()
    assert not at.exception, at.exception
    return at


def test_predict_page_upload_refuses_them(evil, bombs, runs_root):
    path, marker = evil
    for bad, words in [(path, LAMBDA), *bombs]:
        at = _upload_model(bad.name, bad.read_bytes())
        assert len(at.error) == 1, [e.value for e in at.error]
        assert at.error[0].value.startswith(f"{bad.name}: ") and words in at.error[0].value
        assert len(at.success) == 0
        assert IMAGE_LABEL not in [u.label for u in at.file_uploader]  # no images asked for
    assert not marker.exists()
