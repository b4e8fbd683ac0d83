"""What a built Keras model looks like: a layer table, parameter totals and its layer graph.

Works on functional models, including branches and skip connections (ResNet) and nested models
(a transfer base counts as one layer). No Graphviz: the graph is plain lists for a figure builder.
"""

from __future__ import annotations

import math


def summary_table(model) -> list[dict]:
    """One row per layer in graph order: name, type, output_shape, parameters, trainable."""
    rows = []
    for layer in model.layers:
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": format_shape(output_shape(layer)),
                "parameters": int(layer.count_params()) if layer.built else 0,
                "trainable_parameters": _count(layer.trainable_weights),
                "trainable": bool(layer.trainable),
            }
        )
    return rows


def parameter_totals(model) -> dict:
    """{'total', 'trainable', 'non_trainable'} parameter counts of the whole model."""
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    return {
        "total": trainable + non_trainable,
        "trainable": trainable,
        "non_trainable": non_trainable,
    }


def layer_graph(model) -> tuple[list[dict], list[dict]]:
    """(nodes, edges) of the model's layer graph, nodes in topological order.

    node: {'id', 'type', 'output_shape', 'parameters', 'index', 'depth'}; edge: {'source',
    'target', 'skip'} with ids = layer names. `depth` is the longest path from an input, so
    parallel branches share depths; `skip` marks an edge spanning more than one depth (a
    residual shortcut or the end of a shorter branch). A model without a functional graph
    (subclassed) becomes a chain of its layers.
    """
    layers = list(model.layers)
    names = {layer.name for layer in layers}
    index = {layer.name: i for i, layer in enumerate(layers)}
    nodes = [
        {
            "id": layer.name,
            "type": type(layer).__name__,
            "output_shape": format_shape(output_shape(layer)),
            "parameters": int(layer.count_params()) if layer.built else 0,
            "index": i,
        }
        for i, layer in enumerate(layers)
    ]
    pairs: list[tuple[str, str]] = []
    for target, source in _config_edges(model):
        if source in names and target in names and (source, target) not in pairs:
            pairs.append((source, target))
    if not pairs and len(layers) > 1:
        pairs = [(a.name, b.name) for a, b in zip(layers, layers[1:], strict=False)]
    pairs = [(s, t) for s, t in pairs if index[s] < index[t]]
    depth = dict.fromkeys(index, 0)
    for s, t in sorted(pairs, key=lambda pair: index[pair[1]]):  # topological by target
        depth[t] = max(depth[t], depth[s] + 1)
    for node in nodes:
        node["depth"] = depth[node["id"]]
    edges = [{"source": s, "target": t, "skip": depth[t] - depth[s] > 1} for s, t in pairs]
    return nodes, edges


def output_shape(layer):
    """The layer's output shape as a tuple (None for the batch), or None if unknown."""
    try:
        out = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(out, list | tuple):
        out = out[0]
    shape = getattr(out, "shape", None)
    return tuple(shape) if shape is not None else None


def _config_edges(model) -> list[tuple[str, str]]:
    """(layer, layer it takes input from) pairs read from a functional model's public config
    (each inbound node's tensors name their source as keras_history [layer, node, tensor])."""
    try:
        layers = model.get_config().get("layers", [])
    except (NotImplementedError, TypeError, AttributeError):  # subclassed models
        return []
    edges = []
    for layer in layers:
        for source in _history_names(layer.get("inbound_nodes", [])):
            edges.append((layer["name"], source))
    return edges


def _history_names(value) -> list[str]:
    """Every keras_history layer name in a nested config structure."""
    if isinstance(value, dict):
        history = value.get("keras_history")
        found = [history[0]] if isinstance(history, list | tuple) and history else []
        return found + [n for v in value.values() for n in _history_names(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _history_names(v)]
    return []


def format_shape(shape) -> str:
    """(None, 16, 16, 32) -> '(None, 16, 16, 32)'; unknown -> '?'."""
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))
