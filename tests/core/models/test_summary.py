"""core.models.summary (layer table, totals, graph) and dashboard.model_views' diagram figure."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from core.models.registry import build_model
from core.models.summary import format_shape, layer_graph, parameter_totals, summary_table
from dashboard.model_figures import layer_diagram_figure, node_positions


@pytest.fixture(scope="module")
def resnet():
    model, _ = build_model("resnet_small", (16, 16, 1), 10, {"filters": [4, 8]})
    return model


def test_summary_table_rows_and_totals(resnet):
    rows = summary_table(resnet)
    assert [r["name"] for r in rows] == [layer.name for layer in resnet.layers]
    assert rows[0]["type"] == "InputLayer" and rows[0]["output_shape"] == "(None, 16, 16, 1)"
    assert rows[-1] == {
        "name": "probabilities",
        "type": "Dense",
        "output_shape": "(None, 10)",
        "parameters": 8 * 10 + 10,
        "trainable_parameters": 90,
        "trainable": True,
    }
    totals = parameter_totals(resnet)
    assert totals["total"] == resnet.count_params() == sum(r["parameters"] for r in rows)
    assert totals["non_trainable"] > 0  # batch-norm moving statistics
    assert totals["trainable"] + totals["non_trainable"] == totals["total"]


def test_frozen_transfer_base_is_one_non_trainable_row():
    model, _ = build_model("transfer", (16, 16, 1), 3, {"alpha": 0.35, "weights": "none"})
    base = next(r for r in summary_table(model) if r["name"] == "base")
    assert base["type"] == "Functional" and not base["trainable"]
    assert base["trainable_parameters"] == 0 and base["parameters"] > 100_000
    assert parameter_totals(model)["trainable"] == 1280 * 3 + 3


def test_resnet_graph_has_skip_edges(resnet):
    nodes, edges = layer_graph(resnet)
    ids = [n["id"] for n in nodes]
    assert ids == [layer.name for layer in resnet.layers]
    skips = {(e["source"], e["target"]) for e in edges if e["skip"]}
    assert ("stem_relu", "stage1_block1_add") in skips  # identity shortcut
    assert ("stage2_block1_proj_bn", "stage2_block1_add") in skips  # projection shortcut
    adds = [n["id"] for n in nodes if n["type"] == "Add"]
    assert all(sum(e["target"] == a for e in edges) == 2 for a in adds)
    depth = {n["id"]: n["depth"] for n in nodes}
    assert depth["stage2_block1_proj"] == depth["stage2_block1_conv1"]  # a parallel branch


def test_plain_chain_has_no_skips():
    model, _ = build_model("mlp", (8, 8, 1), 3, {"hidden_units": [4]})
    nodes, edges = layer_graph(model)
    assert len(edges) == len(nodes) - 1 and not any(e["skip"] for e in edges)
    assert [n["depth"] for n in nodes] == list(range(len(nodes)))


def test_format_shape():
    assert format_shape((None, 4, 4)) == "(None, 4, 4)"
    assert format_shape(None) == "?"


def graph(nodes, edges):
    return [
        {"id": n, "type": "Dense", "output_shape": "(None, 4)", "parameters": 1, "depth": d}
        for n, d in nodes
    ], [{"source": s, "target": t, "skip": k} for s, t, k in edges]


def test_diagram_draws_one_box_per_layer_and_every_edge():
    nodes, edges = graph(
        [("in", 0), ("a", 1), ("b", 2), ("branch", 1), ("add", 3)],
        [
            ("in", "a", False),
            ("a", "b", False),
            ("in", "branch", False),
            ("b", "add", False),
            ("branch", "add", True),
            ("in", "add", True),
        ],
    )
    fig = layer_diagram_figure(nodes, edges)
    assert isinstance(fig, go.Figure)
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(boxes) == len(nodes)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == len(edges) and len(fig.layout.annotations) == len(edges)
    skip_lines = [t for t in lines if t.name == "skip connection"]
    assert {(t.meta["source"], t.meta["target"]) for t in skip_lines} == {
        ("branch", "add"),
        ("in", "add"),
    }
    assert all(t.line.dash == "dash" for t in skip_lines)
    labels = next(t for t in fig.data if t.mode == "text")
    assert any("branch" in text for text in labels.text)


def test_diagram_layout_top_to_bottom_with_parallel_columns():
    nodes, _ = graph([("in", 0), ("a", 1), ("branch", 1), ("out", 2)], [])
    pos = node_positions(nodes)
    assert pos["in"][1] > pos["a"][1] > pos["out"][1]
    assert pos["a"][1] == pos["branch"][1] and pos["a"][0] < pos["branch"][0]


def test_diagram_of_a_real_resnet(resnet):
    fig = layer_diagram_figure(*layer_graph(resnet))
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == len(resnet.layers)
    assert any(t.name == "skip connection" for t in fig.data)
    assert fig.layout.height > 400


def overview_app():
    from dashboard.model_views import model_overview_expander

    model_overview_expander("resnet_small", (16, 16, 1), 10, {"filters": [4, 8]})


def test_model_overview_builds_only_when_asked():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(overview_app, default_timeout=60).run()
    assert not at.exception and not at.dataframe  # nothing built until the toggle is on
    at.toggle[0].set_value(True).run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["Parameters", "Trainable", "Non-trainable"]
    assert len(at.dataframe) == 1
    assert at.dataframe[0].value["name"].iloc[-1] == "probabilities"


def unknown_model_app():
    from dashboard.model_views import render_model_overview

    render_model_overview("nope", (16, 16, 1), 10)


def test_model_overview_reports_model_errors():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(unknown_model_app, default_timeout=60).run()
    assert not at.exception
    assert "unknown model 'nope'" in at.error[0].value
