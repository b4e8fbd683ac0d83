"""Compare page (pages/compare.py) through Streamlit's AppTest.

Runs are written straight into the test's run store (no worker, no TensorFlow). "Clone &
tweak" calls st.switch_page, which only works for pages registered with st.navigation, so the
page is opened through dashboard/app.py and switch_page.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from core.runs.store import RunStore
from dashboard import login
from tests.conftest import TINY
from tests.core.test_access import login_settings
from tests.pages.helpers import widget

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
USERS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}
ALICE_ONLY = "Only its owner alice or an admin (root) may change this run."


@pytest.fixture(autouse=True)
def secrets(tmp_path, monkeypatch) -> Path:
    """Login off, from an empty secrets file (never the real one); tests may fill it."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))
    return path


@pytest.fixture
def store(runs_root) -> RunStore:
    return RunStore(runs_root / "runs.sqlite")


def make_run(
    store: RunStore,
    name: str,
    epochs: int = 3,
    status: str = "succeeded",
    metrics: bool = True,
    owner: str = "",
    **settings,
) -> str:
    """A finished run with per-epoch metrics and an artifact folder, without training."""
    config = RunConfig.from_dict({**TINY, "epochs": epochs, "name": name, **settings}).to_dict()
    run_id = store.create_run(config, name, owner=owner)
    folder = store.path.parent / run_id
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    store.set_status(run_id, status)
    lr = config["learning_rate"]
    for epoch in range(epochs if metrics else 0):
        store.add_epoch_metrics(
            run_id,
            epoch,
            {
                "loss": 2.0 / (epoch + 1) + lr,
                "accuracy": 0.3 + 0.2 * epoch,
                "val_loss": 2.2 / (epoch + 1) + lr,
                "val_accuracy": 0.25 + 0.2 * epoch + lr,
            },
        )
    if metrics:
        store.set_final_metrics(run_id, {"val_accuracy": 0.25 + 0.2 * (epochs - 1) + lr})
    return run_id


