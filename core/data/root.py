"""The one data-root guard: every path or glob a user types must resolve inside the data root.

The data root is core.paths.data_root() (`data/`, or $TFLAB_DATA_ROOT). Relative paths start at
the root; `~`, symlinks and `..` are resolved before the check. In a glob, the part before the
first wildcard is resolved and checked, `..` after a wildcard is refused, and every match is
resolved again (a link inside the root that points out of it is refused).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from core.data.types import DatasetError
from core.paths import data_root

WILDCARDS = "*?["


def resolve_in_data_root(text: str | os.PathLike, must_exist: bool = True) -> Path:
    """A user-typed path (or glob) -> absolute Path inside the data root, else DatasetError."""
    root = data_root()
    raw = Path(text).expanduser()
    parts = (raw if raw.is_absolute() else root / raw).parts
    first = next((i for i, p in enumerate(parts) if any(c in p for c in WILDCARDS)), len(parts))
    base, rest = Path(*parts[:first]).resolve(), parts[first:]
    if ".." in rest or not base.is_relative_to(root):
        raise DatasetError(
            f"{str(text)!r} resolves to {base.joinpath(*rest)}, which is outside the data root "
            f"{root}; only data inside the data root can be used (set TFLAB_DATA_ROOT to move it)"
        )
    path = base.joinpath(*rest)
    if must_exist and not path.exists():
        raise DatasetError(f"{str(text)!r} not found (looked for {path})")
    return path


def glob_in_data_root(text: str | os.PathLike) -> tuple[str, list[Path]]:
    """A user-typed glob -> (absolute pattern, sorted resolved files), all inside the data root."""
    pattern = str(resolve_in_data_root(text, must_exist=False))
    root = data_root()
    matches = sorted(Path(p).resolve() for p in glob.glob(pattern) if Path(p).is_file())
    outside = [p for p in matches if not p.is_relative_to(root)]
    if outside:
        raise DatasetError(
            f"{str(text)!r} matches files outside the data root {root} (via links): {outside[0]}"
        )
    if not matches:
        raise DatasetError(f"no file matches {str(text)!r} (looked for {pattern})")
    return pattern, matches


def is_inside_data_root(path: str | os.PathLike) -> bool:
    """True when `path`, with every link resolved, lies inside the data root."""
    return Path(path).resolve().is_relative_to(data_root())
