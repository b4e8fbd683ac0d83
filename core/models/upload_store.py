"""Where uploaded model files wait between reruns: <root>/<sha256[:24]>/<safe name>, root from
TFLAB_UPLOADS_DIR (default <system temp>/tflab-model-uploads). Folders are private (0700); each
save marks its folder as used (mtime) and prunes the others: unused for over MAX_AGE_S seconds,
then the least recently used while the total is over MAX_BYTES, never the folder just saved nor
one used in the last RECENT_S seconds (another session may be predicting with it)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

MAX_AGE_S = 24 * 3600.0  # a day
MAX_BYTES = 4 << 30  # all uploads together
RECENT_S = 600.0  # used this recently: never pruned for size


def uploads_dir() -> Path:
    """The root folder of uploaded model files (created, private)."""
    default = Path(tempfile.gettempdir()) / "tflab-model-uploads"
    root = Path(os.environ.get("TFLAB_UPLOADS_DIR", default)).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def save_upload(name: str, data: bytes, root: Path | None = None) -> Path:
    """The upload's path in a folder named by its digest (written once, kept for reruns);
    older folders are pruned."""
    root = Path(root) if root is not None else uploads_dir()
    digest = hashlib.sha256(data).hexdigest()[:24]
    folder = root / digest
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "model"
    path = folder / safe
    if not path.is_file() or path.stat().st_size != len(data):
        partial = folder / f".{safe}.partial"
        partial.write_bytes(data)
        partial.replace(path)  # a half-written file is never seen under the real name
    os.utime(folder)  # used now
    prune_uploads(root, keep=folder)
    return path


def prune_uploads(
    root: Path,
    keep: Path | None = None,
    max_age_s: float = MAX_AGE_S,
    max_bytes: int = MAX_BYTES,
    now: float | None = None,
) -> list[Path]:
    """Remove stale upload folders under root (see the module doc); the removed folders."""
    now = time.time() if now is None else now
    keep = Path(keep).resolve() if keep is not None else None
    folders = []
    for folder in Path(root).iterdir():
        if not folder.is_dir() or folder.is_symlink() or folder.resolve() == keep:
            continue
        try:
            folders.append((folder.stat().st_mtime, _size(folder), folder))
        except OSError:
            continue  # removed by another session meanwhile
    removed = [f for used, _, f in folders if now - used > max_age_s]
    left = sorted((used, size, f) for used, size, f in folders if f not in removed)
    total = sum(size for _, size, _ in left) + (_size(keep) if keep and keep.is_dir() else 0)
    for used, size, folder in left:  # least recently used first
        if total <= max_bytes:
            break
        if now - used > RECENT_S:
            removed.append(folder)
            total -= size
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
