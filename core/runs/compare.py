"""Comparing runs: flattened configs, the keys that differ, best metrics, curves to overlay."""

from __future__ import annotations

import json

from core.config import RunConfig

IGNORED_KEYS = {"name"}


def with_defaults(config: dict) -> dict:
    """A run's config with fields added since it was made filled in with today's defaults."""

    defaults = RunConfig().to_dict()
    merged = {**defaults, **config}
    if isinstance(config.get("devices"), dict):
        merged["devices"] = {**defaults["devices"], **config["devices"]}
    return merged


def flatten_config(config: dict, prefix: str = "") -> dict[str, object]:
    """{'devices': {'memory_growth': True}} -> {'devices.memory_growth': True}; lists as JSON."""
    out: dict[str, object] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten_config(value, f"{name}."))
        elif isinstance(value, (list, dict)):
            out[name] = json.dumps(value, sort_keys=True)
        else:
            out[name] = value
    return out


def differing_keys(configs: list[dict]) -> list[str]:
    """Keys (flattened) whose values are not the same in every config, sorted."""
    flat = [flatten_config(with_defaults(c)) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    return [
        k
        for k in keys
        if k not in IGNORED_KEYS
        and len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}) > 1
    ]


def best_metric(epoch_rows: list[dict], metric: str) -> float | None:
    """Best value of a metric over epochs: max for accuracies and pick scores (F1, precision,
    recall), min for losses/errors."""
    values = [r[metric] for r in epoch_rows if isinstance(r.get(metric), (int, float))]
    if not values:
        return None
    higher = any(word in metric for word in ("acc", "f1", "precision", "recall"))
    return max(values) if higher else min(values)


def curve(epoch_rows: list[dict], metric: str, started: float | None, by: str = "epoch"):
    """(x, y) of one metric per epoch; x is the epoch number (1-based) or seconds since start."""
    points = [r for r in epoch_rows if isinstance(r.get(metric), (int, float))]
    if by == "time":
        origin = started if started else (points[0]["wall_time"] if points else 0.0)
        xs = [r["wall_time"] - origin for r in points]
    else:
        xs = [r["epoch"] + 1 for r in points]
    return xs, [r[metric] for r in points]


def metric_names(epoch_rows_by_run: list[list[dict]]) -> list[str]:
    """Metric names found in any run's epoch rows, train metrics (without val_) first."""
    names = set()
    for rows in epoch_rows_by_run:
        for row in rows:
            names.update(
                k
                for k, v in row.items()
                if k not in ("epoch", "wall_time") and isinstance(v, (int, float))
            )
    base = sorted(n.removeprefix("val_") for n in names)
    return sorted(set(base), key=lambda n: (n not in ("loss", "accuracy"), n))
