"""The layer diagram of a model: nodes by depth, edges (skips drawn as arcs) as a plotly figure.

Input: the (nodes, edges) of core.models.summary.layer_graph.
"""

from __future__ import annotations

import plotly.graph_objects as go

BOX_WIDTH = 2.6
BOX_HEIGHT = 0.62
COLUMN_STEP = 3.2  # horizontal distance between parallel branches
ROW_PIXELS = 56
EDGE_COLOUR = "#555555"
SKIP_COLOUR = "#d62728"
TYPE_COLOURS = {
    "InputLayer": "#e8f0fe",
    "Conv2D": "#fde9d9",
    "Conv1D": "#fde9d9",
    "Conv2DTranspose": "#fde9d9",
    "Dense": "#e2f0d9",
    "BatchNormalization": "#f2f2f2",
    "Add": "#fce4ec",
    "Concatenate": "#fce4ec",
    "Functional": "#ede7f6",
}


def node_positions(nodes: list[dict]) -> dict[str, tuple[float, float]]:
    """id -> (x, y) box centre: one row per depth (top to bottom), parallel nodes side by side."""
    used: dict[int, int] = {}
    positions = {}
    for i, node in enumerate(nodes):
        depth = node.get("depth", i)
        column = used.get(depth, 0)
        used[depth] = column + 1
        positions[node["id"]] = (column * COLUMN_STEP, -float(depth))
    return positions


def layer_diagram_figure(nodes: list[dict], edges: list[dict]) -> go.Figure:
    """Boxes per layer top to bottom, arrows for edges; skip connections as red side arcs.

    nodes: dicts with id, type, output_shape, parameters and optionally depth (row);
    edges: dicts with source, target and skip (see core.models.summary.layer_graph).
    """
    fig = go.Figure()
    pos = node_positions(nodes)
    half_w, half_h = BOX_WIDTH / 2, BOX_HEIGHT / 2
    for node in nodes:
        x, y = pos[node["id"]]
        fig.add_shape(
            type="rect",
            x0=x - half_w,
            x1=x + half_w,
            y0=y - half_h,
            y1=y + half_h,
            line={"color": "#444444", "width": 1},
            fillcolor=TYPE_COLOURS.get(node.get("type", ""), "#ffffff"),
            layer="below",
        )
    right = max((x for x, _ in pos.values()), default=0.0) + half_w
    arcs = 0
    for edge in edges:
        skip = bool(edge.get("skip"))
        same_column = abs(pos[edge["source"]][0] - pos[edge["target"]][0]) < 1e-9
        if skip and same_column:
            arcs += 1
        xs, ys = edge_path(pos[edge["source"]], pos[edge["target"]], skip, right + 0.35 * arcs)
        colour = SKIP_COLOUR if skip else EDGE_COLOUR
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": 1.5, "dash": "dash" if skip else "solid"},
                hoverinfo="skip",
                showlegend=False,
                name="skip connection" if skip else "edge",
                meta={"source": edge["source"], "target": edge["target"]},
            )
        )
        fig.add_annotation(
            x=xs[-1],
            y=ys[-1],
            ax=xs[-2],
            ay=ys[-2],
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            text="",
            showarrow=True,
            arrowhead=2,
            arrowsize=1,
            arrowwidth=1.5,
            arrowcolor=colour,
        )
    fig.add_trace(
        go.Scatter(
            x=[pos[n["id"]][0] for n in nodes],
            y=[pos[n["id"]][1] for n in nodes],
            mode="text",
            text=[
                f"<b>{n['id']}</b><br>{n.get('type', '')} {n.get('output_shape', '')}"
                for n in nodes
            ],
            textfont={"size": 10},
            hovertext=[
                f"{n['id']} ({n.get('type', '')})<br>output {n.get('output_shape', '?')}"
                f"<br>{n.get('parameters', 0):,} parameters"
                for n in nodes
            ],
            hoverinfo="text",
            showlegend=False,
            name="layers",
        )
    )
    rows = 1 + max((-y for _, y in pos.values()), default=0.0)
    fig.update_xaxes(visible=False, range=[-half_w - 0.3, right + 0.35 * (arcs + 1) + 0.3])
    fig.update_yaxes(visible=False, range=[-rows + 0.4, 0.6])
    fig.update_layout(
        height=int(80 + ROW_PIXELS * rows),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white",
        showlegend=False,
    )
    return fig


def edge_path(source, target, skip: bool, arc_x: float) -> tuple[list[float], list[float]]:
    """Line points from box `source` (x, y) to box `target`; the last segment carries the arrow.

    Plain edges go from the bottom of one box to the top of the next. A skip edge between boxes
    of one column leaves to the right, runs down at `arc_x` and enters the target from the
    right; a skip edge from a side branch runs down its column and then across.
    """
    (x0, y0), (x1, y1) = source, target
    half_w, half_h = BOX_WIDTH / 2, BOX_HEIGHT / 2
    if not skip:
        return [x0, x1], [y0 - half_h, y1 + half_h]
    if abs(x0 - x1) < 1e-9:
        return [x0 + half_w, arc_x, arc_x, x1 + half_w], [y0, y0, y1, y1]
    side = x1 + half_w if x0 > x1 else x1 - half_w
    return [x0, x0, side], [y0 - half_h, y1, y1]
