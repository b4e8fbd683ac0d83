"""core.tasks.evaluate_images against hand-computed cases, and on a real (tiny) trained run."""

from __future__ import annotations

import numpy as np
import pytest

from core.tasks.evaluate_images import (
    EvalData,
    EvaluateError,
    calibration,
    classification_report,
    default_split,
    evaluate_run,
    load_split,
    map_labels,
    reconstruction_report,
)
from tests.image_run_helpers import save_image_run

# 3 classes, 6 examples: true labels and predicted probabilities chosen so every number below
# can be worked out by hand.
Y = np.array([0, 0, 1, 1, 2, 2])
P = np.array(
    [
        [0.9, 0.05, 0.05],  # 0 -> 0, conf 0.9, right
        [0.3, 0.6, 0.1],  # 0 -> 1, conf 0.6, wrong
        [0.2, 0.7, 0.1],  # 1 -> 1, conf 0.7, right
        [0.1, 0.85, 0.05],  # 1 -> 1, conf 0.85, right
        [0.05, 0.05, 0.9],  # 2 -> 2, conf 0.9, right
        [0.95, 0.03, 0.02],  # 2 -> 0, conf 0.95, wrong
    ]
)


def test_classification_report_by_hand():
    r = classification_report(Y, P, ["a", "b", "c"])
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    a, b, c = r["per_class"]
    # a: predicted twice (rows 0, 5), right once; 2 true a's, 1 found
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == (0.5, 0.5, 0.5, 2)
    # b: predicted 3 times, right twice; both true b's found
    assert b["precision"] == pytest.approx(2 / 3) and b["recall"] == 1.0
    assert b["f1"] == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))
    assert (c["precision"], c["recall"]) == (1.0, 0.5) and c["f1"] == pytest.approx(2 / 3)
    # the most confident mistake first: row 5 (0.95) then row 1 (0.6)
    assert [(m["index"], m["true"], m["predicted"]) for m in r["mistakes"]] == [
        (5, "c", "a"),
        (1, "a", "b"),
    ]
    assert r["mistakes"][0]["confidence"] == pytest.approx(0.95)


def test_ece_by_hand():
    # bins (0.5, 0.6]: {0.6 wrong}; (0.6, 0.7]: {0.7 right}; (0.8, 0.9]: {0.85 right, 0.9 right,
    # 0.9 right}; (0.9, 1.0]: {0.95 wrong}
    # ECE = 1/6 |0 - 0.6| + 1/6 |1 - 0.7| + 3/6 |1 - 0.8833| + 1/6 |0 - 0.95|
    expected = (0.6 + 0.3 + 3 * (1 - (0.85 + 0.9 + 0.9) / 3) + 0.95) / 6
    r = classification_report(Y, P, ["a", "b", "c"])
    assert r["ece"] == pytest.approx(expected)
    counts = [b["count"] for b in r["reliability"]]
    assert counts == [0, 0, 0, 0, 0, 1, 1, 0, 3, 1]
    assert r["reliability"][8]["accuracy"] == 1.0 and r["reliability"][9]["accuracy"] == 0.0
    assert r["reliability"][0]["confidence"] is None


def test_calibration_edges():
    # 1.0 goes in the last bin, 0.1 in the first (bins are (lo, hi])
    rows, ece = calibration(np.array([1.0, 0.1]), np.array([True, False]))
    assert rows[9]["count"] == 1 and rows[0]["count"] == 1
    assert ece == pytest.approx((0.0 + 0.1) / 2)
    rows, ece = calibration(np.array([0.8, 0.8]), np.array([True, False]))
    assert ece == pytest.approx(abs(0.5 - 0.8))


def test_reconstruction_report_by_hand():
    clean = np.zeros((3, 2, 2, 1), np.float32)
    restored = clean + np.array([0.1, 0.4, 0.2], np.float32)[:, None, None, None]
    noisy = clean + 0.5
    r = reconstruction_report(clean, noisy, restored, worst=2, bins=3)
    assert r["restored_error"] == pytest.approx(0.7 / 3)
    assert r["noisy_error"] == pytest.approx(0.5)
    assert [w["index"] for w in r["worst"]] == [1, 2]
    assert sum(r["histogram"]["counts"]) == 3 and len(r["histogram"]["edges"]) == 4


def test_labels_are_matched_by_class_name():
    data = EvalData(np.zeros((3, 1, 1, 1)), np.array([0, 1, 1]), ["cat", "dog"], "pets")
    assert map_labels(data, ["dog", "cat"]).tolist() == [1, 0, 0]
    with pytest.raises(EvaluateError, match="bird"):
        map_labels(EvalData(data.x, data.y, ["cat", "bird"], "pets"), ["dog", "cat"])


def test_splits_and_defaults():
    test, every = load_split("digits", "test"), load_split("digits", "all")
    assert len(every.y) > len(test.y) and every.label == "digits (all)"
    assert default_split("digits", None) == "test"
    assert default_split("digits", "digits") == "test"
    assert default_split("digits", "folder:photos@16") == "all"
    with pytest.raises(EvaluateError, match="unknown split"):
        load_split("digits", "everything")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-runs")
    return root, save_image_run(root, "classification"), save_image_run(root, "reconstruction")


def test_evaluate_a_trained_classifier(runs):
    root, cls_run, _ = runs
    seen = []
    report = evaluate_run(root / cls_run, progress=lambda done, total: seen.append((done, total)))
    n = len(load_split("digits", "test").y)
    assert report["split"] == "test" and report["examples"] == n
    assert seen[-1] == (n, n)
    assert sum(map(sum, report["confusion_matrix"])) == n
    assert report["accuracy"] > 0.3  # trained, far above chance (0.1)
    assert 0.0 <= report["ece"] <= 1.0


def test_evaluate_an_autoencoder(runs):
    root, _, ae_run = runs
    report = evaluate_run(root / ae_run, split="validation")
    assert report["task"] == "reconstruction" and report["split"] == "validation"
    assert len(report["per_image_error"]) == report["examples"]
    assert report["worst"][0]["error"] == max(report["per_image_error"])


def test_evaluate_refuses_a_run_without_model(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluateError, match="no saved model"):
        evaluate_run(tmp_path / "empty")
