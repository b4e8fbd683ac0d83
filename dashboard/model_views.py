"""Model overview: the layer table and a layer diagram (plotly, no Graphviz) of a registry model.

The diagram comes from dashboard/model_figures.py (tested without a browser).
`render_model_overview` builds the model in the Streamlit process (CPU only), so call it only
when the user asks for it (e.g. inside an opened expander).
"""

from __future__ import annotations

import contextlib
import json

import streamlit as st

from core.models.registry import ModelError, build_model, model_notes
from core.models.summary import layer_graph, parameter_totals, summary_table
from dashboard.model_figures import layer_diagram_figure


@st.cache_data(show_spinner="Building the model ...", max_entries=32)
def model_overview_data(
    model_name: str, input_shape: tuple[int, ...], num_classes: int, settings_json: str
) -> dict:
    """Rows, totals, graph and build notes of a freshly built model (TensorFlow on CPU only)."""
    import tensorflow as tf

    # The Streamlit process never touches the GPU (DESIGN.md); a RuntimeError means TensorFlow's
    # devices were initialised already, hidden by the entry script's CUDA_VISIBLE_DEVICES=-1.
    with contextlib.suppress(RuntimeError):
        tf.config.set_visible_devices([], "GPU")

    model, used = build_model(model_name, input_shape, num_classes, json.loads(settings_json))
    nodes, edges = layer_graph(model)
    return {
        "rows": summary_table(model),
        "totals": parameter_totals(model),
        "nodes": nodes,
        "edges": edges,
        "notes": model_notes(model),
        "settings": used,
    }


def render_model_overview(
    model_name: str, input_shape: tuple[int, ...], num_classes: int, settings: dict | None = None
) -> None:
    """Parameter totals, build notes, the layer table and the layer diagram of one model."""

    try:
        data = model_overview_data(
            model_name,
            tuple(int(d) for d in input_shape),
            int(num_classes),
            json.dumps(settings or {}, sort_keys=True, default=list),
        )
    except ModelError as err:
        st.error(str(err))
        return
    totals = data["totals"]
    total, trainable, frozen = st.columns(3)
    total.metric("Parameters", f"{totals['total']:,}")
    trainable.metric("Trainable", f"{totals['trainable']:,}")
    frozen.metric("Non-trainable", f"{totals['non_trainable']:,}")
    for note in data["notes"]:
        st.caption(note)
    st.dataframe(data["rows"], hide_index=True)
    st.plotly_chart(
        layer_diagram_figure(data["nodes"], data["edges"]),
        key=f"layer-diagram-{model_name}",
        config={"displayModeBar": False},
    )


def model_overview_expander(
    model_name: str, input_shape: tuple[int, ...], num_classes: int, settings: dict | None = None
) -> None:
    """An expander whose toggle builds the model on demand (an expander body always runs)."""
    with st.expander("Model overview: layers, parameters, diagram"):
        if st.toggle(
            "Build the model here and show its layers (loads TensorFlow on the CPU)",
            key=f"model-overview-{model_name}",
        ):
            render_model_overview(model_name, input_shape, num_classes, settings)
