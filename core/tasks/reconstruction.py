"""Image reconstruction task (denoising autoencoder): noisy image in, clean image out.

Inputs (batch, h, w, c) float32 in [0, 1]: the clean image plus Gaussian noise of standard
deviation `config.data_settings['noise_std']` (ReconstructionSettings, default 0.2), clipped to
[0, 1]; targets are the clean images. The noise is drawn once per split from the run's seed,
so a run is repeatable. Loss mean squared error, metric mean absolute error (both in pixel
units of [0, 1]).
"""

from __future__ import annotations

import numpy as np

from core.config import RunConfig
from core.data.registry import load_dataset
from core.models.registry import build_model
from core.tasks.base import PreparedTask
from core.tasks.classification import choose_splits, fingerprint
from core.tasks.settings import ReconstructionSettings

SPLIT_OFFSETS = {"train": 0, "validation": 1, "test": 2}  # per-split noise seeds: seed + offset


def add_noise(images: np.ndarray, noise_std: float, seed: int) -> np.ndarray:
    """images + N(0, noise_std^2), clipped to [0, 1]; the same seed gives the same noise."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, noise_std, size=images.shape).astype(np.float32)
    return np.clip(images.astype(np.float32) + noise, 0.0, 1.0)


def noise_std_of(config: RunConfig) -> float:
    """The configured noise level; ValueError if it is not a number >= 0."""
    return ReconstructionSettings.from_dict(config.data_settings).noise_std


def prepare(config: RunConfig) -> PreparedTask:
    import keras

    from core.data.pipeline import make_dataset, subsample

    if config.augmentation:
        raise ValueError(
            "augmentation is not supported for reconstruction yet (it would change the noisy "
            "input but not the clean target); remove it from the run's config"
        )
    std = noise_std_of(config)
    data = load_dataset(config.dataset)
    info = data.info
    x_train, y_train, x_val, y_val = choose_splits(data, config)
    x_train, y_train = subsample(x_train, y_train, config.max_train_examples, config.seed)
    if len(y_train) == 0:
        raise ValueError(f"dataset {config.dataset!r} has no training examples")

    def pairs(x: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
        return add_noise(x, std, config.seed + SPLIT_OFFSETS[split]), x.astype(np.float32)

    train_ds, extra_callbacks = make_dataset(
        *pairs(x_train, "train"),
        config.batch_size,
        training=True,
        seed=config.seed,
        shuffle_buffer=config.shuffle_buffer,
        with_callbacks=True,
    )
    val_ds = (
        make_dataset(*pairs(x_val, "validation"), config.batch_size, training=False)
        if len(x_val)
        else None
    )
    test_ds = (
        make_dataset(*pairs(data.x_test, "test"), config.batch_size, training=False)
        if len(data.x_test)
        else None
    )
    settings = config.model_overrides()
    model, used_settings = build_model(config.model, info.input_shape, info.num_classes, settings)
    if tuple(model.output_shape[1:]) != tuple(info.input_shape):
        raise ValueError(
            f"model {config.model!r} outputs {model.output_shape[1:]}, not an image of the "
            f"input shape {tuple(info.input_shape)}; reconstruction needs an autoencoder"
        )
    return PreparedTask(
        train_ds=train_ds,
        val_ds=val_ds,
        test_ds=test_ds,
        steps_per_epoch=-(-len(x_train) // config.batch_size),
        model=model,
        loss=keras.losses.MeanSquaredError(),
        metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
        meta={
            "task": "reconstruction",
            "model": config.model,
            "settings": used_settings,
            "dataset": config.dataset,
            "input_shape": list(info.input_shape),
            "class_names": list(info.class_names),
            "noise_std": std,
        },
        fingerprint=fingerprint(x_train, y_train),
        train_examples=int(len(x_train)),
        callbacks=extra_callbacks,
    )


def reconstruct(model, images: np.ndarray, noise_std: float, seed: int):
    """(noisy, reconstruction) of (n, h, w, c) images in [0, 1], both float32 of that shape."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[None]
    noisy = add_noise(images, noise_std, seed)
    reconstruction = np.asarray(model.predict(noisy, verbose=0), dtype=np.float32)
    return noisy, reconstruction


def reconstruction_errors(clean: np.ndarray, noisy: np.ndarray, restored: np.ndarray) -> dict:
    """Mean absolute error (pixel units of [0, 1]) of the noisy input and of the reconstruction,
    overall ("noisy", "restored") and per image ("per_image": (n,) restored errors)."""
    clean, noisy, restored = (np.asarray(a, np.float32) for a in (clean, noisy, restored))
    axes = tuple(range(1, clean.ndim))
    return {
        "noisy": float(np.mean(np.abs(noisy - clean))),
        "restored": float(np.mean(np.abs(restored - clean))),
        "per_image": np.mean(np.abs(restored - clean), axis=axes),
    }
