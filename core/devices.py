"""Apply a run's device settings (GPUs, memory, mixed precision, XLA, placement log) in its worker.

`apply_device_settings` must run before any other TensorFlow work in the process: TensorFlow
fixes visible devices, memory growth/limits (MB) and logical CPUs when it first initialises them.
On a machine without GPUs the GPU settings are reported as not applicable; nothing pretends a GPU
exists. GPU indices in a config are the machine's (nvidia-smi's numbering), mapped through
CUDA_VISIBLE_DEVICES when that is set.
"""

from __future__ import annotations

import os

from core.config import DeviceSettings

# Set by a scheduler for "any free GPU": the machine's GPU indices it gave this run, e.g. "0,2".
ASSIGNED_GPUS_ENV = "TFLAB_ASSIGNED_GPUS"


def requested_gpu_count(settings: DeviceSettings) -> int:
    """How many GPUs the run asks for: 0 = CPU only (what a scheduler reserves)."""
    if settings.visible_gpus is not None:
        return len(settings.visible_gpus)
    return settings.gpu_count


def describe(devices: dict | None) -> str:
    """A run config's device settings in one line, e.g. "GPUs: any free GPU · mixed_bfloat16"."""
    d = DeviceSettings(**(devices or {}))
    if d.visible_gpus is None:
        gpus = "any free GPU" if d.gpu_count == 1 else f"any {d.gpu_count} free GPUs"
    else:
        gpus = ", ".join(f"GPU {i}" for i in d.visible_gpus) or "CPU only"
    parts = [f"GPUs: {gpus}"]
    if d.memory_limit_mb:
        parts.append(f"memory limit {d.memory_limit_mb} MB")
    elif not d.memory_growth:
        parts.append("all GPU memory at start")
    parts.append("float32" if d.mixed_precision == "off" else d.mixed_precision)
    parts.append({None: "XLA auto", True: "XLA on", False: "XLA off"}[d.jit_compile])
    if d.log_device_placement:
        parts.append("placement log")
    if d.oom_backoff:
        parts.append(f"out-of-memory back-off to batch {d.oom_min_batch_size}")
    if d.cpu_replicas > 1:
        parts.append(f"{d.cpu_replicas} logical CPUs")
    return " · ".join(parts)


def apply_device_settings(settings: DeviceSettings) -> list[str]:
    """Configure TensorFlow's devices; returns human-readable notes of what was done."""
    import tensorflow as tf

    notes: list[str] = []
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        chosen = _choose_gpus(gpus, settings, notes)
        tf.config.set_visible_devices(chosen, "GPU")
        for gpu in chosen:
            if settings.memory_limit_mb:
                tf.config.set_logical_device_configuration(
                    gpu,
                    [tf.config.LogicalDeviceConfiguration(memory_limit=settings.memory_limit_mb)],
                )
            elif settings.memory_growth:
                tf.config.experimental.set_memory_growth(gpu, True)
        memory = (
            f"memory limit {settings.memory_limit_mb} MB per GPU"
            if settings.memory_limit_mb
            else ("memory growth on" if settings.memory_growth else "all GPU memory reserved")
        )
        if chosen:
            names = ", ".join(g.name for g in chosen)
            notes.append(f"using {len(chosen)} GPU(s): {names}; {memory}")
        else:
            notes.append("no GPU used (CPU only): training on CPU")
        gpus = chosen
    else:
        notes.append("no GPU found: training on CPU")
        if settings.visible_gpus:
            notes.append(f"requested GPUs {settings.visible_gpus} are not present")
        if settings.memory_limit_mb:
            notes.append("memory limit skipped: it applies to GPUs only")
    if settings.cpu_replicas > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(settings.cpu_replicas)]
        )
        notes.append(f"CPU split into {settings.cpu_replicas} logical devices (testing)")
    notes += _mixed_precision(settings.mixed_precision, has_gpu=bool(gpus))
    if settings.jit_compile is not None:
        notes.append(f"XLA compilation (jit_compile) {'on' if settings.jit_compile else 'off'}")
    if settings.log_device_placement:
        tf.debugging.set_log_device_placement(True)
        notes.append("device placement logging on: each op's device goes to worker.log")
    return notes


