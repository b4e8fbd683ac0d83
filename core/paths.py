"""Where runs and user data live on disk (override with TFLAB_RUNS_DIR / TFLAB_DATA_ROOT)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The checkout when running from one, else the current folder (a `pip install .`)."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()


def runs_dir() -> Path:
    """Folder holding the run store (runs.sqlite) and one sub-folder of artifacts per run."""
    path = Path(os.environ.get("TFLAB_RUNS_DIR", home() / "runs")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_root() -> Path:
    """Folder that user-typed data paths are confined to."""
    return Path(os.environ.get("TFLAB_DATA_ROOT", home() / "data")).expanduser().resolve()


def run_dir(run_id: str, base: Path | None = None) -> Path:
    """Artifact folder of one run: config.json, model.keras, logs/, backup/, worker.log."""
    return (base or runs_dir()) / run_id
