"""Compare page: a shared /compare?runs=... link opens with its runs ticked, Clone & tweak is a
button that opens Train, and runs are labelled alike in legends and config columns."""

from __future__ import annotations

import json

import pytest

from core.runs.store import RunStore
from tests.pages.test_compare import make_run, open_compare, rerun, tab, table_ids, traces


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    """Login off, from an empty secrets file (never the real one)."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


@pytest.fixture
def store(runs_root) -> RunStore:
    return RunStore(runs_root / "runs.sqlite")


def test_the_shared_link_ticks_its_runs_and_clone_opens_train(store):
    a = make_run(store, "a", learning_rate=0.1)
    b = make_run(store, "b", learning_rate=0.01)
    c = make_run(store, "c", learning_rate=0.001)
    at = open_compare(c, a)
    (table,) = at.dataframe[:1]
    ids = table_ids(at)
    ticked = json.loads(table.proto.selection_default)["selection"]["rows"]
    assert sorted(ids[i] for i in ticked) == sorted([a, c])  # ticked from ?runs=c,a
    assert b in ids
    assert "**Comparing:** `c`, `a`" in [m.value for m in at.markdown]

    at.button(key=f"clone-{a}").click()
    rerun(at)
    assert [t.value for t in at.title] == ["Train"]
    assert at.query_params["clone"] == a
    assert f"Settings cloned from run {a}: change what you like, press Train." in [
        i.value for i in at.info
    ]


def test_two_runs_with_one_name_get_their_ids_in_labels(store):
    a = make_run(store, "same", learning_rate=0.1)
    b = make_run(store, "same", learning_rate=0.01)
    at = open_compare(a, b)
    frame = tab(at, "Configs").dataframe[0].value
    assert list(frame.columns) == [f"same ({a})", f"same ({b})"]
    names = [t["name"] for t in traces(tab(at, "Curves"))]
    assert names[0] == f"same ({a}) · train"
