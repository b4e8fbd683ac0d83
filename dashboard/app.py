"""Entry script (`streamlit run dashboard/app.py`): login (if on), the navigation, the page."""

from __future__ import annotations

import os
from pathlib import Path

from core import paths
from core.runs.launcher import PARENT_CUDA_ENV
from core.runs.store_health import check_store

# The dashboard process never uses a GPU (TensorFlow would hold its memory for good);
# training workers get the original CUDA_VISIBLE_DEVICES back (see core.runs.launcher).
if PARENT_CUDA_ENV not in os.environ:
    os.environ[PARENT_CUDA_ENV] = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"

import streamlit as st  # noqa: E402

from dashboard.login import is_logged_in, require_login  # noqa: E402
from dashboard.tab_visibility import watch_tab_visibility  # noqa: E402
from dashboard.widgets import page_path  # noqa: E402


def build_navigation(visible: bool = True):
    """One entry per page script in pages/ (listed in the sidebar only when `visible`)."""
    return st.navigation(
        [
            st.Page(page_path("home"), title="Home", icon=":material/home:", default=True),
            st.Page(page_path("data"), title="Data", icon=":material/dataset:"),
            st.Page(page_path("augment"), title="Augment", icon=":material/auto_fix_high:"),
            st.Page(page_path("train"), title="Train", icon=":material/model_training:"),
            st.Page(page_path("compare"), title="Compare", icon=":material/compare_arrows:"),
            st.Page(page_path("predict"), title="Predict", icon=":material/online_prediction:"),
            st.Page(page_path("evaluate"), title="Evaluate", icon=":material/fact_check:"),
            st.Page(page_path("devices"), title="Devices", icon=":material/memory:"),
        ],
        position="sidebar" if visible else "hidden",
    )


# A local favicon: a ":material/...:" page icon is fetched from fonts.gstatic.com, which a lab
# server without internet cannot reach (a failed request on every page load).
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"
st.set_page_config(page_title="TF Lab", page_icon=str(FAVICON), layout="wide")
# The navigation comes first, so the URL keeps the page (and query) a link asked for while the
# login form shows; with login on, nobody gets past require_login() without logging in.
requested_page = build_navigation(visible=is_logged_in())
require_login()
store_problem = check_store(paths.runs_dir())  # a missing or corrupt runs.sqlite: say so
if store_problem:
    st.error(store_problem.message, icon=":material/database:")
    st.stop()
with st.sidebar:
    watch_tab_visibility()  # a tab in the background stops polling (dashboard/tab_visibility.py)
requested_page.run()
