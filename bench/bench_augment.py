"""Augmentation throughput: the tf.data pipeline vs what the default CNN consumes (target >= 3x).

    .venv/bin/python bench/bench_augment.py [--rounds 5] [--budget 60]

On the built-in `shapes` training split (2,100 images, 32x32x3) with a representative 5-op
pipeline (random flip, random crop, rotation, brightness, contrast), batch 64:

  1. tf.data:   cache -> shuffle -> core.augment.pipeline.augment_dataset (parallel,
                deterministic map, one seed per example and epoch) -> batch -> prefetch,
                iterated without a model;
  2. model:     images/s the default CNN (core.models.registry.build_model("cnn")) trains on,
                measured with
                model.fit on already-augmented, cached batches (so augmentation costs nothing);
  3. numpy:     a plain Python generator doing the same five ops per image with numpy
                (bilinear warps, reflect padding) and np.random.Generator;
  4. on/off:    cache / parallel map / prefetch switched off one at a time, then all off, when
                only iterating; parallel map and prefetch switched off under model.fit with live
                augmentation (where augmentation and training share the cores).

Every measurement is one full pass (one epoch) over the 2,100 images (the model.fit ones over the
first --fit-images of them, 1,024 by default, to keep the run short); all of them run in turn,
round after round, so load from other processes on a shared machine hits them alike. Round 0 is a
warm-up (fills the cache, traces the map function and the train step); the median of the timed
rounds is reported, as wall-clock images/s and as images per CPU-second of this process (less
sensitive to other load). Rounds stop after --rounds, or once --budget seconds are spent (after at
least one timed round), so a run takes about 1.5 minutes on an idle 2-core machine and stays
near 3 minutes even on a heavily shared one. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.augment.pipeline import (  # noqa: E402
    AugmentPipeline,
    Brightness,
    Contrast,
    EpochSeedCallback,
    RandomCrop,
    RandomFlipLeftRight,
    Rotation,
    augment_dataset,
    element_seed,
)
from core.data.registry import load_dataset  # noqa: E402

BATCH = 64
SEED = 42
TARGET_RATIO = 3.0


def representative_pipeline() -> AugmentPipeline:
    return AugmentPipeline(
        [
            RandomFlipLeftRight(),
            RandomCrop(min_area=0.6, max_area=1.0),
            Rotation(max_degrees=15.0),
            Brightness(max_delta=0.2),
            Contrast(lower=0.8, upper=1.2),
        ]
    )


def tf_pipeline(x, y, pipeline, epoch_var, *, cache=True, parallel=True, prefetch=True):
    """(image, label) batches; the default is the configuration training uses."""
    ds = tf.data.Dataset.from_tensor_slices((x, y, np.arange(len(y), dtype=np.int64)))
    if cache:
        ds = ds.cache()
    ds = ds.shuffle(len(y), seed=SEED, reshuffle_each_iteration=True)
    if parallel:
        ds = augment_dataset(ds, pipeline, SEED, epoch_var)
    else:

        def augment(image, label, index):
            seed = element_seed(SEED, epoch_var, index)
            return pipeline.augment(image, seed), label

        ds = ds.map(augment)  # sequential: one element at a time
    ds = ds.batch(BATCH)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def iterate(ds, epoch_var):
    """One pass over a tf.data pipeline with the epoch variable set, no model."""

    def one_pass(epoch):
        epoch_var.assign(epoch)
        for _ in ds:
            pass

    return one_pass


def timed(one_pass):
    """one_pass(epoch) -> (wall seconds, process CPU seconds); the pass may return its own wall."""

    def run(epoch):
        wall, cpu = time.perf_counter(), time.process_time()
        own = one_pass(epoch)
        cpu = time.process_time() - cpu
        return (own if own is not None else time.perf_counter() - wall), cpu

    return run


# ----------------------------------------------------------------------------- numpy baseline


def np_warp(image: np.ndarray, a, b, c, d, tx, ty) -> np.ndarray:
    """Bilinear sample of input at (a x + b y + tx, c x + d y + ty), reflect padding."""
    h, w, _ = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = a * xx + b * yy + tx, c * xx + d * yy + ty
    x0, y0 = np.floor(xs), np.floor(ys)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]

    def reflect(i, n):
        i = np.mod(i.astype(np.int64), 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)

    x0i, x1i = reflect(x0, w), reflect(x0 + 1, w)
    y0i, y1i = reflect(y0, h), reflect(y0 + 1, h)
    top = image[y0i, x0i] * (1 - fx) + image[y0i, x1i] * fx
    bottom = image[y1i, x0i] * (1 - fx) + image[y1i, x1i] * fx
    return top * (1 - fy) + bottom * fy


def np_augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The representative pipeline with numpy, one image."""
    h, w, _ = image.shape
    if rng.random() < 0.5:
        image = image[:, ::-1]
    side = np.sqrt(rng.uniform(0.6, 1.0))
    top, left = rng.random() * (1 - side), rng.random() * (1 - side)
    image = np_warp(image, side, 0, 0, side, left * (w - 1), top * (h - 1))
    theta = np.deg2rad(rng.uniform(-15, 15))
    cos, sin = np.cos(theta), np.sin(theta)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    image = np_warp(image, cos, -sin, sin, cos, cx - cos * cx + sin * cy, cy - sin * cx - cos * cy)
    image = np.clip(image + rng.uniform(-0.2, 0.2), 0, 1)
    mean = image.mean(axis=(0, 1), keepdims=True)
    return np.clip((image - mean) * rng.uniform(0.8, 1.2) + mean, 0, 1).astype(np.float32)


