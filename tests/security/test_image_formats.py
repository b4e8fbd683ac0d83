"""Pillow is only ever asked for the listed formats; bad files name themselves, not a BytesIO."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.data.decode import IMAGE_FORMATS, ImageError, decode_image

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"


def test_eps_is_never_opened():
    """EPS would go through Ghostscript, an external program: refused before Pillow tries it."""
    assert "EPS" not in IMAGE_FORMATS
    with pytest.raises(ImageError, match="drawing.eps: not a readable image") as err:
        decode_image(EPS, (8, 8, 1), name="drawing.eps")
    assert "BytesIO" not in str(err.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM"])
def test_listed_formats_decode(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (255, 255, 255)).save(buffer, format=fmt)
    array = decode_image(buffer.getvalue(), (8, 8, 3), name=f"x.{fmt.lower()}")
    assert array.shape == (8, 8, 3) and array.min() > 0.9


def test_tga_is_not_tried():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="TGA")
    with pytest.raises(ImageError, match="x.tga: not a readable image"):
        decode_image(buffer.getvalue(), (4, 4, 3), name="x.tga")


def _encoded(array, fmt, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format=fmt)
    return buffer.getvalue()


def test_16_bit_gray_is_scaled_by_its_own_range():
    ramp = np.tile(np.linspace(0, 1000, 32, dtype=np.uint16), (32, 1))  # a 10-bit ramp
    for fmt in ("PNG", "TIFF", "PPM"):  # PPM writes 16-bit PGM
        out = decode_image(_encoded(ramp, fmt), (16, 16, 1), name=f"ramp.{fmt.lower()}")
        assert out.min() < 0.05 and out.max() > 0.95, fmt  # the full range is used
        assert abs(out.mean() - 0.5) < 0.1, fmt  # a ramp, not clipped to white
        assert np.all(np.diff(out[8, :, 0]) >= -1e-6)  # still a ramp, left to right
    rgb = decode_image(_encoded(ramp, "PNG"), (8, 8, 3))
    assert rgb.shape == (8, 8, 3) and np.allclose(rgb[..., 0], rgb[..., 2])


def test_32_bit_float_tiff_is_not_black():
    image = np.tile(np.linspace(0, 1e-3, 32, dtype=np.float32), (32, 1))
    image[0, 0] = np.nan
    out = decode_image(_encoded(image, "TIFF", mode="F"), (16, 16, 1), name="float.tiff")
    assert np.isfinite(out).all() and out.max() > 0.9
    flat = decode_image(_encoded(np.full((8, 8), 5.0, np.float32), "TIFF", "F"), (4, 4, 1))
    assert np.all(flat == 0)
