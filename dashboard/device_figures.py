"""Plotly figures of the Devices page: memory of the host and each GPU as used/free bars (MB)."""

from __future__ import annotations

import plotly.graph_objects as go

USED_COLOUR = "#1f77b4"
FREE_COLOUR = "#d9e2ec"


def memory_bars(cpu: dict, gpus: list[dict]) -> go.Figure:
    """One horizontal bar per device (host RAM, then GPU 0, 1, ...): used and free memory in GB.

    cpu: {"memory_total_mb", "memory_used_mb"}; gpus: dicts with index, name and the same keys.
    Devices whose memory is unknown (None) are left out.
    """
    rows = [("host RAM", cpu.get("memory_used_mb"), cpu.get("memory_total_mb"))]
    rows += [
        (f"GPU {g['index']} · {g['name']}", g.get("memory_used_mb"), g.get("memory_total_mb"))
        for g in gpus
    ]
    rows = [(label, used, total) for label, used, total in rows if used is not None and total]
    labels = [r[0] for r in rows]
    used = [r[1] / 1024 for r in rows]
    free = [max(r[2] - r[1], 0) / 1024 for r in rows]
    share = [f"{r[1] / r[2]:.0%} used" for r in rows]
    fig = go.Figure(
        [
            go.Bar(
                y=labels,
                x=used,
                name="used",
                orientation="h",
                marker_color=USED_COLOUR,
                text=share,
                textposition="inside",
                hovertemplate="%{y}: %{x:.1f} GB used<extra></extra>",
            ),
            go.Bar(
                y=labels,
                x=free,
                name="free",
                orientation="h",
                marker_color=FREE_COLOUR,
                hovertemplate="%{y}: %{x:.1f} GB free<extra></extra>",
            ),
        ]
    )
    fig.update_layout(
        barmode="stack",
        height=120 + 50 * len(rows),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="memory (GB)",
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return fig
