"""Training on several devices: tf.distribute.MirroredStrategy over a run's GPUs (or logical CPUs).

One process, N replicas: every replica holds a copy of the weights, gets batch_size / N examples
of each global batch (Keras splits the tf.data batches), and the gradients are summed across
replicas before one optimizer step, so the steps per epoch stay those of one device. Called in the
worker after core.devices.apply_device_settings and before any model is built: the strategy is
set for the whole process (`tf.distribute.experimental_set_strategy`), so the model, optimizer and
metrics built afterwards live on every replica without a `with strategy.scope()` block around
them. What works with the pinned TensorFlow/Keras, and what does not, is in docs/architecture.md.
"""

from __future__ import annotations

from core.config import DeviceSettings


def mirrored_devices(settings: DeviceSettings) -> list[str]:
    """The logical devices to mirror over: all visible GPUs, else the CPU's test replicas."""
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if gpus:
        return gpus
    if settings.cpu_replicas > 1:
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    return []


def install_strategy(settings: DeviceSettings, batch_size: int) -> list[str]:
    """Set a MirroredStrategy for this process when there are 2+ devices; returns notes."""
    import tensorflow as tf

    devices = mirrored_devices(settings)
    if len(devices) < 2:
        return []
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    tf.distribute.experimental_set_strategy(strategy)
    replicas = strategy.num_replicas_in_sync
    per_replica = batch_size / replicas
    split = (
        f"{per_replica:.0f} examples per replica"
        if batch_size % replicas == 0
        else f"about {per_replica:.1f} examples per replica (the batch does not divide evenly)"
    )
    return [
        f"MirroredStrategy over {replicas} devices ({', '.join(_short(d) for d in devices)}): "
        f"each batch of {batch_size} is split into {split}"
    ]


def replica_count() -> int:
    """Replicas of the strategy in force (1 without one)."""
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _short(device: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:1' -> 'GPU:1'."""
    return device.rsplit("device:", 1)[-1]
