"""Batch prediction and TFLite latency of a run's model, measured side by side in one process.

    python bench/bench_predict_export.py --run RUN_ID [--repeats 5]

(1) images/s of the Predict page's path for many uploads (core.tasks.image_predict:
prepare_images on PNG bytes, then predict_top_k) against model.predict on the same decoded
arrays (target ratio >= 0.9 for the prediction step; decoding is reported separately);
(2) latency per image, batch 1, of the float and dynamic-range TFLite exports against the Keras
model called directly. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import paths  # noqa: E402
from core.data.registry import load_dataset  # noqa: E402
from core.runs.export_model import export_run, tflite_interpreter  # noqa: E402
from core.tasks.image_predict import load_run_model, predict_top_k, prepare_images  # noqa: E402


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run_dir = paths.run_dir(args.run)
    loaded = load_run_model(run_dir)
    x = load_dataset(loaded.dataset).x_test
    n = len(x)
    files = []
    for i, image in enumerate(x):
        buffer = io.BytesIO()
        Image.fromarray((image[..., 0] * 255).astype(np.uint8)).save(buffer, format="PNG")
        files.append((f"{i}.png", buffer.getvalue()))
    decoded = np.stack([p.array for p in prepare_images(files, loaded.input_shape)])
    predict_top_k(loaded, decoded[:8])  # warm up
    direct = best(lambda: loaded.model.predict(decoded, verbose=0, batch_size=256), args.repeats)
    ours = best(lambda: predict_top_k(loaded, decoded, k=3), args.repeats)
    decode = best(lambda: prepare_images(files, loaded.input_shape), 2)
    out = {"images": n, "direct_images_per_s": n / direct, "predict_top_k_images_per_s": n / ours}
    out["ratio"] = direct / ours
    out["decode_images_per_s"] = n / decode
    sample = decoded[:200]
    keras_call = best(lambda: [loaded.model(s[None], training=False) for s in sample], 2)
    out["keras_ms_per_image"] = 1000 * keras_call / len(sample)
    with tempfile.TemporaryDirectory() as tmp:
        for quantize in (None, "dynamic"):
            path = Path(tmp) / f"m-{quantize}.tflite"
            result = export_run(run_dir, "tflite", path, quantize)
            interpreter = tflite_interpreter(path.read_bytes())
            interpreter.allocate_tensors()
            (inp,), (res,) = interpreter.get_input_details(), interpreter.get_output_details()

            def run(interpreter=interpreter, inp=inp, res=res):
                for s in sample:
                    interpreter.set_tensor(inp["index"], s[None])
                    interpreter.invoke()
                    interpreter.get_tensor(res["index"])

            key = f"tflite_{quantize or 'float'}"
            out[f"{key}_ms_per_image"] = 1000 * best(run, 2) / len(sample)
            out[f"{key}_bytes"] = result.bytes
            out[f"{key}_accuracy_diff"] = result.accuracy_diff
    print(json.dumps(out))


if __name__ == "__main__":
    main()
