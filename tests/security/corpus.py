"""A generated corpus of hostile and broken files, by the entry point they are meant for.

Each entry is (file name, bytes, expectation): "refused" (one clear message naming the file),
or "read" (a valid but unusual file the product must read correctly).
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import obspy
from PIL import Image

from tests.security.hostile_files import obspy_pickle


def _image(mode: str, fmt: str, size=(20, 12), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _zip_bomb(member: str, megabytes: int = 200) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(member, "w", force_zip64=True) as handle:
            header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.uint8))
            header["shape"] = (megabytes * 2**20,)
            np.lib.format.write_array_header_1_0(handle, header)
            for _ in range(megabytes):
                handle.write(bytes(2**20))
    return buffer.getvalue()


def _mseed(traces: list[obspy.Trace], **write) -> bytes:
    buffer = io.BytesIO()
    obspy.Stream(traces).write(buffer, format="MSEED", **write)
    return buffer.getvalue()


def _trace(data, rate=100.0, channel="HHZ") -> obspy.Trace:
    header = {"network": "XX", "station": "BAD", "channel": channel, "sampling_rate": rate}
    return obspy.Trace(np.asarray(data), header=header)


def image_corpus(marker) -> list[tuple[str, bytes, str]]:
    png = _image("RGB", "PNG")
    big = io.BytesIO()
    Image.new("L", (9000, 9000)).save(big, format="PNG")  # 81 megapixels, a few kB
    return [
        ("empty.png", b"", "refused"),
        ("truncated.png", png[: len(png) // 2], "refused"),
        ("corrupt.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "refused"),
        ("text.png", b"just some text, not an image\n" * 20, "refused"),
        ("waveform.png", _mseed([_trace(np.zeros(100, np.float32))]), "refused"),
        ("bomb.png", big.getvalue(), "refused"),
        ("drawing.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\nshowpage\n", "refused"),
        ("pickle.png", obspy_pickle(marker), "refused"),
        ("image.tga", _image("RGB", "TGA"), "refused"),
        ("palette.png", _image("P", "PNG"), "read"),
        ("rgba.png", _image("RGBA", "PNG"), "read"),
        ("la.png", _image("LA", "PNG"), "read"),
        ("cmyk.jpg", _image("CMYK", "JPEG"), "read"),
        ("cmyk.tiff", _image("CMYK", "TIFF"), "read"),
        ("gray16.png", _image("I;16", "PNG"), "read"),
        ("gray16.pgm", _image("I;16", "PPM"), "read"),
        ("float32.tiff", _image("F", "TIFF"), "read"),
        ("icon.ico", _image("RGB", "ICO", size=(32, 32)), "read"),
    ]


def waveform_corpus(marker) -> list[tuple[str, bytes, str]]:
    good = _mseed([_trace(np.ones(500, np.float32))])
    nan = np.ones(500, np.float32)
    nan[10:20] = np.nan
    return [
        ("empty.mseed", b"", "refused"),
        ("truncated.mseed", good[:300], "refused"),
        ("random.mseed", np.random.default_rng(0).bytes(4096), "refused"),
        ("image.mseed", _image("RGB", "PNG"), "refused"),
        ("elf.mseed", b"\x7fELF\x02\x01\x01" + bytes(500), "refused"),
        ("pickle.mseed", obspy_pickle(marker), "refused"),
        (
            "text.mseed",
            _mseed([_trace(np.frombuffer(b"abc" * 200, "S1"))], encoding="ASCII"),
            "refused",
        ),  # fmt: skip
        ("all_nan.mseed", _mseed([_trace(np.full(50, np.nan, np.float32))]), "read"),
        ("some_nan.mseed", _mseed([_trace(nan)]), "read"),
        ("absurd_rate.mseed", _mseed([_trace(np.ones(500, np.float32), rate=1e9)]), "refused"),
        ("slow_rate.mseed", _mseed([_trace(np.ones(50, np.float32), rate=1e-4)]), "read"),
    ]


def npz_corpus() -> list[tuple[str, bytes, str]]:
    x = np.zeros((6, 8, 8, 1), np.uint8)
    y = np.arange(6) % 2
    return [
        ("empty.npz", b"", "refused"),
        ("not_zip.npz", b"PK\x03\x04 not really a zip", "refused"),
        ("wrong_keys.npz", _npz(images=x, labels=y), "refused"),
        ("wrong_shape.npz", _npz(x=np.zeros((6, 8), np.uint8), y=y), "refused"),
        ("wrong_dtype.npz", _npz(x=x.astype(np.complex64), y=y), "refused"),
        ("objects.npz", _npz(x=np.array([{"a": 1}] * 6, dtype=object), y=y), "refused"),
        ("nan.npz", _npz(x=np.full((6, 8, 8, 1), np.nan, np.float32), y=y), "refused"),
        ("bomb.npz", _zip_bomb("x.npy"), "refused"),
        ("good.npz", _npz(x=x, y=y), "read"),
    ]
