"""Helper process of core.device_inventory: `python -m core.device_probe [--gpus]` prints one JSON
object with TensorFlow's build (version, CUDA and cuDNN it was built for) and, with --gpus, the
GPUs TensorFlow sees (index, name, memory_total_mb when TensorFlow knows it; MB = 2**20 bytes).

Runs in its own short-lived process so that the dashboard never initialises a GPU itself.
"""

from __future__ import annotations

import json
import os
import sys


def probe(with_gpus: bool) -> dict:
    """The build info and (with_gpus) TensorFlow's view of the GPUs."""
    import keras
    import tensorflow as tf

    build = dict(tf.sysconfig.get_build_info())
    out = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cuda_build": bool(build.get("is_cuda_build")),
        "cuda": build.get("cuda_version"),
        "cudnn": build.get("cudnn_version"),
    }
    if with_gpus:
        gpus = []
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
        order = [int(i) for i in visible if i.strip().isdigit()]  # machine numbering
        for position, device in enumerate(tf.config.list_physical_devices("GPU")):
            index = order[position] if position < len(order) else position
            details = tf.config.experimental.get_device_details(device)
            gpus.append(
                {
                    "index": index,
                    "name": details.get("device_name", device.name),
                    "memory_total_mb": None,
                    "memory_used_mb": None,
                    "utilization_pct": None,
                    "temperature_c": None,
                    "pids": [],
                }
            )
        out["gpus"] = gpus
    return out


if __name__ == "__main__":
    print(json.dumps(probe("--gpus" in sys.argv[1:])))