def numpy_batches(x, y, epoch):
    """A plain Python generator: shuffled batches of numpy-augmented images."""
    rng = np.random.default_rng([SEED, epoch])
    order = rng.permutation(len(y))
    for start in range(0, len(order), BATCH):
        idx = order[start : start + BATCH]
        yield np.stack([np_augment(x[i], rng) for i in idx]), y[idx]


# ----------------------------------------------------------------------------- model side


def build_cnn(info):
    from core.models.registry import build_model

    model, _ = build_model("cnn", info.input_shape, info.num_classes)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit_epoch(model, ds, callbacks=()):
    """One training epoch per call; returns the epoch's wall time from on_epoch_begin to end."""
    clock = {}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock["start"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            clock["seconds"] = time.perf_counter() - clock["start"]

    def one_pass(epoch):
        cbs = [*callbacks, Clock()]
        model.fit(
            ds, initial_epoch=epoch, epochs=epoch + 1, verbose=0, shuffle=False, callbacks=cbs
        )
        return clock["seconds"]

    return one_pass


def pre_augmented(x, y, pipeline) -> tf.data.Dataset:
    """One epoch of augmented images, computed once and cached as batches."""
    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False)
    batches = [(b.numpy(), lb.numpy()) for b, lb in tf_pipeline(x, y, pipeline, epoch_var)]
    images = np.concatenate([b for b, _ in batches])
    labels = np.concatenate([lb for _, lb in batches])
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH).cache()
    return ds.prefetch(tf.data.AUTOTUNE)


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def measure(passes: dict, rounds: int, budget_s: float) -> dict[str, dict]:
    """Interleave the passes round by round (so machine load hits all alike); medians per pass.

    Round 0 is a warm-up (fills caches, traces functions) and is not counted. Stops after
    `rounds` counted rounds or once budget_s (warm-up included) is spent, after at least one.
    """
    samples = {name: [] for name in passes}
    start = time.perf_counter()
    for epoch in range(rounds + 1):
        if epoch >= 2 and time.perf_counter() - start > budget_s:
            break
        for name, run in passes.items():
            wall, cpu = run(epoch)
            if epoch:
                samples[name].append((wall, cpu))
    return {
        name: {
            "wall": statistics.median([w for w, _ in got]),
            "cpu": statistics.median([c for _, c in got]),
            "rounds": len(got),
        }
        for name, got in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after a warm-up)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for timed rounds")
    parser.add_argument(
        "--fit-images", type=int, default=1024, help="training images per model.fit epoch"
    )
    args = parser.parse_args(argv)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    keras.utils.set_random_seed(SEED)

    data = load_dataset("shapes")
    x, y = data.x_train, data.y_train
    n = len(y)
    pipeline = representative_pipeline()
    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False)

    variants = {
        "cache + parallel map + prefetch (training default)": {},
        "no cache": {"cache": False},
        "sequential map": {"parallel": False},
        "no prefetch": {"prefetch": False},
        "none of the three": {"cache": False, "parallel": False, "prefetch": False},
    }
    passes = {
        label: timed(iterate(tf_pipeline(x, y, pipeline, epoch_var, **kw), epoch_var))
        for label, kw in variants.items()
    }
    passes["numpy"] = timed(lambda e: sum(1 for _ in numpy_batches(x, y, e)) and None)
    xf, yf = x[: args.fit_images], y[: args.fit_images]  # model.fit passes: a shorter epoch
    passes["cnn"] = timed(fit_epoch(build_cnn(data.info), pre_augmented(xf, yf, pipeline)))
    fit_variants = {  # the same switches with the CNN consuming the batches
        "cache + parallel map + prefetch (training default)": "cnn_live",
        "sequential map": "cnn_live_sequential",
        "no prefetch": "cnn_live_no_prefetch",
    }
    switches = {"cnn_live": {}, "cnn_live_sequential": {"parallel": False}}
    switches["cnn_live_no_prefetch"] = {"prefetch": False}
    for key, kw in switches.items():
        live = tf_pipeline(xf, yf, pipeline, epoch_var, **kw)
        passes[key] = timed(fit_epoch(build_cnn(data.info), live, [EpochSeedCallback(epoch_var)]))
    got = measure(passes, args.rounds, args.budget)
    images = {name: len(yf) if name.startswith("cnn") else n for name in got}
    rate = {name: images[name] / m["wall"] for name, m in got.items()}
    cpu_rate = {name: images[name] / m["cpu"] for name, m in got.items()}
    default = next(iter(variants))
    tf_rate, model_rate = rate[default], rate["cnn"]

    print(
        f"## Augmentation throughput (shapes train split, {n} images 32x32x3 ({len(yf)} per "
        f"model.fit epoch), batch {BATCH}, "
        f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__})\n"
    )
    print("Pipeline:\n\n```\n" + str(pipeline) + "\n```\n")
    rows = [
        (default.replace(" (training default)", ""), default),
        ("plain Python generator, numpy per image", "numpy"),
        ("default CNN training, fit on pre-augmented cached batches", "cnn"),
        ("default CNN training, fit with live tf.data augmentation", "cnn_live"),
    ]
    print(
        table(
            ["what", "images/s (wall)", "vs CNN training", "images per CPU-second"],
            [
                [label, f"{rate[k]:,.0f}", f"{rate[k] / model_rate:.1f}x", f"{cpu_rate[k]:,.0f}"]
                for label, k in rows
            ],
        )
    )
    ratio = tf_rate / model_rate
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"\ntf.data / CNN = {ratio:.1f}x ({verdict} the >= {TARGET_RATIO:.0f}x target); "
        f"tf.data / numpy generator = {tf_rate / rate['numpy']:.1f}x\n"
    )
    variant_rows = [
        [label, "none (iterate only)", f"{rate[label]:,.0f}", f"{rate[label] / tf_rate:.2f}x"]
        + [f"{cpu_rate[label]:,.0f}"]
        for label in variants
    ]
    live_rate = rate["cnn_live"]
    variant_rows += [
        [label, "CNN model.fit", f"{rate[k]:,.0f}", f"{rate[k] / live_rate:.2f}x"]
        + [f"{cpu_rate[k]:,.0f}"]
        for label, k in fit_variants.items()
    ]
    headers = ["tf.data variant", "consumer", "images/s (wall)", "vs default", "per CPU-s"]
    print(table(headers, variant_rows))
    print(
        f"\nmedian of {got[default]['rounds']} interleaved rounds after a warm-up round; "
        f"load average {load_start:.1f} -> {os.getloadavg()[0]:.1f}; "
        f"total {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
