"""Augmentation ops, pipeline specs, seeds, and the promise that the preview is what fit sees."""

from __future__ import annotations

import dataclasses
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.augment.pipeline import (
    OPS,
    AugmentPipeline,
    Brightness,
    EpochSeedCallback,
    FlipLeftRight,
    GaussianNoise,
    Hue,
    RandomCrop,
    RandomErasing,
    RandomFlipLeftRight,
    Rotation,
    Saturation,
    Standardize,
    Translation,
    Transpose,
    augment_dataset,
    element_seed,
    preview,
)
from core.data.registry import load_dataset

SEEDS = [element_seed(7, 0, i) for i in range(8)]


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    """Two real 32x32 RGB images and two 16x16 grayscale digits, float32 in [0, 1]."""
    return {
        "rgb": load_dataset("shapes").x_train[:2],
        "gray": load_dataset("digits").x_train[:2],
    }


def strong(cls):
    """An instance whose random draws visibly change the image (for the seed tests)."""
    overrides = {
        "random_erasing": {"probability": 1.0, "min_area": 0.1, "max_area": 0.3},
        "hue": {"max_delta": 0.3},
        "gaussian_noise": {"stddev": 0.1},
        "rotation": {"max_degrees": 45.0},
    }
    return cls(**overrides.get(cls.NAME, {}))


def full_pipeline() -> AugmentPipeline:
    """Every op once (standardization must be last)."""
    ops = [cls() for name, cls in OPS.items() if name != "standardize"]
    return AugmentPipeline([*ops, Standardize()])


def run(op, image, seed):
    out, drawn = AugmentPipeline([op])(image, seed)
    return out.numpy(), drawn[0]


ALL = sorted(OPS)
KINDS = ["rgb", "gray"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ALL)
def test_op_keeps_shape_dtype_and_range(name, kind, images):
    op = strong(OPS[name])
    for image in images[kind]:
        for seed in SEEDS[:3]:
            out, _ = run(op, image, seed)
            assert out.shape == image.shape
            assert out.dtype == np.float32
            assert np.isfinite(out).all()
            if name != "standardize":
                assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ALL)
def test_op_is_deterministic_per_seed(name, kind, images):
    op, image = strong(OPS[name]), images[kind][0]
    first = [run(op, image, s)[0] for s in SEEDS]
    again = [run(op, image, s)[0] for s in SEEDS]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    random = bool(op.draw(SEEDS[0], image.shape)) and not (
        kind == "gray" and name in ("hue", "saturation")
    )
    distinct = {a.tobytes() for a in first}
    if random:
        assert len(distinct) > 1, f"{name} gives the same image for 8 different seeds"
    else:
        assert len(distinct) == 1, f"{name} should not depend on the seed"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ALL)
def test_op_in_tf_data_map_matches_eager(name, kind, images):
    pipeline = AugmentPipeline([strong(OPS[name])])
    x = images[kind]
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(len(x))))
    ds = ds.map(lambda im, i: pipeline.augment(im, element_seed(3, 1, i)))
    for i, out in enumerate(ds):
        assert out.shape == x[i].shape and out.dtype == tf.float32
        eager = pipeline.augment(x[i], element_seed(3, 1, i))
        np.testing.assert_allclose(out.numpy(), eager.numpy(), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ALL)
def test_draw_and_describe_give_readable_text(name, kind, images):
    op, image = strong(OPS[name]), images[kind][0]
    _, drawn = run(op, image, SEEDS[1])
    text = AugmentPipeline([op]).describe([drawn])[0]
    assert isinstance(text, str) and 3 <= len(text) <= 80
    assert "Tensor" not in text and "array" not in text
    assert text == text.strip()
    if kind == "gray" and name in ("hue", "saturation"):
        assert text == f"{name}: n/a for grayscale"


