"""core.data.decode: decoding user images of every common mode, EXIF orientation and the limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.data import decode as images
from core.data.decode import ImageError, decode_image


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def gradient(width: int = 16, height: int = 16) -> np.ndarray:
    return (np.arange(width * height).reshape(height, width) % 256).astype(np.uint8)


def test_grayscale_png_is_scaled_to_unit_range():
    pixels = gradient()
    out = decode_image(encode(Image.fromarray(pixels, "L")), (16, 16, 1))
    assert out.shape == (16, 16, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], pixels / 255.0, atol=1e-6)


def test_grayscale_to_rgb_model():
    out = decode_image(encode(Image.fromarray(gradient(), "L")), (16, 16, 3))
    assert out.shape == (16, 16, 3)
    np.testing.assert_allclose(out[..., 0], out[..., 2])


def test_rgb_png_to_grayscale_model():
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 255  # pure green
    out = decode_image(encode(Image.fromarray(rgb, "RGB")), (8, 8, 1))
    assert out.shape == (8, 8, 1)
    assert np.allclose(out, 150 / 255, atol=0.01)  # ITU-R 601 luma of green = 0.587


def test_rgba_png_drops_alpha():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 128
    out = decode_image(encode(Image.fromarray(rgba, "RGBA")), (10, 12, 3))
    assert out.shape == (10, 12, 3)
    np.testing.assert_allclose(out[0, 0], [1.0, 0.0, 0.0])


def test_palette_png_uses_its_palette():
    img = Image.new("P", (6, 6), 0)
    img.putpalette([0, 0, 255, 255, 255, 0] + [0] * (256 * 3 - 6))  # 0 = blue, 1 = yellow
    img.paste(1, (0, 0, 3, 6))
    out = decode_image(encode(img), (6, 6, 3))
    np.testing.assert_allclose(out[0, 0], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(out[0, 5], [0.0, 0.0, 1.0])


def test_palette_png_with_transparency():
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * (256 * 3 - 6))
    out = decode_image(encode(img, transparency=0), (4, 4, 1))
    assert np.allclose(out, 1.0)


def test_jpeg_grayscale_and_rgb():
    gray = decode_image(encode(Image.new("L", (16, 16), 200), "JPEG"), (16, 16, 1))
    assert gray.shape == (16, 16, 1)
    assert np.allclose(gray, 200 / 255, atol=0.02)
    rgb = decode_image(encode(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG"), (16, 16, 3))
    assert rgb.shape == (16, 16, 3)
    assert np.allclose(rgb.mean(axis=(0, 1)), [200 / 255, 30 / 255, 30 / 255], atol=0.03)


def test_resized_to_the_model_input():
    out = decode_image(encode(Image.new("RGB", (64, 48), (255, 255, 255))), (16, 20, 3))
    assert out.shape == (16, 20, 3)
    assert np.allclose(out, 1.0)


def test_exif_orientation_is_applied():
    # stored 32 wide x 16 high: left half white, right half black
    stored = np.zeros((16, 32), np.uint8)
    stored[:, :16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(Image.fromarray(stored, "L"), "JPEG", exif=exif.tobytes(), quality=95)
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif()[0x0112] == 6 and check.size == (32, 16)

    out = decode_image(data, (32, 16, 1))  # displayed: 16 wide x 32 high
    top, bottom = out[:14, :, 0].mean(), out[18:, :, 0].mean()
    assert top > 0.9 and bottom < 0.1  # the stored left half ends up on top

    plain = encode(Image.fromarray(stored, "L"), "JPEG", quality=95)
    unrotated = decode_image(plain, (32, 16, 1))  # without EXIF only squeezed, not rotated
    assert unrotated[:, :6, 0].mean() > 0.9 and unrotated[:, 10:, 0].mean() < 0.1


def test_empty_bytes():
    with pytest.raises(ImageError, match="upload.png: the file is empty"):
        decode_image(b"", (16, 16, 1), name="upload.png")


def test_garbage_bytes():
    with pytest.raises(ImageError, match="junk.bin: not a readable image") as info:
        decode_image(b"this is not an image at all" * 10, (16, 16, 1), name="junk.bin")
    assert "Traceback" not in str(info.value)


def test_truncated_png():
    data = encode(Image.fromarray(gradient(64, 64), "L"))
    with pytest.raises(ImageError, match="not a readable image"):
        decode_image(data[: len(data) // 2], (16, 16, 1))


def test_file_larger_than_the_limit(monkeypatch):
    data = encode(Image.fromarray(gradient(), "L"))
    monkeypatch.setattr(images, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(ImageError, match="big.png: .* MiB is larger than the .* MiB limit"):
        decode_image(data, (16, 16, 1), name="big.png")
    monkeypatch.setattr(images, "MAX_FILE_BYTES", len(data))
    assert decode_image(data, (16, 16, 1)).shape == (16, 16, 1)  # exactly at the limit is fine


def test_too_many_pixels(monkeypatch):
    data = encode(Image.new("L", (20, 20), 0))
    monkeypatch.setattr(images, "MAX_PIXELS", 399)
    with pytest.raises(ImageError, match="huge.png: 20x20 pixels is too large"):
        decode_image(data, (16, 16, 1), name="huge.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 400)
    assert decode_image(data, (16, 16, 1)).shape == (16, 16, 1)


@pytest.mark.parametrize("side", [12, 30])  # above Pillow's warning and its error threshold
def test_decompression_bombs_are_refused(monkeypatch, side):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    data = encode(Image.new("L", (side, side), 0))
    with pytest.raises(ImageError, match="decompression bomb"):
        decode_image(data, (16, 16, 1))
