"""Size and count limits on a zip archive (.npz, .keras, uploaded folders) before anything in it
is decompressed: a few kilobytes can otherwise expand to gigabytes (a decompression bomb)."""

from __future__ import annotations

import zipfile
from pathlib import Path

MAX_RATIO = 200  # uncompressed / compressed; numeric arrays rarely pass 20


class ZipLimitError(ValueError):
    """An archive over a limit; the message names the file and is meant for the user."""


def check_zip(path: str | Path, max_members: int, max_bytes: int, name: str = "") -> None:
    """Raise ZipLimitError unless `path` has <= max_members entries, <= max_bytes uncompressed
    in total and no entry that expands more than MAX_RATIO times (from the central directory)."""
    name = name or Path(path).name
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ZipLimitError(f"{name}: not a readable zip archive ({err})") from None
    if len(infos) > max_members:
        raise ZipLimitError(
            f"{name}: {len(infos):,} entries, more than the {max_members:,} allowed"
        )
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise ZipLimitError(
            f"{name}: {total / 2**20:,.0f} MiB uncompressed, more than the "
            f"{max_bytes / 2**20:,.0f} MiB allowed"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 2**20 and ratio > MAX_RATIO:
            raise ZipLimitError(
                f"{name}: {info.filename} expands {ratio:,.0f} times (a decompression bomb?)"
            )
