"""Home page through Streamlit's AppTest.

The page calls st.page_link, which only works for pages registered with st.navigation, so the
page is reached through the real entry script (dashboard/app.py) and AppTest.switch_page.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.registry import list_datasets
from core.runs.store import RunStore
from tests.conftest import TINY

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    """Login off, from an empty secrets file (never the real one)."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


def open_home() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("../pages/home.py").run()
    assert not at.exception, at.exception
    return at


def test_home_without_runs(runs_root):
    at = open_home()
    assert [t.value for t in at.title] == ["TF Lab"]
    text = "\n".join(m.value for m in at.markdown)
    for info in list_datasets():
        assert f"**{info.name}** ({info.kind})" in text
    assert len(at.page_link) == 5
    assert [i.value for i in at.info] == [
        "No runs yet. Open **Train** and press **Train** to start the first one."
    ]
    assert len(at.dataframe) == 0
    assert "Latest runs" in [s.value for s in at.subheader]
    # the store was created in this test's runs folder, not somewhere shared
    assert (runs_root / "runs.sqlite").is_file()


def test_home_lists_runs_newest_first(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    first = store.create_run(dict(TINY), "first", owner="alice")
    store.set_final_metrics(first, {"val_accuracy": 0.75, "test_accuracy": 0.5})
    store.set_status(first, "succeeded")
    second = store.create_run(dict(TINY, dataset="shapes"), "second")
    store.set_status(second, "failed", error="boom")

    at = open_home()
    assert len(at.info) == 0
    (table,) = at.dataframe
    frame = table.value
    assert len(frame) == 2
    by_id = frame.set_index("run")
    assert set(by_id.index) == {first, second}
    assert by_id.loc[first, "name"] == "first"
    assert by_id.loc[first, "owner"] == "alice"
    assert by_id.loc[second, "owner"] == "nobody (older run)"  # made without an owner
    assert by_id.loc[first, "status"] == "succeeded"
    assert by_id.loc[first, "val accuracy"] == pytest.approx(0.75)
    assert by_id.loc[second, "status"] == "failed"
    assert by_id.loc[second, "dataset"] == "shapes"
    # list_runs is newest first (ids start with the creation second, so compare created)
    assert list(frame["created"]) == sorted(frame["created"], reverse=True)


def test_home_marks_lost_runs_interrupted(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY))
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid no longer exists
    store.set_pid(run_id, gone.pid)

    at = open_home()
    assert at.dataframe[0].value["status"].tolist() == ["interrupted"]
    assert store.get_run(run_id).status == "interrupted"


def test_home_rows_can_be_selected_to_open_a_run(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    store.create_run(dict(TINY), "one")
    at = open_home()
    table = at.dataframe[0]  # the latest runs (a queue table may follow)
    single_row = type(table.proto).SelectionMode.SINGLE_ROW
    assert list(table.proto.selection_mode) == [single_row]  # the browser test clicks a row
    assert "Select a row to open that run on the Train page." in [c.value for c in at.caption]
