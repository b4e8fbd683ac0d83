"""Figures and tables for the Compare page (pure functions: data in, figure or frame out)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.runs.compare import flatten_config, with_defaults

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def overlay_figure(series: list[dict], metric: str, by: str, log_y: bool = False) -> go.Figure:
    """series: dicts with label, x, y, colour index and validation flag (dashed); log_y: a
    logarithmic y axis."""
    fig = go.Figure()
    for s in series:
        fig.add_trace(
            go.Scatter(
                x=s["x"],
                y=s["y"],
                mode="lines+markers",
                name=s["label"],
                line={
                    "color": PALETTE[s["colour"] % len(PALETTE)],
                    "dash": "dash" if s["validation"] else "solid",
                },
            )
        )
    if by == "epoch":
        fig.update_xaxes(dtick=1)
    if log_y:
        fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(
        xaxis_title="epoch" if by == "epoch" else "seconds since start",
        yaxis_title=metric,
        height=420,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def config_frame(runs: list, differing: list[str], only_differing: bool) -> pd.DataFrame:
    """Rows = config keys, columns = runs; differing keys first."""
    flat = {r.id: flatten_config(with_defaults(r.config)) for r in runs}
    keys = sorted(set().union(*flat.values())) if flat else []
    if only_differing:
        keys = [k for k in keys if k in differing]
    keys = sorted(keys, key=lambda k: (k not in differing, k))
    frame = pd.DataFrame(
        {run_id: [_cell(values.get(k)) for k in keys] for run_id, values in flat.items()},
        index=keys,
    )
    frame.index.name = "setting"
    return frame


def highlight_differing(frame: pd.DataFrame, differing: list[str]):
    """A Styler that colours the rows of settings that differ between runs."""
    wanted = set(differing)

    def colour(row):
        style = "background-color: #fff3cd; font-weight: 600" if row.name in wanted else ""
        return [style] * len(row)

    return frame.style.apply(colour, axis=1)


def parallel_coordinates(rows: list[dict], dimensions: list[str], target: str) -> go.Figure:
    """One line per run across hyperparameters, coloured by the target metric.

    Non-numeric values (optimizer names, ...) become categorical axes with tick labels.
    """
    dims = []
    for key in [*dimensions, target]:
        values = [row.get(key) for row in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            dims.append({"label": key, "values": values})
        else:
            labels = sorted({str(v) for v in values})
            dims.append(
                {
                    "label": key,
                    "values": [labels.index(str(v)) for v in values],
                    "tickvals": list(range(len(labels))),
                    "ticktext": labels,
                }
            )
    colours = [row.get(target) or 0.0 for row in rows]
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": colours,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": target}},
            },
            dimensions=dims,
        )
    )
    fig.update_layout(height=420, margin={"l": 60, "r": 60, "t": 50, "b": 30})
    return fig


def _cell(value) -> str:
    return "" if value is None else str(value)
