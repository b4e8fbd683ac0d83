"""Decompression bombs in .npz files are refused from the zip directory, before decompression."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from core.data.npz import _open_npz
from core.data.types import DatasetError
from core.data.zip_limits import ZipLimitError, check_zip
from core.seismic.phasenet_npz import read_npz_window


def bomb(path, megabytes=300):
    """An .npz whose one member is `megabytes` of zeros: a few hundred kB on disk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.npy", "w", force_zip64=True) as member:
            header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.uint8))
            header["shape"] = (megabytes * 2**20,)
            np.lib.format.write_array_header_1_0(member, header)
            block = bytes(2**20)
            for _ in range(megabytes):
                member.write(block)
    return path


def test_bomb_refused_by_ratio(tmp_path):
    path = bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 2 * 2**20
    with pytest.raises(ZipLimitError, match="bomb.npz: data.npy expands"):
        check_zip(path, 4, 10 * 2**30)
    with pytest.raises(DatasetError, match="decompression bomb"):
        _open_npz(path)
    with pytest.raises(ValueError, match="300 MiB uncompressed, more than the 256 MiB"):
        read_npz_window(path)


def test_counts_and_totals(tmp_path):
    path = tmp_path / "many.npz"
    np.savez(path, **{f"a{i}": np.arange(10) for i in range(20)})
    with pytest.raises(ZipLimitError, match="20 entries, more than the 16"):
        check_zip(path, 16, 2**30)
    with pytest.raises(ZipLimitError, match="uncompressed, more than"):
        check_zip(path, 64, 100)
    check_zip(path, 64, 2**30)  # within the limits: no error
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ZipLimitError, match="not a readable zip"):
        check_zip(tmp_path / "junk.npz", 4, 2**30)
