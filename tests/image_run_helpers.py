"""Test helpers: a finished image run written straight into a runs folder (no worker), and the
hostile model files (a real Lambda payload, a `.keras` zip bomb) the security tests use."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from core.runs import artifacts
from core.runs.store import RunStore
from tests.conftest import TINY


def save_image_run(root: Path, task: str = "classification", epochs: int = 2) -> str:
    """A succeeded run on digits (a tiny trained MLP or autoencoder); returns its id."""
    import keras

    from core.data.registry import load_dataset
    from core.models.registry import build_model

    data = load_dataset("digits")
    store = RunStore(root / "runs.sqlite")
    model_name = "mlp" if task == "classification" else "autoencoder"
    run_id = store.create_run({**TINY, "model": model_name})
    store.set_status(run_id, "succeeded")
    keras.utils.set_random_seed(0)
    model, settings = build_model(model_name, data.info.input_shape, data.info.num_classes)
    x, y = data.x_train[:400], data.y_train[:400]
    if task == "classification":
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=epochs, verbose=0, batch_size=32)
    else:
        model.compile("adam", "mse")
        model.fit(x, x, epochs=1, verbose=0, batch_size=32)
    folder = root / run_id
    meta = {
        "task": task,
        "model": model_name,
        "settings": settings,
        "dataset": "digits",
        "input_shape": list(data.info.input_shape),
        "class_names": list(data.info.class_names),
    }
    if task == "reconstruction":
        meta["noise_std"] = 0.2
    artifacts.write_json(folder, artifacts.MODEL_META, meta)
    artifacts.save_model(folder, model)
    return run_id


def evil_keras(path: Path, marker: Path) -> Path:
    """A `.keras` file whose Lambda layer creates `marker` when the model is rebuilt."""
    import keras

    inp = keras.Input((16, 16, 1))
    # the marker's path is a constant inside the marshalled code (no defaults, no closure)
    payload = eval(f"lambda t: (open({str(marker)!r}, 'w').close(), t)[1]")  # noqa: S307
    x = keras.layers.Lambda(payload)(inp)
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    keras.Model(inp, out).save(path)
    marker.unlink(missing_ok=True)  # building the model ran the payload once; saving does not
    return path


def keras_zip_bomb(path: Path, member_mib: int = 64) -> Path:
    """A `.keras`-shaped zip whose weights member expands from ~64 kB to member_mib MiB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
        archive.writestr("metadata.json", "{}")
        with archive.open("model.weights.h5", "w") as member:
            block = np.zeros(1 << 20, np.uint8).tobytes()
            for _ in range(member_mib):
                member.write(block)
    return path


def keras_many_members(path: Path, members: int = 5000) -> Path:
    """A `.keras`-shaped zip with thousands of tiny members."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        for i in range(members):
            archive.writestr(f"assets/{i}.txt", "")
    return path
