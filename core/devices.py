"""Apply GPU settings (visible devices, memory growth or limit, mixed precision) in a worker.

Must run before any other TensorFlow work in the process. On a machine without GPUs every
setting is reported as not applicable; nothing pretends a GPU exists.
"""

from __future__ import annotations

from core.config import DeviceSettings


def apply_device_settings(settings: DeviceSettings) -> list[str]:
    """Configure TensorFlow's devices; returns human-readable notes of what was done."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    notes: list[str] = []
    if not gpus:
        notes.append("no GPU found: training on CPU")
        if settings.visible_gpus:
            notes.append(f"requested GPUs {settings.visible_gpus} are not present")
        if settings.mixed_precision:
            notes.append("mixed precision skipped: it only speeds up GPUs")
        return notes
    chosen = gpus if settings.visible_gpus is None else _pick(gpus, settings.visible_gpus, notes)
    tf.config.set_visible_devices(chosen, "GPU")
    for gpu in chosen:
        if settings.memory_limit_mb:
            tf.config.set_logical_device_configuration(
                gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=settings.memory_limit_mb)]
            )
        elif settings.memory_growth:
            tf.config.experimental.set_memory_growth(gpu, True)
    notes.append(f"using {len(chosen)} GPU(s): {', '.join(g.name for g in chosen) or 'none'}")
    if settings.mixed_precision and chosen:
        import keras

        keras.mixed_precision.set_global_policy("mixed_float16")
        notes.append("mixed precision: mixed_float16")
    return notes


def _pick(gpus: list, indices: list[int], notes: list[str]) -> list:
    chosen = [gpus[i] for i in indices if 0 <= i < len(gpus)]
    missing = [i for i in indices if not 0 <= i < len(gpus)]
    if missing:
        notes.append(f"GPU index(es) {missing} do not exist; {len(gpus)} GPU(s) present")
    return chosen
