"""Decode user images safely: size limits, EXIF orientation, channel conversion, resizing.

Output arrays are float32 (height, width, channels) scaled to [0, 1].
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
from PIL import Image, ImageOps

MAX_FILE_BYTES = 20 * 1024 * 1024  # 20 MiB per uploaded image
MAX_PIXELS = 40_000_000  # larger images are refused as possible decompression bombs
# The only formats Pillow may try, in this order. Never EPS/PS/PDF (Ghostscript, an external
# program) or formats without a signature (TGA accepts almost any bytes).
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO")


WIDE_GRAY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})  # 16/32-bit gray


class ImageError(ValueError):
    """An image that cannot be used; the message is meant for the user."""


def decode_image(data: bytes, input_shape: tuple[int, int, int], name: str = "image") -> np.ndarray:
    """Bytes of any Pillow-readable image -> (h, w, c) float32 in [0, 1] matching input_shape."""

    if not data:
        raise ImageError(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(
            f"{name}: {len(data) / 2**20:.1f} MiB is larger than the "
            f"{MAX_FILE_BYTES // 2**20} MiB limit"
        )
    height, width, channels = input_shape
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageError(f"{name}: {img.width}x{img.height} pixels is too large")
                img = ImageOps.exif_transpose(img)
                if img.mode in WIDE_GRAY_MODES:
                    array = _wide_gray(img, width, height, channels)
                else:
                    img = img.convert("L" if channels == 1 else "RGB")
                    img = img.resize((width, height), Image.BILINEAR)
                    array = np.asarray(img, dtype=np.float32) / 255.0
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: too many pixels (possible decompression bomb)") from None
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for bad files
        text = re.sub(r" ?<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(err))
        raise ImageError(
            f"{name}: not a readable image (PNG, JPEG, GIF, BMP, TIFF, WebP, PGM/PPM or ICO: "
            f"{type(err).__name__}: {text})"
        ) from None
    return array.reshape(height, width, channels)


def _wide_gray(img, width: int, height: int, channels: int) -> np.ndarray:
    """A 16- or 32-bit grayscale image -> (height, width, channels) float32 in [0, 1], scaled by
    the image's own range (its min to its max; NaN/Inf -> 0), not by the type's range."""
    x = np.asarray(img, dtype=np.float32)
    finite = np.isfinite(x)
    x = np.where(finite, x, 0.0).astype(np.float32)
    lo, hi = (float(x[finite].min()), float(x[finite].max())) if finite.any() else (0.0, 0.0)
    x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    small = Image.fromarray(x, mode="F").resize((width, height), Image.BILINEAR)
    out = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)
    return np.repeat(out[..., None], channels, axis=-1)
