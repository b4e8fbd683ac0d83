"""Image class folders inside the data root (core.data.root): listing and import with a report.

A folder holds one sub-folder per class (cats-vs-dogs layout). Every readable image becomes
(size, size, channels) uint8, cached as an .npz under <data_root>/.cache/ and returned as
float32 [0, 1] in an ImageDataset; unreadable files are skipped and listed in an ImportReport.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.data import decode as images
from core.data.root import is_inside_data_root, resolve_in_data_root
from core.data.types import DatasetError, DatasetInfo, ImageDataset, split_dataset
from core.paths import data_root

DEFAULT_SIZE = 64
SIZE_RANGE = (8, 256)
CACHE_VERSION = 2
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
PROGRESS_STEPS = 200  # a progress callback is called about this many times per import

Progress = Callable[[int, int], None]  # (files done, files in total)


@dataclass
class ImportReport:
    """What a folder import took: images per class, and each skipped file with the reason."""

    imported: dict[str, int]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file relative to folder, why)
    from_cache: bool = False

    @property
    def total(self) -> int:
        return sum(self.imported.values())

    def summary(self) -> str:
        text = f"{self.total:,} images imported in {len(self.imported)} classes"
        if self.skipped:
            text += f"; {len(self.skipped):,} files skipped"
        return text

    def to_dict(self) -> dict:
        return {"imported": dict(self.imported), "skipped": [list(s) for s in self.skipped]}

    @classmethod
    def from_dict(cls, data: dict, from_cache: bool = False) -> ImportReport:
        skipped = [(str(f), str(r)) for f, r in data["skipped"]]
        return cls({str(k): int(v) for k, v in data["imported"].items()}, skipped, from_cache)


@dataclass(frozen=True)
class FolderListing:
    """The files of a class folder: labels, paths and (relative path, bytes, mtime_ns)."""

    root: Path
    class_names: tuple[str, ...]
    labels: list[int]
    paths: list[Path]
    stats: list[tuple[str, int, int]]
    skipped: list[tuple[str, str]]  # files refused while listing (outside root, unreadable)


def parse_folder_spec(spec: str) -> tuple[str, int, int | None]:
    """`<path>[@<size>[x<channels>]]` -> (path text, size, channels or None for 'from the data')."""
    match = re.fullmatch(r"(?P<path>.*?)(?:@(?P<size>\d+)(?:x(?P<ch>\d+))?)?", spec.strip())
    if not match["path"]:
        raise DatasetError(f"{spec!r}: give a folder path before the '@'")
    size = int(match["size"]) if match["size"] else DEFAULT_SIZE
    channels = int(match["ch"]) if match["ch"] else None
    check_folder_options(size, channels)
    return match["path"], size, channels


def check_folder_options(size: int, channels: int | None) -> None:
    if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise DatasetError(f"image size {size} must be between {SIZE_RANGE[0]} and {SIZE_RANGE[1]}")
    if channels not in (None, 1, 3):
        raise DatasetError(f"channels must be 1 (grayscale) or 3 (RGB), not {channels}")


def list_class_folder(folder: Path) -> FolderListing:
    """Sorted listing of <folder>/<class>/**/<file>; hidden names are ignored."""
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    classes, labels, paths, stats, skipped = [], [], [], [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            skipped.append((entry.name, "not inside a class folder"))
            continue
        if not is_inside_data_root(entry.path):
            skipped.append((entry.name + "/", "links outside the data root"))
            continue
        found = _class_files(folder, Path(entry.path), skipped)
        if found:
            classes.append(entry.name)
            for path, stat in found:
                labels.append(len(classes) - 1)
                paths.append(path)
                stats.append(stat)
    if not classes:
        raise DatasetError(
            f"{folder} has no class folders with files; put the images of each class "
            "in their own sub-folder (e.g. pets/cat/*.jpg, pets/dog/*.jpg)"
        )
    return FolderListing(folder, tuple(classes), labels, paths, stats, skipped)


def _class_files(folder: Path, class_dir: Path, skipped: list) -> list:
    found = []
    for dirpath, dirnames, filenames in os.walk(class_dir):  # does not follow folder symlinks
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(f for f in filenames if not f.startswith(".")):
            path = Path(dirpath, fname)
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() and not is_inside_data_root(path):
                skipped.append((rel, "links outside the data root"))
                continue
            try:
                st = path.stat()
            except OSError as err:
                skipped.append((rel, f"cannot read ({err.strerror or err})"))
                continue
            found.append((path, (rel, st.st_size, st.st_mtime_ns)))
    return found


def infer_channels(listing: FolderListing) -> int:
    """1 if every readable image is grayscale (L, 1, I, gray palette ...), else 3.

    Reads only image headers and stops at the first colour image.
    """

    for path, (_, size, _) in zip(listing.paths, listing.stats, strict=True):
        if size == 0 or size > images.MAX_FILE_BYTES:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(path, formats=images.IMAGE_FORMATS) as img:
                    gray = _is_gray(img)
        except Exception:  # noqa: BLE001 - unreadable files are reported by the import
            continue
        if not gray:
            return 3
    return 1


def _is_gray(img) -> bool:
    if img.mode in GRAY_MODES:
        return True
    if img.mode in ("P", "PA"):
        palette = img.getpalette() or []
        rgb = np.asarray(palette).reshape(-1, 3)
        return bool((rgb == rgb[:, :1]).all())
    return False


def import_folder(
    path: str | os.PathLike,
    size: int = DEFAULT_SIZE,
    channels: int | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> ImageDataset:
    """Import an image class folder (inside the data root) as an ImageDataset with a report.

    Images are resized to (size, size); channels 1 or 3, or None to choose from the data.
    The decoded arrays are cached under <data_root>/.cache/, keyed by the folder listing
    (paths, sizes, mtimes) and options, so a second import only lists the folder.
    progress(done, total) is called about PROGRESS_STEPS times while decoding.
    """
    check_folder_options(size, channels)
    folder = resolve_in_data_root(path)
    listing = list_class_folder(folder)
    cache_file = _cache_file(listing, size, channels)
    cached = _read_cache(cache_file)
    if cached is None:
        ch = channels or infer_channels(listing)
        x, y, report = _decode_all(listing, size, ch, progress)
        _write_cache(cache_file, listing, x, y, report)
    else:
        x, y, report = cached
        if progress is not None:
            progress(len(listing.paths), len(listing.paths))
    name = name or f"folder:{path}@{size}" + (f"x{channels}" if channels else "")
    info = _folder_dataset_info(name, listing, x.shape[1:], report)
    return split_dataset(info, x, y, report=report)


def folder_version(spec: str) -> str:
    """A key that changes whenever the folder's files or the import options change."""
    path, size, channels = parse_folder_spec(spec)
    return _cache_file(list_class_folder(resolve_in_data_root(path)), size, channels).name


