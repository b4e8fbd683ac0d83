"""Headline P/S F1 of picker runs, the saved evaluation, local datasets, threshold origins."""

from __future__ import annotations

import numpy as np

from core.seismic.evaluation import EvaluationReport, PhaseScore
from core.seismic.picking import PickOptions
from core.tasks.pick_scores import (
    best_of_curve,
    saved_options,
    threshold_curve,
    threshold_origin,
)
from core.tasks.picker_summary import (
    EVALUATION_FILE,
    clone_settings,
    display_dataset,
    evaluation_dataset,
    headline,
    is_local_dataset,
    read_evaluation,
    save_evaluation,
)
from tests.core.seismic.picking_helpers import tiny_set
from tests.core.tasks.test_pick_scores import peaked

IMPORTED = "published (PhaseNet 2019, NCEDC)"


def score(phase, tol, f1, precision=0.5, recall=0.5):
    return PhaseScore(phase, tol, 10, 10, 5, 5, 5, precision, recall, f1, None, None)


def report(dataset="phasenet:x (all)"):
    scores = [score(p, t, f1) for p, t, f1 in [("P", 0.1, 0.6), ("P", 0.5, 0.9)]]
    scores += [score(p, t, f1) for p, t, f1 in [("S", 0.1, 0.5), ("S", 0.5, 0.8)]]
    return EvaluationReport(dataset, 10, 100.0, scores, {}, 1.0)


class FakeRun:
    def __init__(self, run_id, model="phasenet", final_metrics=None):
        self.id, self.model, self.final_metrics = run_id, model, final_metrics


def test_headline_from_validation_then_saved_evaluation_then_nothing(tmp_path):
    run = FakeRun("a", final_metrics={"val_p_f1_0.5s": 0.7, "val_s_f1_0.5s": 0.6})
    got = headline(run, tmp_path)
    assert got["p_f1"] == 0.7 and got["s_f1"] == 0.6 and got["f1_source"] == "validation"
    imported = FakeRun("b", final_metrics={})
    assert headline(imported, tmp_path) == {
        "p_f1": None,
        "s_f1": None,
        "p_f1_0.1s": None,
        "s_f1_0.1s": None,
        "f1_source": None,
    }
    save_evaluation(tmp_path / "b", report(), IMPORTED)
    got = headline(imported, tmp_path)
    assert got["p_f1"] == 0.9 and got["s_f1_0.1s"] == 0.5
    assert got["f1_source"] == "evaluation on phasenet:x (all)"
    assert headline(FakeRun("c", model="mlp", final_metrics={"val_accuracy": 1.0})) == {}


def test_a_broken_saved_evaluation_is_ignored(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / EVALUATION_FILE).write_text("{not json")
    assert read_evaluation(tmp_path / "r") == {}
    assert headline(FakeRun("r", final_metrics={}), tmp_path)["f1_source"] is None


def test_local_datasets_and_the_imported_one():
    assert is_local_dataset("synthetic") and is_local_dataset("phasenet:my")
    assert is_local_dataset("mix:synthetic+phasenet:my")
    assert (
        not is_local_dataset(IMPORTED) and not is_local_dataset("") and not is_local_dataset("mix:")
    )
    assert evaluation_dataset("synthetic") == ("synthetic", "")
    name, note = evaluation_dataset(IMPORTED)
    assert is_local_dataset(name) and IMPORTED in note and "not on this server" in note
    assert display_dataset(IMPORTED) == f"{IMPORTED} (imported)"
    assert display_dataset("synthetic") == "synthetic"


def test_clone_of_an_imported_picker_fine_tunes_it_on_a_local_dataset():
    config = {"dataset": IMPORTED, "model": "phasenet", "epochs": 1, "k_folds": 3}
    out = clone_settings("imp1", config)
    assert is_local_dataset(out["dataset"]) and out["init_from"] == "imp1"
    assert out["k_folds"] is None
    plain = clone_settings("r2", {"dataset": "synthetic", "model": "phasenet"})
    assert plain["dataset"] == "synthetic" and "init_from" not in plain
    image = clone_settings("r3", {"dataset": "odd", "model": "mlp"})
    assert image["dataset"] == "odd"


def test_threshold_curve_and_its_best():
    windows = tiny_set(6, 600, seed=2)
    curve = threshold_curve(peaked(windows, false_p=0.5), windows, 100.0)
    assert [row["threshold"] for row in curve][:3] == [0.05, 0.1, 0.15]
    low = curve[0]
    assert low["p_precision"] == 0.5 and low["p_recall"] == 1.0
    assert best_of_curve(curve)["p_threshold"] == 0.55
    above = [row for row in curve if row["threshold"] > 0.8]
    assert all(row["p_recall"] == 0.0 for row in above)  # the 0.8 peaks are missed
    assert best_of_curve([]) == {"p_threshold": 0.3, "s_threshold": 0.3, "p_f1": 0.0, "s_f1": 0.0}


def test_saved_options_and_where_they_came_from():
    meta = {"thresholds": {"p_threshold": 0.35, "s_threshold": 0.45, "p_f1": 0.91, "windows": 300}}
    got = saved_options(meta, PickOptions(overlap=0.25))
    assert (got.p_threshold, got.s_threshold, got.overlap) == (0.35, 0.45, 0.25)
    text = threshold_origin(meta, "P")
    assert text.startswith("0.35, the best validation F1 of this run")
    assert "0.910" in text and "300 validation windows" in text
    assert threshold_origin({}, "S").startswith("0.3, the general default")
    assert saved_options({}).p_threshold == PickOptions().p_threshold
    assert np.isclose(saved_options(meta).s_threshold, 0.45)
