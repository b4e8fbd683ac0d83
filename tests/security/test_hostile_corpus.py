"""Every file of the hostile corpus through every entry point: one clear message that names the
file (never a traceback or an object repr), or a correct read for valid odd files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.cli.main import main
from core.data.decode import ImageError, decode_image
from core.data.folder import import_folder
from core.data.registry import load_dataset
from core.data.types import DatasetError
from core.seismic.obspy_source import WaveformError, read_stream_bytes, read_stream_file
from tests.core.seismic.picking_helpers import save_tiny_run
from tests.security.corpus import image_corpus, npz_corpus, waveform_corpus

REPORT = os.environ.get("TFLAB_CORPUS_REPORT")  # where to write the outcome counts (JSON)
OUTCOMES: dict[str, dict[str, int]] = {}


def clear(message: str, name: str) -> bool:
    return name in message and "Traceback" not in message and " object at 0x" not in message


def record(entry: str, outcome: str) -> None:
    OUTCOMES.setdefault(entry, {}).setdefault(outcome, 0)
    OUTCOMES[entry][outcome] += 1
    if REPORT:
        Path(REPORT).write_text(json.dumps(OUTCOMES, indent=2, sort_keys=True))


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "marker-created-by-payload"
    yield path
    assert not path.exists(), "a payload ran"


@pytest.mark.parametrize("index", range(len(image_corpus(Path("m")))))
def test_image_upload(index, marker):
    name, data, expect = image_corpus(marker)[index]
    if expect == "read":
        out = decode_image(data, (16, 16, 3), name)
        assert out.shape == (16, 16, 3) and np.isfinite(out).all() and 0 <= out.min() <= 1
        return record("image upload", "read")
    with pytest.raises(ImageError) as err:
        decode_image(data, (16, 16, 3), name)
    assert clear(str(err.value), name), str(err.value)
    record("image upload", "refused")


def test_image_folder_import(tmp_path, monkeypatch, marker):
    root = tmp_path / "data"
    (root / "pets" / "cat").mkdir(parents=True)
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(root))
    corpus = image_corpus(marker)
    for name, data, _ in corpus:
        (root / "pets" / "cat" / name).write_bytes(data)
    (root / "pets" / "dog").mkdir()
    for k in range(3):
        (root / "pets" / "dog" / f"ok{k}.png").write_bytes(corpus[9][1])
    dataset = import_folder("pets", 16, 3)
    skipped = dict(dataset.report.skipped)
    refused = {n for n, _, e in corpus if e == "refused"}
    assert set(skipped) == {f"cat/{n}" for n in refused}
    assert all(clear(f"{n}: {why}", n) for n, why in skipped.items())
    assert dataset.report.imported == {"cat": len(corpus) - len(refused), "dog": 3}
    record("folder import", f"skipped {len(skipped)}, imported {len(corpus) - len(refused)}")


@pytest.mark.parametrize("index", range(len(waveform_corpus(Path("m")))))
def test_waveform_upload_and_file(index, marker, tmp_path):
    name, data, expect = waveform_corpus(marker)[index]
    (tmp_path / name).write_bytes(data)
    for read in (lambda: read_stream_bytes(data, name), lambda: read_stream_file(tmp_path / name)):
        if expect == "read":
            (record_,) = read()
            assert np.isfinite(record_.data).all() and record_.samples > 0
        else:
            with pytest.raises(WaveformError) as err:
                read()
            assert clear(str(err.value), name), str(err.value)
    record("waveform upload + file", expect)


REFUSED_WAVEFORMS = [i for i, (_, _, e) in enumerate(waveform_corpus(Path("m"))) if e != "read"]


@pytest.mark.parametrize("index", REFUSED_WAVEFORMS)
def test_cli_pick(index, marker, tmp_path, runs_root, capsys):
    name, data, _ = waveform_corpus(marker)[index]
    save_tiny_run(runs_root, "run-pick", window=400)
    (tmp_path / name).write_bytes(data)
    assert main(["pick", str(tmp_path / name), "--run", "run-pick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and clear(err, name), err
    record("CLI pick", "refused")


@pytest.mark.parametrize("index", range(len(npz_corpus())))
def test_npz_dataset(index, tmp_path, monkeypatch):
    name, data, expect = npz_corpus()[index]
    monkeypatch.setenv("TFLAB_DATA_ROOT", str(tmp_path))
    load_dataset.cache_clear()
    (tmp_path / name).write_bytes(data)
    if expect == "read":
        assert load_dataset(f"npz:{name}").split_sizes()["train"] >= 1
        return record("npz dataset", "read")
    with pytest.raises(DatasetError) as err:
        load_dataset(f"npz:{name}")
    assert clear(str(err.value), name), str(err.value)
    record("npz dataset", "refused")
