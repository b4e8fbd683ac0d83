"""PhaseNet-style npz folders: the real NCEDC sample, CSV precedence, and every kind of bad file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.seismic.phasenet_npz import load_npz_folder
from core.seismic.windows import NO_PICK


def test_real_ncedc_folder(ncedc_folder):
    wset, report = load_npz_folder(ncedc_folder)
    assert len(wset) == 103 and report.loaded == 103 and not report.skipped
    assert report.index_file == "waveform.csv"
    assert wset.data.shape == (103, 9001, 3) and wset.data.dtype == np.float32
    assert wset.sampling_rate == 100.0
    assert (wset.itp == 3000).all() and (wset.its > 3000).all()
    first = wset.meta[0]
    assert first["station"] == "BG.ACR" and first["channels"] == ["DPE", "DPN", "DPZ"]
    single = [m for m in wset.meta if m["present"] == [False, False, True]]
    assert single and all(m["channels"][2].endswith("Z") for m in single)
    for m, d in zip(wset.meta, wset.data, strict=True):  # present matches the zero columns
        assert m["present"] == [bool(np.any(d[:, c])) for c in range(3)]


def _write(path, **arrays):
    np.savez(path, **arrays)


@pytest.fixture
def mixed_folder(tmp_path, ncedc_folder):
    """Three real files, a CSV that overrides one pick, and one file of every bad kind."""
    real = sorted(ncedc_folder.glob("*.npz"))[:3]
    for path in real:
        shutil.copy(path, tmp_path / path.name)
    rng = np.random.default_rng(0)
    good = rng.standard_normal((9001, 3))
    (tmp_path / "text.npz").write_text("this is not a numpy file")
    (tmp_path / "empty_file.npz").write_bytes(b"")
    _write(tmp_path / "no_data.npz", x=good, itp=1, its=2)
    _write(tmp_path / "wrong_shape.npz", data=rng.standard_normal((9001, 4)), itp=1, its=2)
    bad = good.copy()
    bad[10, 1] = np.nan
    _write(tmp_path / "nan.npz", data=bad, itp=3000, its=3100)
    inf = good.copy()
    inf[5, 0] = np.inf
    _write(tmp_path / "inf.npz", data=inf, itp=3000, its=3100)
    _write(tmp_path / "empty_data.npz", data=np.zeros((0, 3)), itp=1, its=2)
    _write(tmp_path / "short.npz", data=good[:5000], itp=100, its=200)  # other length
    _write(tmp_path / "no_picks.npz", data=good)
    _write(tmp_path / "nan_pick.npz", data=good, itp=np.nan, its=3500)
    _write(tmp_path / "transposed.npz", data=good.T, itp=3000, its=4000, channels="HHE_HHN_HHZ")
    _write(tmp_path / "zne.npz", data=good[:, ::-1], itp=3000, its=4000, channels="HHZ_HHN_HHE")
    lines = ["fname,itp,its,channels", f"{real[0].name},2500,2600,DPE_DPN_DPZ", "gone.npz,1,2,"]
    (tmp_path / "waveform.csv").write_text("\n".join(lines) + "\n")
    return tmp_path, real, good


def test_bad_files_are_skipped_and_reported(mixed_folder):
    folder, real, good = mixed_folder
    wset, report = load_npz_folder(folder)
    reasons = dict(report.skipped)
    assert set(reasons) == {
        "text.npz",
        "empty_file.npz",
        "no_data.npz",
        "wrong_shape.npz",
        "nan.npz",
        "inf.npz",
        "empty_data.npz",
        "short.npz",
        "gone.npz",
    }
    assert "no 'data'" in reasons["no_data.npz"]
    assert "(samples, 3)" in reasons["wrong_shape.npz"]
    assert "NaN" in reasons["nan.npz"] and "NaN or infinite" in reasons["inf.npz"]
    assert "not a readable" in reasons["text.npz"]
    assert "5000 samples" in reasons["short.npz"]
    assert "not found" in reasons["gone.npz"]
    assert len(wset) == report.loaded == 7
    by_name = {m["source"]: i for i, m in enumerate(wset.meta)}
    first = by_name[real[0].name]
    assert (wset.itp[first], wset.its[first]) == (2500, 2600)  # the CSV wins
    assert wset.itp[by_name["no_picks.npz"]] == NO_PICK
    assert wset.its[by_name["no_picks.npz"]] == NO_PICK
    assert wset.itp[by_name["nan_pick.npz"]] == NO_PICK
    assert wset.its[by_name["nan_pick.npz"]] == 3500
    np.testing.assert_allclose(wset.data[by_name["transposed.npz"]], good.astype(np.float32))
    np.testing.assert_allclose(wset.data[by_name["zne.npz"]], good.astype(np.float32))
    assert wset.meta[by_name["zne.npz"]]["channels"] == ["HHE", "HHN", "HHZ"]
    assert "skipped" in report.summary()


def test_single_component_flagged(tmp_path):
    data = np.zeros((1000, 3))
    data[:, 2] = np.random.default_rng(1).standard_normal(1000)
    _write(tmp_path / "NC_ABC_1.npz", data=data, itp=100, its=300, channels="EHZ")
    _write(tmp_path / "NC_ABD_2.npz", data=data + 1.0, itp=100, its=5000)  # S out of window
    wset, _ = load_npz_folder(tmp_path)
    assert wset.meta[0]["present"] == [False, False, True]
    assert wset.meta[0]["channels"] == ["-", "-", "EHZ"] and wset.meta[0]["station"] == "NC.ABC"
    assert wset.meta[1]["present"] == [True, True, True] and wset.its[1] == NO_PICK


def test_folder_without_usable_files(tmp_path):
    (tmp_path / "a.npz").write_text("nope")
    with pytest.raises(ValueError, match="no usable .npz"):
        load_npz_folder(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        load_npz_folder(tmp_path / "missing")
