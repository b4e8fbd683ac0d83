"""Subprocess entry: `python -m core.models.untrusted_worker FOLDER` loads one untrusted model
file and answers FOLDER/request.json in FOLDER/answer.json (+ outputs.npy, float32
(n, *output_shape), for predict on FOLDER/inputs.npy (n, *input_shape)). Started by
core.models.untrusted only; the process exits after one request, so nothing it loaded stays.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from core.models.registry import build_model
from core.models.untrusted import UntrustedModelError, safe_extract, scan_keras_config

# Graph ops that touch files or run Python: never in a model that only computes.
DENIED_OPS = frozenset(
    {
        "WriteFile",
        "ReadFile",
        "MatchingFiles",
        "DeleteFile",
        "PyFunc",
        "PyFuncStateless",
        "EagerPyFunc",
        "ImmutableConst",
        "WholeFileReader",
        "WholeFileReaderV2",
    }
)


def main(folder: str) -> int:
    work = Path(folder)
    request = json.loads((work / "request.json").read_text())
    name = request["name"]
    try:
        runner, info = _load(request, work)
        if request["action"] == "predict":
            images = np.load(work / "inputs.npy", allow_pickle=False)
            want = tuple(info["input_shape"])
            if images.shape[1:] != want:
                raise UntrustedModelError(
                    f"{name}: inputs have shape {images.shape[1:]}, the model expects {want}"
                )
            size = max(1, int(request.get("batch_size", 256)))
            parts = [runner(images[i : i + size]) for i in range(0, len(images), size)]
            outputs = np.concatenate(parts) if parts else np.zeros((0, *info["output_shape"]))
            np.save(work / "outputs.npy", outputs.astype(np.float32), allow_pickle=False)
        answer = {**info, "name": name, "kind": request["kind"]}
    except UntrustedModelError as err:
        answer = {"error": str(err)}
    except Exception as err:  # noqa: BLE001 - any failure is reported, not raised at the user
        answer = {"error": f"{name}: cannot load the model ({_short(err)})"}
    (work / "answer.json").write_text(json.dumps(answer))
    return 0


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(err).__name__}: {first[:300]}"


def _load(request: dict, work: Path):
    """(callable batch -> float32 array, {input_shape, output_shape, layers, notes})."""
    kind, name, path = request["kind"], request["name"], Path(request["path"])
    if kind == "savedmodel":
        return _load_savedmodel(path, name, work)
    import keras

    if kind == "keras":
        try:
            model = keras.models.load_model(path, safe_mode=True, compile=False)
        except ValueError as err:
            if "Lambda" in str(err) or "lambda" in str(err):
                raise UntrustedModelError(
                    f"{name}: contains a Lambda layer (Python code inside the file); refused"
                ) from None
            raise UntrustedModelError(f"{name}: cannot load the model ({_short(err)})") from None
        scan_keras_config(model.get_config(), name)
    else:
        arch = request["architecture"]
        model, _ = build_model(
            arch["model"], tuple(arch["input_shape"]), arch["num_classes"], arch["settings"]
        )
        copy = work / "model.weights.h5"
        shutil.copyfile(path, copy)
        try:
            model.load_weights(copy)
        except Exception as err:  # noqa: BLE001 - wrong file for this architecture
            raise UntrustedModelError(
                f"{name}: the weights do not fit model {arch['model']!r} ({_short(err)})"
            ) from None
    if isinstance(model.inputs, list) and len(model.inputs) != 1:
        raise UntrustedModelError(f"{name}: the model has {len(model.inputs)} inputs, not one")
    info = {
        "input_shape": list(model.input_shape[1:]),
        "output_shape": list(model.output_shape[1:]),
        "layers": len(model.layers),
        "notes": [],
    }
    return (lambda x: np.asarray(model.predict(x, verbose=0))), info


def _load_savedmodel(path: Path, name: str, work: Path):
    import keras
    from tensorflow.core.protobuf import saved_model_pb2

    root = safe_extract(path, work / "savedmodel", name)
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((root / "saved_model.pb").read_bytes())
    ops = set()
    for graph in proto.meta_graphs:
        ops |= {node.op for node in graph.graph_def.node}
        for function in graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    bad = sorted(ops & DENIED_OPS)
    if bad:
        raise UntrustedModelError(
            f"{name}: the SavedModel graph uses {', '.join(bad)} (files or Python); refused"
        )
    layer = keras.layers.TFSMLayer(str(root), call_endpoint="serving_default")
    import tensorflow as tf

    loaded = tf.saved_model.load(str(root))
    signature = loaded.signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    if len(specs) != 1:
        raise UntrustedModelError(f"{name}: the serving signature has {len(specs)} inputs")
    (spec,) = specs.values()
    outs = signature.structured_outputs
    if isinstance(outs, dict) and len(outs) != 1:
        raise UntrustedModelError(f"{name}: the serving signature has {len(outs)} outputs")
    out_spec = next(iter(outs.values())) if isinstance(outs, dict) else outs

    def run(x):
        y = layer(x)
        if isinstance(y, dict):
            (y,) = y.values()
        return np.asarray(y)

    info = {
        "input_shape": [int(d) if d is not None else None for d in spec.shape[1:]],
        "output_shape": [int(d) if d is not None else None for d in out_spec.shape[1:]],
        "layers": 0,
        "notes": ["served through keras.layers.TFSMLayer (endpoint serving_default)"],
    }
    return run, info


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