def test_describe_examples(images):
    rgb, gray = images["rgb"][0], images["gray"][0]

    def text(op, image, seed):
        return AugmentPipeline([op]).describe([run(op, image, seed)[1]])[0]

    assert re.fullmatch(r"brightness [+-]0\.\d\d", text(Brightness(), rgb, SEEDS[0]))
    flips = {text(RandomFlipLeftRight(), rgb, s) for s in SEEDS}
    assert flips == {"flipped left-right", "not flipped left-right"}
    assert Hue().describe({"delta": 0.1, "applies": 0.0}) == "hue: n/a for grayscale"
    np.testing.assert_array_equal(run(Hue(max_delta=0.4), gray, SEEDS[0])[0], gray)
    np.testing.assert_array_equal(run(Saturation(0.0, 0.1), gray, SEEDS[0])[0], gray)
    assert str(Brightness(max_delta=0.2)) == "Brightness(max_delta=0.2)"
    assert str(Rotation()) == "Rotation(max_degrees=15, fill_mode='reflect', fill_value=0)"
    assert str(AugmentPipeline([FlipLeftRight(), Brightness()])).splitlines() == [
        "FlipLeftRight()",
        "Brightness(max_delta=0.2)",
    ]


@pytest.mark.parametrize("name", ALL)
def test_slider_ranges_cover_every_setting(name):
    cls = OPS[name]
    assert cls.NAME == name and cls.LABEL
    op = cls()
    for f in dataclasses.fields(cls):
        value = getattr(op, f.name)
        if isinstance(value, str):
            assert value in cls.CHOICES[f.name]
            continue
        lo, hi, step = cls.PARAMS[f.name]
        assert lo <= value <= hi and 0 < step <= hi - lo, f.name
    assert set(cls.PARAMS) | set(cls.CHOICES) == {f.name for f in dataclasses.fields(cls)}


def test_geometry_directions():
    """Positive rotation is counter-clockwise; positive translation moves right / down."""
    image = np.zeros((33, 33, 1), np.float32)
    image[16, 28] = 1.0  # right of the centre
    rotated = Rotation(fill_mode="constant").apply(
        tf.constant(image), {"degrees": tf.constant(90.0)}
    )
    assert np.unravel_index(np.argmax(rotated), image.shape)[:2] == (4, 16)  # now above centre
    shifted = Translation(fill_mode="constant").apply(
        tf.constant(image), {"dx": tf.constant(2 / 33), "dy": tf.constant(-3 / 33)}
    )
    assert np.unravel_index(np.argmax(shifted), image.shape)[:2] == (13, 30)


def test_transpose_needs_square_image():
    with pytest.raises(ValueError, match="square"):
        Transpose().apply(tf.zeros((8, 12, 3)), {})


def test_spec_round_trip_of_full_pipeline(images):
    pipeline = full_pipeline()
    spec = json.loads(json.dumps(pipeline.to_spec()))
    assert [s["op"] for s in spec][-1] == "standardize" and len(spec) == len(OPS)
    again = AugmentPipeline.from_spec(spec)
    assert again == pipeline and str(again) == str(pipeline)
    assert len(str(pipeline).splitlines()) == len(OPS)
    seed = element_seed(5, 2, 9)
    np.testing.assert_array_equal(
        again.augment(images["rgb"][0], seed).numpy(),
        pipeline.augment(images["rgb"][0], seed).numpy(),
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"op": "brightness"}, "list of steps"),
        ([{"op": "blur"}], "step 1: unknown op 'blur'; known ops: flip_left_right"),
        (["brightness"], "step 1: expected a dict with an 'op' key"),
        ([{"max_delta": 0.1}], "expected a dict with an 'op' key"),
        ([{"op": "hue"}, {"op": "brightness", "delta": 1}], r"step 2 \(brightness\): unknown"),
        ([{"op": "brightness", "max_delta": 2.0}], r"max_delta=2 is outside \[0, 0.5\]"),
        ([{"op": "brightness", "max_delta": "big"}], "must be a number"),
        ([{"op": "contrast", "lower": 1.5, "upper": 1.0}], "lower must not exceed upper"),
        ([{"op": "rotation", "fill_mode": "mirror"}], "fill_mode must be one of"),
        ([{"op": "standardize"}, {"op": "hue"}], "standardization must be the last op"),
    ],
)
def test_from_spec_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        AugmentPipeline.from_spec(spec)


