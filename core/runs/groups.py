"""Summaries over groups of runs, e.g. the K runs of a K-fold cross-validation."""

from __future__ import annotations

import math

SUMMARY_METRICS = ("val_accuracy", "val_loss", "test_accuracy", "test_loss", "accuracy", "loss")


def group_summary(runs: list, metrics: tuple[str, ...] = SUMMARY_METRICS) -> dict[str, dict]:
    """{metric: {mean, std, n}} over the finished runs that report it (population std)."""
    out = {}
    for name in metrics:
        values = [
            r.final_metrics[name]
            for r in runs
            if r.final_metrics and isinstance(r.final_metrics.get(name), (int, float))
        ]
        if not values:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        out[name] = {"mean": mean, "std": std, "n": len(values)}
    return out