def open_compare(*run_ids: str, user: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if user is not None:
        at.session_state[login.USER_KEY] = user  # logged in (login on)
    if run_ids:
        at.query_params["runs"] = ",".join(run_ids)
    at.switch_page("../pages/compare.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Compare runs"]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def tab(at: AppTest, label: str):
    return widget(at.tabs, label)


def count_caption(at: AppTest) -> str:
    (caption,) = [c.value for c in at.caption if "matching runs" in c.value]
    return caption


def table_ids(at: AppTest) -> list[str]:
    rows = at.dataframe[0].value  # the runs table comes first; no columns when it is empty
    return rows["run"].tolist() if "run" in rows else []


def traces(node) -> list[dict]:
    (chart,) = node.get("plotly_chart")
    return json.loads(chart.proto.spec)["data"]


def test_without_runs_the_page_says_so(runs_root):
    at = open_compare()
    assert [i.value for i in at.info] == [
        "No runs yet: train some on the Train page, then compare them here."
    ]
    assert len(at.dataframe) == 0
    assert len(at.tabs) == 0


def test_two_runs_curves_configs_and_hyperparameters(store):
    a = make_run(store, "fast", learning_rate=0.1)
    b = make_run(store, "slow", learning_rate=0.01)
    at = open_compare(a, b)
    assert count_caption(at).startswith("2 matching runs · page 1 of 1")
    assert set(table_ids(at)) == {a, b}
    assert "**Comparing:** `fast`, `slow`" in [m.value for m in at.markdown]
    assert [t.label for t in at.tabs] == ["Curves", "Configs", "Hyperparameters", "Manage"]

    curves = tab(at, "Curves")
    assert widget(curves.selectbox, "Metric").options == ["accuracy", "loss"]
    lines = traces(curves)
    assert [t["name"] for t in lines] == [
        "fast · train",
        "fast · val",
        "slow · train",
        "slow · val",
    ]
    assert [t["line"]["dash"] for t in lines] == ["solid", "dash"] * 2
    assert lines[0]["x"] == [1, 2, 3]
    assert lines[1]["y"] == pytest.approx([0.35, 0.55, 0.75])  # fast's val_accuracy
    widget(curves.radio, "Split").set_value("validation")
    widget(curves.selectbox, "Metric").set_value("loss")
    rerun(at)
    lines = traces(tab(at, "Curves"))
    assert [t["name"] for t in lines] == ["fast · val", "slow · val"]
    assert lines[1]["y"] == pytest.approx([2.21, 1.11, 2.2 / 3 + 0.01])

    configs = tab(at, "Configs")
    frame = configs.dataframe[0].value
    assert frame.index.tolist() == ["learning_rate"]  # only what differs (name is ignored)
    assert frame.loc["learning_rate"].tolist() == ["0.1", "0.01"]
    assert list(frame.columns) == ["fast", "slow"]  # the names the curve legends use
    assert "1 setting(s) differ (highlighted)." in [c.value for c in configs.caption]
    widget(configs.toggle, "Only settings that differ").set_value(False)
    rerun(at)
    everything = tab(at, "Configs").dataframe[0].value
    assert everything.index[0] == "learning_rate"  # differing settings first
    assert {"epochs", "batch_size", "model_settings.filters"} <= set(everything.index)

    hyper = tab(at, "Hyperparameters")
    assert widget(hyper.multiselect, "Hyperparameters").value == ["learning_rate"]
    (parcoords,) = traces(hyper)
    assert parcoords["type"] == "parcoords"
    dims = {d["label"]: d for d in parcoords["dimensions"]}
    rate = dims["learning_rate (log)"]  # a log axis: log10 of the rates, decades as ticks
    assert rate["values"] == pytest.approx([-1.0, -2.0])
    assert rate["tickvals"] == [-2, -1] and rate["ticktext"] == ["0.01", "0.1"]
    assert dims["val_accuracy"]["values"] == pytest.approx([0.75, 0.66])

    clones = [b for b in tab(at, "Manage").button if b.label == "Clone & tweak"]
    assert [c.key for c in clones] == [f"clone-{a}", f"clone-{b}"]


def test_runs_without_epoch_metrics_get_messages_not_charts(store):
    a = make_run(store, "a", metrics=False, learning_rate=0.1)
    b = make_run(store, "b", metrics=False, learning_rate=0.01)
    at = open_compare(a, b, "no-such-run")
    assert "**Comparing:** `a`, `b`" in [m.value for m in at.markdown]
    assert [i.value for i in tab(at, "Curves").info] == ["These runs have no epoch metrics yet."]
    assert [i.value for i in tab(at, "Hyperparameters").info] == [
        "Select at least two finished runs whose settings differ."
    ]
    assert len(at.get("plotly_chart")) == 0


def test_filters_reduce_the_matching_runs(store):
    make_run(store, "alpha cnn")
    make_run(store, "beta cnn", status="failed")
    mlp = make_run(store, "gamma mlp", model="mlp", model_settings={})
    store.update_labels(mlp, tags=["keep"])
    at = open_compare()
    assert [i.value for i in at.info] == ["Select runs in the table to compare them."]
    assert count_caption(at).startswith("3 matching runs")
    assert widget(at.selectbox, "Status").options == ["any", "failed", "succeeded"]
    assert widget(at.selectbox, "Model").options == ["any", "cnn", "mlp"]

    widget(at.selectbox, "Status").set_value("succeeded")
    rerun(at)
    assert count_caption(at).startswith("2 matching runs")
    assert len(table_ids(at)) == 2
    widget(at.selectbox, "Model").set_value("mlp")
    rerun(at)
    assert count_caption(at).startswith("1 matching runs")
    assert table_ids(at) == [mlp]

    widget(at.selectbox, "Status").set_value("")
    widget(at.selectbox, "Model").set_value("")
    widget(at.text_input, "Search id, name or note").set_value("beta")
    rerun(at)
    assert count_caption(at).startswith("1 matching runs")
    assert at.dataframe[0].value["name"].tolist() == ["beta cnn"]

    widget(at.text_input, "Search id, name or note").set_value("")
    widget(at.selectbox, "Tag").set_value("keep")
    rerun(at)
    assert table_ids(at) == [mlp]


def make_many_runs(store: RunStore, n: int, **settings) -> list[str]:
    config = RunConfig.from_dict({**TINY, **settings}).to_dict()
    return [store.create_run(config, f"run {i}") for i in range(n)]


def test_paging_through_120_runs(store):
    make_many_runs(store, 120)
    at = open_compare()
    assert count_caption(at).startswith("120 matching runs · page 1 of 3")
    page1 = table_ids(at)
    assert len(page1) == 50
    assert widget(at.button, "Previous page").disabled
    assert not widget(at.button, "Next page").disabled

    widget(at.button, "Next page").click()
    rerun(at)
    assert count_caption(at).startswith("120 matching runs · page 2 of 3")
    page2 = table_ids(at)
    assert len(page2) == 50 and not set(page1) & set(page2)
    widget(at.button, "Next page").click()
    rerun(at)
    assert count_caption(at).startswith("120 matching runs · page 3 of 3")
    assert len(table_ids(at)) == 20
    assert widget(at.button, "Next page").disabled
    widget(at.button, "Previous page").click()
    rerun(at)
    assert table_ids(at) == page2


def test_a_filter_on_a_later_page_still_shows_its_matches(store):
    make_many_runs(store, 110)
    mlps = make_many_runs(store, 10, model="mlp", model_settings={})
    at = open_compare()
    for _ in range(2):
        widget(at.button, "Next page").click()
        rerun(at)
    assert count_caption(at).startswith("120 matching runs · page 3 of 3")
    widget(at.selectbox, "Model").set_value("mlp")
    rerun(at)
    assert count_caption(at).startswith("10 matching runs · page 1 of 1")
    assert sorted(table_ids(at)) == sorted(mlps)  # fails: the table is empty


def test_manage_saves_name_tags_and_note(store):
    a = make_run(store, "first", learning_rate=0.1)
    b = make_run(store, "second", learning_rate=0.01)
    at = open_compare(a, b)
    manage = tab(at, "Manage")
    assert [e.label for e in manage.expander] == ["first · succeeded", "second · succeeded"]
    at.text_input(key=f"name-{a}").set_value("  renamed ")
    at.text_input(key=f"tags-{a}").set_value("best, lr ,, best")
    at.text_area(key=f"note-{a}").set_value("try 0.05 next")
    at.button(key=f"save-{a}").click()
    rerun(at)

    run = store.get_run(a)
    assert (run.name, run.tags, run.note) == ("renamed", ["best", "lr"], "try 0.05 next")
    other = store.get_run(b)
    assert (other.name, other.tags, other.note) == ("second", [], "")
    assert [t.value for t in at.toast] == ["Saved."]
    assert [e.label for e in tab(at, "Manage").expander][0] == "renamed · succeeded"
    assert "**Comparing:** `renamed`, `second`" in [m.value for m in at.markdown]
    assert widget(at.selectbox, "Tag").options == ["any", "best", "lr"]


def test_delete_asks_first_then_removes_the_run_and_its_folder(store, runs_root):
    a = make_run(store, "doomed", learning_rate=0.1)
    b = make_run(store, "kept", learning_rate=0.01)
    assert (runs_root / a / "config.json").exists()
    at = open_compare(a, b)
    at.button(key=f"delete-{a}").click()
    rerun(at)
    # the dialog asks; nothing is deleted yet
    question = [m.value for m in at.markdown if m.value.startswith("Delete run")]
    assert question == [
        f"Delete run **{a}**, its metrics and its folder `{runs_root / a}`? This cannot be undone."
    ]
    assert store.get_run(a) is not None and (runs_root / a).exists()
    (confirm,) = [btn for btn in at.button if btn.label == "Delete" and btn.key is None]

    # In the browser the dialog's button reruns only the dialog (a fragment). AppTest always
    # reruns the whole script, so the dialog must be opened again in the same run: press the
    # row's Delete and the dialog's Delete together.
    at.button(key=f"delete-{a}").click()
    confirm.click()
    rerun(at)
    assert store.get_run(a) is None
    assert store.epoch_metrics(a) == []
    assert not (runs_root / a).exists()
    assert store.get_run(b) is not None and (runs_root / b).exists()
    assert at.query_params["runs"] == b
    assert count_caption(at).startswith("1 matching runs")
    assert "**Comparing:** `kept`" in [m.value for m in at.markdown]


def test_an_active_run_cannot_be_deleted(store):
    live = make_run(store, "live", metrics=False, learning_rate=0.1)
    store.mark_started(live, os.getpid())  # running, with a live pid and a fresh heartbeat
    done = make_run(store, "done", learning_rate=0.01)
    at = open_compare(live, done)
    assert [e.label for e in tab(at, "Manage").expander] == ["live · running", "done · succeeded"]
    assert at.button(key=f"delete-{live}").disabled
    assert not at.button(key=f"delete-{done}").disabled


# ---- owners: everyone watches and clones, only the owner or an admin changes -----------------
def test_the_table_shows_owners_and_filters_by_them(store):
    make_run(store, "a", owner="alice")
    b = make_run(store, "b", owner="bob")
    make_run(store, "old")
    at = open_compare()
    frame = at.dataframe[0].value
    assert sorted(frame["owner"]) == ["alice", "bob", "nobody (older run)"]
    assert widget(at.selectbox, "Owner").options == ["any", "alice", "bob"]
    widget(at.selectbox, "Owner").set_value("bob")
    rerun(at)
    assert table_ids(at) == [b]


def test_someone_elses_run_is_read_only(store, secrets):
    login_settings(secrets, users=USERS, admins=("root",))
    done = make_run(store, "done", owner="alice", learning_rate=0.1)
    live = make_run(store, "live", owner="alice", metrics=False, learning_rate=0.01)
    store.mark_started(live, os.getpid())
    old = make_run(store, "old", learning_rate=0.001)  # no owner: with login on, admins only
    at = open_compare(done, live, old, user="bob")
    manage = tab(at, "Manage")
    captions = [c.value for c in manage.caption]
    assert f"Owner: **alice** · you may watch and clone it. {ALICE_ONLY}" in captions
    for key in (f"save-{done}", f"delete-{done}", f"stop-{live}", f"delete-{live}"):
        assert at.button(key=key).disabled, key
        assert at.button(key=key).help == ALICE_ONLY, key
    assert at.text_input(key=f"name-{done}").disabled
    assert at.text_area(key=f"note-{done}").disabled
    clones = [b for b in manage.button if b.label == "Clone & tweak"]
    assert [(c.key, c.disabled) for c in clones] == [  # cloning: everyone
        (f"clone-{done}", False),
        (f"clone-{live}", False),
        (f"clone-{old}", False),
    ]
    assert "only an admin (root)" in at.button(key=f"delete-{old}").help
    as_admin = open_compare(done, old, user="root")
    assert not as_admin.button(key=f"delete-{old}").disabled
    assert not as_admin.button(key=f"delete-{done}").disabled


def test_the_owner_stops_saves_and_deletes(store, secrets, runs_root):
    login_settings(secrets, users=USERS, admins=("root",))
    done = make_run(store, "done", owner="alice", learning_rate=0.1)
    live = make_run(store, "live", owner="alice", metrics=False, learning_rate=0.01)
    store.mark_started(live, os.getpid())
    at = open_compare(done, live, user="alice")
    assert "Owner: **alice**" in [c.value for c in tab(at, "Manage").caption]
    assert not at.button(key=f"save-{done}").disabled
    assert at.button(key=f"delete-{live}").disabled  # running: stop it first
    assert at.button(key=f"delete-{live}").help.startswith("Stop the run first")
    at.button(key=f"stop-{live}").click()
    rerun(at)
    assert store.stop_requested(live)
    assert [t.value for t in at.toast] == ["Stop requested: the run ends after its current batch."]
    at.text_input(key=f"name-{done}").set_value("alice's best")
    at.button(key=f"save-{done}").click()
    rerun(at)
    assert store.get_run(done).name == "alice's best"


def test_core_refuses_even_when_a_page_offers_the_button(store, secrets, monkeypatch):
    login_settings(secrets, users=USERS, admins=("root",))
    done = make_run(store, "done", owner="alice")
    monkeypatch.setattr(login, "run_permission", lambda run: (True, ""))  # a page bug
    at = open_compare(done, user="bob")
    at.text_input(key=f"name-{done}").set_value("bob's now")
    at.button(key=f"save-{done}").click()
    rerun(at)
    assert store.get_run(done).name == "done"
    assert [e.value for e in at.error] == [
        f"bob may not rename, tag or note run {done}. {ALICE_ONLY}"
    ]
    assert len(at.toast) == 0
