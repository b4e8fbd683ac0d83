"""Pillow is only ever asked for the listed formats; bad files name themselves, not a BytesIO."""

from __future__ import annotations

import io

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