def test_element_seed():
    seed = element_seed(2**40 + 3, 1, 5)
    assert seed.shape == (2,) and seed.dtype == tf.int64
    seen = {tuple(element_seed(1, e, i).numpy()) for e in range(3) for i in range(50)}
    assert len(seen) == 150
    var = tf.Variable(2, dtype=tf.int64)
    np.testing.assert_array_equal(element_seed(1, var, 4), element_seed(1, 2, 4))


def test_preview_structure(images):
    pipeline = AugmentPipeline([Brightness(), RandomCrop(), GaussianNoise()])
    grid = preview(pipeline, images["rgb"], seed=11, variants=3)
    assert len(grid) == 2 and all(len(row) == 3 for row in grid)
    image, lines = grid[1][2]
    assert image.shape == (32, 32, 3) and len(lines) == 3
    assert not np.array_equal(grid[0][0][0], grid[0][1][0])
    np.testing.assert_array_equal(
        image, pipeline.augment(images["rgb"][1], element_seed(11, 2, 1)).numpy()
    )
    by_index = preview(pipeline, images["rgb"][1:], seed=11, variants=3, indices=[1])
    np.testing.assert_array_equal(by_index[0][2][0], image)


def test_preview_equals_what_model_fit_sees():
    """Every element fit trains on in epoch e read epoch e and equals preview variant e."""
    n, batch, epochs, base_seed = 12, 4, 3, 2024
    x = load_dataset("shapes").x_train[:n]
    pipeline = AugmentPipeline(
        [
            RandomFlipLeftRight(),
            Brightness(),
            Hue(),
            Rotation(max_degrees=30.0),
            RandomCrop(),
            GaussianNoise(stddev=0.02),
            RandomErasing(),
        ]
    )
    epoch_var = tf.Variable(-1, dtype=tf.int64, trainable=False)  # -1 shows up if read too early
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(n), np.arange(n))).cache()
    ds = ds.shuffle(n, seed=1, reshuffle_each_iteration=True)
    ds = augment_dataset(ds, pipeline, base_seed, epoch_var)
    ds = ds.map(lambda im, index: (im, tf.stack([index, epoch_var.read_value()])))
    ds = ds.batch(batch).prefetch(tf.data.AUTOTUNE)

    records = []  # (epoch fit was in, example index, epoch the data pipeline read, image)
    clock = {"epoch": None}

    class Recorder(keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.dense = keras.layers.Dense(1)

        def call(self, inputs):
            return self.dense(self.flatten(inputs))

        def train_step(self, data):
            images, meta = data
            tf.py_function(record, [images, meta], [])
            return super().train_step((images, tf.zeros([tf.shape(images)[0], 1])))

    def record(images, meta):
        for image, (index, read) in zip(images.numpy(), meta.numpy(), strict=True):
            records.append((clock["epoch"], int(index), int(read), image))

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock["epoch"] = epoch

    model = Recorder()
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    model.fit(
        ds,
        epochs=epochs,
        verbose=0,
        shuffle=False,
        callbacks=[EpochSeedCallback(epoch_var), Clock()],
    )

    assert len(records) == n * epochs
    expected = preview(pipeline, x, seed=base_seed, variants=epochs)
    for epoch in range(epochs):
        assert sorted(r[1] for r in records if r[0] == epoch) == list(range(n))
    orders = [[r[1] for r in records if r[0] == e] for e in range(epochs)]
    assert orders[0] != orders[1], "the shuffle should change the order between epochs"
    for epoch, index, read, image in records:
        assert read == epoch, f"example {index} in epoch {epoch} was augmented with epoch {read}"
        np.testing.assert_allclose(image, expected[index][epoch][0], atol=1e-6)
    assert not np.allclose(expected[0][0][0], expected[0][1][0])  # variants really differ