def load_folder(spec: str, name: str) -> ImageDataset:
    """Dataset for the name `folder:<spec>` (see import_folder)."""
    path, size, channels = parse_folder_spec(spec)
    return import_folder(path, size, channels, name=name)


def folder_info(spec: str, name: str) -> DatasetInfo:
    """DatasetInfo of `folder:<spec>` from the listing (and image headers), without decoding."""
    path, size, channels = parse_folder_spec(spec)
    listing = list_class_folder(resolve_in_data_root(path))
    cached = _read_cache(_cache_file(listing, size, channels), arrays=False)
    if cached is not None:
        shape, report = cached
        return _folder_dataset_info(name, listing, shape, report)
    shape = (size, size, channels or infer_channels(listing))
    return _folder_dataset_info(name, listing, shape, None)


def _folder_dataset_info(name, listing, shape, report) -> DatasetInfo:
    rel = listing.root.relative_to(data_root()).as_posix()
    colour = "grayscale" if shape[2] == 1 else "RGB"
    if report is None:
        counted = f"{len(listing.paths):,} files"
    else:
        counted = f"{report.total:,} images ({len(report.skipped):,} files skipped)"
    return DatasetInfo(
        name=name,
        kind="image",
        description=f"Image folder {rel}: {counted} in {len(listing.class_names)} classes, "
        f"resized to {shape[0]}x{shape[1]} {colour}; shuffled 70/15/15 split (seed 0).",
        input_shape=tuple(int(d) for d in shape),
        class_names=listing.class_names,
    )


