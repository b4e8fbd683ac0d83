"""Transfer learning: a keras.applications base (MobileNetV2 or EfficientNetB0) and a new head.

Never downloads. ImageNet weights are used when the file Keras would download is already in the
Keras cache ($KERAS_HOME/models, ~/.keras/models or /tmp/.keras/models) or when settings
`weights_path` names a weights file; otherwise the base starts from random initialisation and a
note says so. Input (batch, h, w, c) float32 in [0, 1]: resized up to at least 32x32, one
channel repeated to three, rescaled to what the base expects. Output (batch, classes) softmax.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BASES = ("mobilenet_v2", "efficientnet_b0")
MIN_SIZE = 32  # smallest input keras.applications accepts for these bases
MOBILENET_ROWS = (96, 128, 160, 192, 224)  # resolutions with published ImageNet weights


@dataclass
class TransferSettings:
    """Which base, where its weights come from, whether it trains, and the head."""

    base: str = "mobilenet_v2"  # mobilenet_v2 | efficientnet_b0
    weights: str = "imagenet"  # imagenet (from the cache or weights_path) | none (random)
    weights_path: str = ""  # a .h5 / .weights.h5 file of the base (no classification top)
    trainable_base: bool = False  # False: only the head trains (feature extraction)
    image_size: int = MIN_SIZE  # inputs are resized to max(image_size, h, w), at least 32
    alpha: float = 1.0  # MobileNetV2 width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
    dropout: float = 0.2  # before the output layer


def cache_dirs() -> list[Path]:
    """Folders where Keras keeps downloaded application weights, most specific first."""
    dirs = []
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]) / "models")
    dirs += [Path.home() / ".keras" / "models", Path("/tmp/.keras/models")]
    return list(dict.fromkeys(dirs))


def weight_file_names(settings: TransferSettings, size: int) -> list[str]:
    """File names Keras gives the no-top ImageNet weights of this base, best match first."""
    if settings.base == "efficientnet_b0":
        return ["efficientnetb0_notop.h5"]
    rows = sorted(MOBILENET_ROWS, key=lambda r: (abs(r - size), -r))
    return [
        f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(settings.alpha)}_{r}_no_top.h5"
        for r in rows
    ]


def find_cached_weights(settings: TransferSettings, size: int) -> Path | None:
    """The first cached ImageNet weights file for this base, or None."""
    for folder in cache_dirs():
        for name in weight_file_names(settings, size):
            if (folder / name).is_file():
                return folder / name
    return None


def make_base(settings: TransferSettings, size: int):
    """The randomly initialised base model for (size, size, 3) inputs, named 'base'."""
    from keras import applications

    shape = (size, size, 3)
    if settings.base == "mobilenet_v2":
        base = applications.MobileNetV2(
            input_shape=shape, include_top=False, weights=None, alpha=settings.alpha
        )
    else:
        base = applications.EfficientNetB0(input_shape=shape, include_top=False, weights=None)
    base.name = "base"
    return base


def load_base_weights(base, settings: TransferSettings, size: int) -> tuple[bool, list[str]]:
    """Load ImageNet/user weights into `base` if available; (loaded, notes)."""
    if settings.weights == "none" and not settings.weights_path:
        return False, [f"{settings.base}: random initialisation (weights='none')"]
    if settings.weights_path:
        path = Path(settings.weights_path).expanduser()
        if not path.is_file():
            raise ValueError(f"weights_path {str(path)!r} does not exist")
        source = f"weights_path {path}"
    else:
        path = find_cached_weights(settings, size)
        if path is None:
            wanted = weight_file_names(settings, size)[0]
            where = ", ".join(str(d) for d in cache_dirs())
            return False, [
                f"{settings.base}: no ImageNet weights found (looked for {wanted} in {where}); "
                "the base starts from random initialisation. Nothing is downloaded: copy the "
                "file into the Keras cache or set weights_path."
            ]
        source = f"the Keras cache ({path})"
    try:
        base.load_weights(str(path))
    except Exception as err:  # noqa: BLE001 - any reader error becomes a user message
        raise ValueError(f"could not load {settings.base} weights from {path}: {err}") from err
    return True, [f"{settings.base}: weights loaded from {source}"]


def build_transfer(input_shape, num_classes, settings: TransferSettings):
    """(model, notes): the classifier and what happened to the base's weights and inputs."""
    import keras
    from keras import layers

    if settings.base not in BASES:
        raise ValueError(f"base must be one of: {', '.join(BASES)} (got {settings.base!r})")
    if settings.weights not in ("imagenet", "none"):
        raise ValueError(f"weights must be 'imagenet' or 'none' (got {settings.weights!r})")
    height, width, channels = input_shape
    size = max(MIN_SIZE, settings.image_size, height, width)
    notes: list[str] = []
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if (height, width) != (size, size):
        x = layers.Resizing(size, size, name="resize")(x)
        notes.append(f"input resized from {height}x{width} to {size}x{size}")
    if channels == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
        notes.append("one channel repeated to three")
    elif channels != 3:
        x = layers.Conv2D(3, 1, name="to_rgb")(x)
        notes.append(f"{channels} channels mapped to three by a trainable 1x1 convolution")
    if settings.base == "mobilenet_v2":
        x = layers.Rescaling(2.0, offset=-1.0, name="to_unit_range")(x)  # [0, 1] -> [-1, 1]
    else:
        x = layers.Rescaling(255.0, name="to_pixel_range")(x)  # EfficientNet normalises itself
    base = make_base(settings, size)
    loaded, weight_notes = load_base_weights(base, settings, size)
    notes += weight_notes
    base.trainable = settings.trainable_base
    notes.append("base trainable (fine-tuning)" if settings.trainable_base else "base frozen")
    # A pretrained base keeps its batch-norm statistics (inference mode), as Keras advises.
    x = base(x, training=False) if loaded else base(x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    if settings.dropout:
        x = layers.Dropout(settings.dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="transfer"), notes


def transfer_base(model):
    """The nested base model of a transfer classifier."""
    return model.get_layer("base")