def compile_options(settings: DeviceSettings) -> dict:
    """Keyword arguments for Model.compile: XLA on, off, or Keras' "auto"."""
    return {"jit_compile": "auto" if settings.jit_compile is None else settings.jit_compile}


def xla_notes(model, settings: DeviceSettings) -> list[str]:
    """After compile: say so when XLA was asked for but Keras turned it off for this model."""
    if settings.jit_compile is not True or model.jit_compile:
        return []
    blockers = [layer.name for layer in _all_layers(model) if not layer.supports_jit]
    return [
        "XLA requested but not used: Keras cannot compile "
        + (", ".join(blockers) if blockers else "this model")
        + " with XLA (random augmentation layers: set their amounts to 0 in the model settings)"
    ]


def _all_layers(model) -> list:
    """Every layer, nested models' layers included (public `layers` only)."""
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        out += _all_layers(layer)
    return out


def keep_outputs_float32(model) -> list[str]:
    """Under a mixed policy, compute the model's output layers in float32 (stable softmax/loss).

    Returns notes naming the layers changed; does nothing under a float32 policy.
    """
    import keras

    if keras.mixed_precision.global_policy().name == "float32":
        return []
    outputs = [id(t) for t in model.outputs]
    changed = []
    for layer in model.layers:
        try:
            produced = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # layers used several times have no single output
            continue
        if any(id(t) in outputs for t in produced) and layer.dtype_policy.name != "float32":
            layer.dtype_policy = "float32"
            changed.append(layer.name)
    return [f"output layer(s) kept in float32: {', '.join(changed)}"] if changed else []


def _mixed_precision(policy: str, has_gpu: bool) -> list[str]:
    if policy == "off":
        return []
    import keras

    keras.mixed_precision.set_global_policy(policy)
    note = f"mixed precision: {policy} (weights float32, output layer float32)"
    if not has_gpu and policy == "mixed_float16":
        note += "; on a CPU float16 math is emulated and slower than float32"
    elif not has_gpu:
        note += "; on a CPU without bfloat16 instructions this is slower than float32"
    return [note]


def _choose_gpus(gpus: list, settings: DeviceSettings, notes: list[str]) -> list:
    """The physical devices to use, from the config's indices, the scheduler's, or the first N."""
    wanted = settings.visible_gpus
    assigned = os.environ.get(ASSIGNED_GPUS_ENV, "").strip()
    if wanted is None and assigned:
        wanted = [int(i) for i in assigned.split(",") if i.strip().isdigit()]
        notes.append(f"GPU(s) {wanted} assigned by the scheduler")
    if wanted is None:
        return gpus[: settings.gpu_count]
    return _pick(gpus, _tf_positions(wanted), notes, shown=wanted)


def _tf_positions(indices: list[int]) -> list[int]:
    """Machine GPU indices -> TensorFlow's positions, when CUDA_VISIBLE_DEVICES reorders them."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    order = [int(i) for i in visible.split(",") if i.strip().isdigit()] if visible else []
    if not order:
        return list(indices)
    return [order.index(i) if i in order else -1 - i for i in indices]


def _pick(gpus: list, indices: list[int], notes: list[str], shown: list[int] | None = None) -> list:
    shown = indices if shown is None else shown
    chosen = [gpus[i] for i in indices if 0 <= i < len(gpus)]
    missing = [s for i, s in zip(indices, shown, strict=True) if not 0 <= i < len(gpus)]
    if missing:
        notes.append(f"GPU index(es) {missing} do not exist; {len(gpus)} GPU(s) present")
    return chosen
