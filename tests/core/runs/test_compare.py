"""Run comparison helpers, run queries on a big store, K-fold group summaries."""

import time

import pytest

from core.config import RunConfig
from core.runs.compare import (
    best_metric,
    curve,
    differing_keys,
    flatten_config,
    metric_names,
    with_defaults,
)
from core.runs.groups import group_summary
from core.runs.queries import (
    RunFilter,
    delete_run_with_artifacts,
    distinct_values,
    get_runs,
    search_runs,
)
from core.runs.store import RunStore


def test_flatten_and_differing_keys():
    a = RunConfig(learning_rate=0.1).to_dict()
    b = RunConfig(learning_rate=0.01, devices={"memory_growth": False}).to_dict()
    b["devices"] = {**a["devices"], "memory_growth": False}
    flat = flatten_config(a)
    assert flat["devices.memory_growth"] is True and flat["augmentation"] == "[]"
    assert differing_keys([a, b]) == ["devices.memory_growth", "learning_rate"]
    assert differing_keys([a, dict(a, name="other")]) == []  # names never count


def test_old_configs_get_todays_defaults():
    old = {"dataset": "digits", "model": "cnn", "epochs": 5}
    new = RunConfig(epochs=5).to_dict()
    assert with_defaults(old)["label_smoothing"] == 0.0
    assert differing_keys([old, new]) == []


def test_best_metric_and_curve():
    rows = [
        {"epoch": 0, "wall_time": 10.0, "val_accuracy": 0.5, "val_loss": 1.0},
        {"epoch": 1, "wall_time": 12.5, "val_accuracy": 0.7, "val_loss": 0.8},
        {"epoch": 2, "wall_time": 15.0, "val_accuracy": 0.6, "val_loss": 0.9},
    ]
    assert best_metric(rows, "val_accuracy") == 0.7
    assert best_metric(rows, "val_loss") == 0.8
    assert best_metric(rows, "missing") is None
    assert curve(rows, "val_loss", started=9.0, by="epoch") == ([1, 2, 3], [1.0, 0.8, 0.9])
    assert curve(rows, "val_loss", started=9.0, by="time")[0] == [1.0, 3.5, 6.0]
    assert metric_names([rows])[0] == "accuracy"


class _Run:
    def __init__(self, metrics):
        self.final_metrics = metrics


def test_group_summary_mean_and_std():
    runs = [_Run({"val_accuracy": 0.8}), _Run({"val_accuracy": 0.9}), _Run(None)]
    summary = group_summary(runs)
    assert summary["val_accuracy"]["mean"] == pytest.approx(0.85)
    assert summary["val_accuracy"]["std"] == pytest.approx(0.05)
    assert summary["val_accuracy"]["n"] == 2


def _big_store(path, n=1000) -> RunStore:
    store = RunStore(path)
    with store._connect() as db:
        for i in range(n):
            db.execute(
                "INSERT INTO runs (id, name, status, dataset, model, config, created, epochs,"
                " tags) VALUES (?, ?, ?, ?, ?, '{}', ?, 5, ?)",
                (
                    f"run-{i:04d}",
                    f"exp {i}",
                    "succeeded" if i % 3 else "failed",
                    "digits" if i % 2 else "shapes",
                    "cnn" if i % 5 else "mlp",
                    1000.0 + i,
                    '["best"]' if i % 100 == 0 else "[]",
                ),
            )
    return store


def test_search_runs_filters_and_pages_1000_runs(tmp_path):
    store = _big_store(tmp_path / "runs.sqlite")
    page, total = search_runs(store, RunFilter(), limit=50, offset=0)
    assert total == 1000 and len(page) == 50 and page[0].id == "run-0999"
    page2, _ = search_runs(store, RunFilter(), limit=50, offset=50)
    assert page2[0].id == "run-0949"
    _, failed = search_runs(store, RunFilter(status="failed"))
    assert failed == 334
    tagged, n_tagged = search_runs(store, RunFilter(tag="best"))
    assert n_tagged == 10 and all("best" in r.tags for r in tagged)
    found, n = search_runs(store, RunFilter(text="exp 12", model="cnn", dataset="shapes"))
    assert n == len(found) and all(r.model == "cnn" and r.dataset == "shapes" for r in found)
    values = distinct_values(store)
    assert values["model"] == ["cnn", "mlp"] and values["tag"] == ["best"]
    assert [r.id for r in get_runs(store, ["run-0005", "nope", "run-0001"])] == [
        "run-0005",
        "run-0001",
    ]
    start = time.perf_counter()
    search_runs(store, RunFilter(status="succeeded"), limit=50, offset=500)
    assert time.perf_counter() - start < 2.0  # generous: indexes keep this in milliseconds


def test_delete_run_removes_rows_and_folder_but_refuses_active(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root / "runs.sqlite")
    done = store.create_run({"dataset": "digits", "model": "cnn", "epochs": 1})
    store.set_status(done, "succeeded")
    (root / done).mkdir()
    (root / done / "model.keras").write_bytes(b"x")
    live = store.create_run({"dataset": "digits", "model": "cnn", "epochs": 1})
    with pytest.raises(ValueError, match="stop it"):
        delete_run_with_artifacts(store, live, root)
    delete_run_with_artifacts(store, done, root)
    assert store.get_run(done) is None and not (root / done).exists()
    assert store.get_run(live) is not None


def test_labels_rename_tag_note(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run({"dataset": "digits", "model": "cnn", "epochs": 1})
    store.update_labels(run_id, name="baseline", tags=["b", " a", "b", ""], note="first try")
    run = store.get_run(run_id)
    assert (run.name, run.tags, run.note) == ("baseline", ["a", "b"], "first try")
    store.update_labels(run_id, note="second")
    assert store.get_run(run_id).name == "baseline"
