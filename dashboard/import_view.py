"""Predict page expander "Import a published model": PhaseNet's TF1 checkpoint -> a picking run.

The checkpoint comes from a folder inside the data root (core.data.root) or as uploaded files
(model_95.ckpt.index, model_95.ckpt.data-00000-of-00001, optionally checkpoint, config.log and
LICENSE), which are written to a temporary folder first. core.seismic.phasenet_import does the
rest; the new run is then selected on the page through ?run=<id>.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from core.data.root import resolve_in_data_root
from core.data.types import DatasetError
from core.paths import data_root
from core.seismic.phasenet_import import PhaseNetImportError, import_checkpoint
from dashboard.login import current_user

UPLOAD_NAME = re.compile(
    r"^([\w.-]+\.index|[\w.-]+\.data-\d{5}-of-\d{5}|checkpoint|config\.log|LICENSE(\.txt)?)$"
)
FLASH = "import-flash"  # message shown after the rerun that selects the new run


def import_uploaded(files: list[tuple[str, bytes]], name: str = "", owner: str = "") -> str:
    """Import checkpoint files given as (file name, content); returns the new run id."""
    if not files:
        raise PhaseNetImportError("upload the checkpoint files first")
    bad = [n for n, _ in files if not UPLOAD_NAME.match(Path(n).name) or Path(n).name != n]
    if bad:
        raise PhaseNetImportError(
            f"{bad[0]}: not a checkpoint file (expected *.index, *.data-00000-of-00001, "
            "checkpoint, config.log or LICENSE)"
        )
    with tempfile.TemporaryDirectory(prefix="phasenet-upload-") as tmp:
        for file_name, content in files:
            (Path(tmp) / file_name).write_bytes(content)
        try:
            return import_checkpoint(tmp, name=name, owner=owner)
        except PhaseNetImportError as err:  # name the upload, not the temporary folder
            raise PhaseNetImportError(str(err).replace(tmp, "the uploaded files")) from None


def import_folder(text: str, name: str = "", owner: str = "") -> str:
    """Import the checkpoint folder `text` (inside the data root); returns the new run id."""
    if not text.strip():
        raise PhaseNetImportError("type the checkpoint folder (inside the data root) first")
    return import_checkpoint(resolve_in_data_root(text.strip()), name=name, owner=owner)


def render_import() -> None:
    """The expander; on success the page reruns with the new run selected."""
    if FLASH in st.session_state:
        st.success(st.session_state.pop(FLASH))
    with st.expander("Import a published model", icon=":material/download:"):
        st.markdown(  # not st.caption: the task views' caption stays the page's first
            "PhaseNet's published TensorFlow 1 checkpoint (Zhu & Beroza 2019, MIT licence): "
            "the folder `model/190703-214543` of the AI4EPS/PhaseNet repository. It becomes a "
            "finished picking run you can pick, evaluate, compare and fine-tune from. Nothing "
            "is downloaded."
        )
        where = st.radio(
            "Checkpoint",
            ["Folder in the data root", "Upload the files"],
            horizontal=True,
            key="import-where",
        )
        if where == "Folder in the data root":
            folder = st.text_input(
                "Folder",
                key="import-folder",
                placeholder="e.g. models/phasenet-2019",
                help=f"relative to the data root {data_root()}",
            )
            uploads = None
        else:
            folder = ""
            uploads = st.file_uploader(
                "model_95.ckpt.index, model_95.ckpt.data-00000-of-00001 (and checkpoint, "
                "config.log, LICENSE if you have them)",
                accept_multiple_files=True,
                key="import-files",
            )
        name = st.text_input("Run name", key="import-name", placeholder="PhaseNet 2019")
        if not st.button("Import", key="import-go", type="primary"):
            return
        owner = current_user()
        try:
            with st.spinner("Reading the checkpoint and saving the run ..."):
                if uploads is None:
                    run_id = import_folder(folder, name, owner)
                else:
                    files = [(u.name, u.getvalue()) for u in uploads]
                    run_id = import_uploaded(files, name, owner)
        except (PhaseNetImportError, DatasetError, OSError) as err:
            st.error(str(err))
            return
    st.session_state[FLASH] = f"Imported as run {run_id}."
    st.query_params["run"] = run_id
    st.rerun()