def _decode_all(listing: FolderListing, size: int, channels: int, progress: Progress | None):
    total = len(listing.paths)
    x = np.zeros((total, size, size, channels), np.uint8)
    keep = np.zeros(total, bool)
    skipped = list(listing.skipped)
    step = max(1, total // PROGRESS_STEPS)
    if progress is not None:
        progress(0, total)
    for i, (path, (rel, nbytes, _)) in enumerate(zip(listing.paths, listing.stats, strict=True)):
        reason = _decode_into(x, i, path, rel, nbytes)
        if reason is None:
            keep[i] = True
        else:
            skipped.append((rel, reason))
        if progress is not None and ((i + 1) % step == 0 or i + 1 == total):
            progress(i + 1, total)
    y = np.asarray(listing.labels, np.int64)[keep]
    counts = np.bincount(y, minlength=len(listing.class_names))
    report = ImportReport(dict(zip(listing.class_names, map(int, counts), strict=True)), skipped)
    if not keep.any():
        example = "; ".join(f"{f}: {r}" for f, r in skipped[:3])
        raise DatasetError(f"{listing.root}: no readable images ({example})")
    return x[keep], y, report


def _decode_into(x: np.ndarray, i: int, path: Path, rel: str, nbytes: int) -> str | None:
    """Decode one file into x[i]; the reason it was skipped, or None."""
    if nbytes == 0:
        return "the file is empty"
    if nbytes > images.MAX_FILE_BYTES:
        limit = images.MAX_FILE_BYTES // 2**20
        return f"{nbytes / 2**20:.1f} MiB is larger than the {limit} MiB limit"
    try:
        array = images.decode_image(path.read_bytes(), x.shape[1:], name=rel)
    except images.ImageError as err:
        text = str(err).removeprefix(f"{rel}: ")
        return re.sub(r" ?<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", text)
    except Exception as err:  # noqa: BLE001 - one bad file must not end the import
        return f"{type(err).__name__}: {err}"
    x[i] = np.round(array * 255)
    return None


def _cache_file(listing: FolderListing, size: int, channels: int | None) -> Path:
    options = [CACHE_VERSION, str(listing.root), size, channels]
    limits = [images.MAX_PIXELS, images.MAX_FILE_BYTES]
    content = [options, limits, listing.class_names, listing.stats, listing.skipped]
    key = hashlib.sha256(json.dumps(content).encode()).hexdigest()
    prefix = hashlib.sha256(json.dumps(options).encode()).hexdigest()[:12]
    return data_root() / ".cache" / f"folder-{prefix}-{key[:24]}.npz"


def _read_cache(path: Path, arrays: bool = True):
    """(x uint8, y int64, report), or (image shape, report) without arrays; None if missing."""
    try:
        with np.load(path, allow_pickle=False) as data:
            report = ImportReport.from_dict(json.loads(str(data["report"])), from_cache=True)
            if not arrays:
                return tuple(int(d) for d in data["shape"]), report
            return data["x"], data["y"].astype(np.int64), report
    except Exception:  # noqa: BLE001 - a missing or damaged cache means import again
        return None


def _write_cache(path: Path, listing: FolderListing, x, y, report: ImportReport) -> None:
    """Write atomically and drop older caches of the same folder and options; errors ignored."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            meta = {"report": np.array(json.dumps(report.to_dict())), "shape": x.shape[1:]}
            np.savez(f, x=x, y=y, **meta)
        os.replace(tmp, path)
        prefix = path.name.rsplit("-", 1)[0]
        for old in path.parent.glob(f"{prefix}-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only data root just means no cache
