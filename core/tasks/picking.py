"""Phase-picking task: labelled waveform windows -> tf.data pipelines, PhaseNet, loss, metrics.

Inputs (batch, window, 3) float32 raw E, N, Z (the model normalises each window itself, see
core.models.zoo.phasenet); targets (batch, window, 3) float32 [noise, P, S] label curves.

config.dataset: a name of core.seismic.sources (`synthetic`, `phasenet:<folder>`, ...) or several
mixed, `mix:synthetic+phasenet:ncedc-sample` (same sampling rate; windows may differ in length).
config.data_settings (all optional; core.tasks.settings.PickingSettings):
  window         3001   samples per training window (the model's input length)
  label_shape    gaussian | box | triangle (core.seismic.labels)
  label_width    10     samples (gaussian: standard deviation; box/triangle: half width)
  crop_margin_s  0.5    training crops keep P (and S if both fit) this far from the crop edges
  class_weights  None   [noise, P, S] weights of the cross-entropy, e.g. [1, 5, 5]

Training windows are cropped at a random position around the picks, drawn anew every epoch from
(seed, epoch, index) only, so the model cannot learn a fixed arrival position (P is at sample
3000 in every PhaseNet NCEDC file). config.augmentation (a core.seismic.waveform_augment spec) is
applied to the whole source window first, with the same element_rng(seed, epoch, index) the
preview page uses, then the crop is taken. Validation and test windows get one fixed crop each, no
augmentation. A superpose_event step draws its second events from the (first) training set.
The augmentation index is the window's position in the training list (after
max_train_examples subsampling), as on the preview page when nothing is subsampled.
Pick F1 in training is a per-window proxy (see PickF1); core.seismic.evaluation scores picks.
Each epoch also logs pick precision, recall and F1 on the validation windows (val_p_f1_0.5s, ...)
and model.json gets the best-F1 thresholds (core.tasks.pick_scores).
config.init_from / freeze_encoder start the model from another picker run (core.tasks.init_from).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from core.config import RunConfig
from core.data.registry import mix_parts
from core.models.registry import MODELS, ModelError, build_model
from core.models.zoo.phasenet import PhaseNetSettings, build_phasenet
from core.seismic import sources as waveform_sources
from core.seismic.labels import CLASS_NAMES, make_labels
from core.seismic.waveform_augment import WaveformPipeline, element_rng
from core.tasks.base import PreparedTask
from core.tasks.init_from import (
    effective_data_settings,
    effective_settings,
    init_weights,
    source_meta,
)
from core.tasks.pick_scores import PickScoreCallback, best_thresholds
from core.tasks.settings import PickingSettings

MAX_SCORED = 300  # validation windows picked and scored per epoch (core.tasks.pick_scores)
EVAL_EPOCH = -1  # the "epoch" of the fixed validation/test crops
NOISE = (1.0, 0.0, 0.0)  # label of padding samples


@dataclass
class LabelledWindows:
    """Several WaveformSets (possibly of different lengths) indexed as one list of windows."""

    sets: list
    refs: np.ndarray  # (n, 2) int64: (set number, window number in that set)

    @classmethod
    def of(cls, sets: list) -> LabelledWindows:
        refs = [(k, j) for k, s in enumerate(sets) for j in range(len(s))]
        return cls(sets, np.asarray(refs, np.int64).reshape(-1, 2))

    def __len__(self) -> int:
        return len(self.refs)

    def window(self, i: int):
        k, j = self.refs[i]
        return self.sets[int(k)].window(int(j))

    def subset(self, idx: np.ndarray) -> LabelledWindows:
        return LabelledWindows(self.sets, self.refs[np.asarray(idx, np.int64)])


def load_splits(name: str) -> tuple[LabelledWindows, LabelledWindows, LabelledWindows, float]:
    """(train, validation, test, sampling rate) of one dataset or a `mix:` of several."""

    loaded = [waveform_sources.load_waveform_dataset(n) for n in mix_parts(name)]
    rates = {float(d.train.sampling_rate) for d in loaded}
    if len(rates) != 1:
        raise ValueError(f"{name}: the datasets have different sampling rates {sorted(rates)} Hz")
    return (
        LabelledWindows.of([d.train for d in loaded]),
        LabelledWindows.of([d.val for d in loaded]),
        LabelledWindows.of([d.test for d in loaded]),
        rates.pop(),
    )


def data_settings(config: RunConfig) -> PickingSettings:
    """config.data_settings as checked PickingSettings (ValueError names what is wrong); with
    init_from, the source run's window unless config sets one (core.tasks.init_from)."""
    return PickingSettings.from_dict(effective_data_settings(config))


def crop_start(
    samples: int,
    window: int,
    itp: int | None,
    its: int | None,
    rng: np.random.Generator,
    margin: int,
) -> int:
    """A random start in [0, samples - window] with P (and S if both fit) inside the crop."""
    last = samples - window
    if last <= 0:
        return 0
    lo, hi = 0, last
    anchors = [t for t in (itp, its) if t is not None and t >= 0]
    if len(anchors) == 2 and anchors[1] - anchors[0] > window - 2 * margin:
        anchors = anchors[:1]  # S too far behind P to fit too: keep P
    for t in anchors:
        lo, hi = max(lo, t + margin - window + 1), min(hi, t - margin)
    if lo > hi:  # margins do not fit: any crop that contains the first anchor, else anywhere
        lo = max(0, anchors[0] - window + 1) if anchors else 0
        hi = min(last, anchors[0]) if anchors else last
    return int(rng.integers(lo, hi + 1))


def fit_length(array: np.ndarray, window: int, start: int, fill=0.0) -> np.ndarray:
    """array[start : start + window], padded with `fill` rows when the source is shorter."""
    out = array[start : start + window]
    if len(out) < window:
        pad = np.broadcast_to(np.asarray(fill, out.dtype), (window - len(out),) + out.shape[1:])
        out = np.concatenate([out, pad])
    return out


def _pick_of(aug, name: str, labels: np.ndarray, column: int) -> int | None:
    """The (possibly shifted) arrival of an augmented window: its attribute, else the label peak."""
    value = getattr(aug, name, "absent")
    if value != "absent":
        return None if value is None or value < 0 else int(value)
    curve = labels[:, column]
    return int(np.argmax(curve)) if curve.max() >= 0.5 else None


class ExampleMaker:
    """(index, epoch) -> ((window, 3) data, (window, 3) labels), deterministic; numpy only."""

    def __init__(
        self, windows: LabelledWindows, settings: PickingSettings, seed: int, pipeline=None
    ):
        self.windows = windows
        self.settings = settings
        self.seed = int(seed)
        self.pipeline = pipeline

    def __call__(self, index: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        w = self.windows.window(int(index))
        shape, width, window = s.label_shape, s.label_width, s.window
        margin = int(round(s.crop_margin_s * w.sampling_rate))
        if self.pipeline is not None and epoch != EVAL_EPOCH:
            aug, _ = self.pipeline(w, element_rng(self.seed, int(epoch), int(index)))
            data = np.asarray(aug.data, np.float32)
            labels = np.asarray(aug.labels(shape, width), np.float32)
            itp, its = _pick_of(aug, "itp", labels, 1), _pick_of(aug, "its", labels, 2)
        else:
            data = np.asarray(w.data, np.float32)
            itp, its = w.itp, w.its
            labels = make_labels(len(data), itp, its, shape, width)
        rng = np.random.default_rng([self.seed, int(epoch) + 1, int(index), 7])  # crop stream
        start = crop_start(len(data), window, itp, its, rng, margin)
        return fit_length(data, window, start), fit_length(labels, window, start, NOISE)

    def arrays(self, epoch: int = EVAL_EPOCH) -> tuple[np.ndarray, np.ndarray]:
        """All windows at once: (n, window, 3) data and labels (for validation and test)."""
        pairs = [self(i, epoch) for i in range(len(self.windows))]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def training_dataset(maker: ExampleMaker, batch_size: int, seed: int):
    """tf.data: shuffled indices -> parallel numpy_function(maker) -> batch -> prefetch.

    The epoch comes from a tf.Variable that the returned EpochSeedCallback sets before each
    epoch's iterator starts (see core.augment.pipeline for why that is exact).
    """
    import tensorflow as tf

    from core.augment.pipeline import EpochSeedCallback

    n, window = len(maker.windows), maker.settings.window
    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="picking_epoch")

    def make(index, epoch):
        return maker(int(index), int(epoch))

    def load(index):
        x, y = tf.numpy_function(
            make, [index, epoch_var.read_value()], [tf.float32, tf.float32], stateful=False
        )
        x.set_shape((window, 3))
        y.set_shape((window, 3))
        return x, y

    ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return ds, [EpochSeedCallback(epoch_var)]


def fixed_dataset(maker: ExampleMaker, batch_size: int):
    """Validation/test: one fixed crop per window, no augmentation; None if there are none."""
    import tensorflow as tf

    if len(maker.windows) == 0:
        return None
    x, y = maker.arrays()
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(2)


def prepare(config: RunConfig) -> PreparedTask:
    settings = data_settings(config)
    train, val, test, rate = load_splits(config.dataset)
    if config.max_train_examples is not None and config.max_train_examples < len(train):
        keep = np.random.default_rng(config.seed).choice(
            len(train), config.max_train_examples, replace=False
        )
        train = train.subset(np.sort(keep))
    if len(train) == 0:
        raise ValueError(f"dataset {config.dataset!r} has no training windows")
    pipeline = None
    if config.augmentation:
        pipeline = WaveformPipeline.from_spec(config.augmentation, pool=train.sets[0])
    window = settings.window
    train_ds, callbacks = training_dataset(
        ExampleMaker(train, settings, config.seed, pipeline), config.batch_size, config.seed
    )
    val_ds = fixed_dataset(ExampleMaker(val, settings, config.seed), config.batch_size)
    test_ds = fixed_dataset(ExampleMaker(test, settings, config.seed), config.batch_size)
    model, used = build_picker(config, window)
    started_from = init_weights(model, config) if config.init_from else None
    rate_hz = float(rate)
    tolerance = max(1, int(round(0.1 * rate_hz)))
    meta = {
        "task": "picking",
        "model": config.model,
        "settings": used,
        "dataset": config.dataset,
        "datasets": mix_parts(config.dataset),
        "input_shape": [window, 3],
        "window": window,
        "sampling_rate": rate_hz,
        "label_shape": settings.label_shape,
        "label_width": settings.label_width,
        "class_names": list(CLASS_NAMES),
        "channels": ["E", "N", "Z"],
        "normalization": "in the model: per window and component (x - mean) / std",
        "data_settings": settings.to_dict(),
        **({"init_from": started_from} if started_from else {}),
    }
    scorer = PickScoreCallback(model, val.subset(np.arange(min(len(val), MAX_SCORED))), rate_hz)
    return PreparedTask(
        train_ds=train_ds,
        val_ds=val_ds,
        test_ds=test_ds,
        steps_per_epoch=-(-len(train) // config.batch_size),
        model=model,
        loss=picking_loss(settings.class_weights),
        metrics=picking_metrics(tolerance),
        meta=meta,
        fingerprint=fingerprint(train),
        train_examples=len(train),
        callbacks=[*callbacks, scorer],
        export=functools.partial(_with_thresholds, scorer, meta),
    )


def _with_thresholds(scorer, meta: dict, model):
    """The export hook: the final weights' best-F1 thresholds into meta["thresholds"]."""
    if len(scorer.windows):
        meta["thresholds"] = best_thresholds(scorer.probabilities(), scorer.windows, scorer.rate)
    return model


def build_picker(config: RunConfig, window: int):
    """(uncompiled model, settings used): from core.models.registry, or PhaseNet directly."""

    settings = config.model_overrides()
    if config.init_from:  # the source run's settings, config's overrides on top
        settings = effective_settings(config, source_meta(config.init_from))
    if config.model in MODELS:
        return build_model(config.model, (window, 3), len(CLASS_NAMES), settings)
    if config.model != "phasenet":
        raise ModelError(f"unknown picking model {config.model!r}; use phasenet")
    try:
        obj = PhaseNetSettings(**settings)
    except TypeError as err:
        raise ModelError(f"bad settings for model 'phasenet': {err}") from None
    return build_phasenet((window, 3), len(CLASS_NAMES), obj), dataclasses.asdict(obj)


def picking_loss(class_weights=None):
    """Categorical cross-entropy per sample, averaged; optionally weighted per class."""
    import keras

    if class_weights is None:
        return keras.losses.CategoricalCrossentropy(name="categorical_crossentropy")
    weights = np.asarray(class_weights, np.float32)

    def weighted_crossentropy(y_true, y_pred):
        y_pred = keras.ops.clip(y_pred, 1e-7, 1.0)
        return -keras.ops.sum(y_true * weights * keras.ops.log(y_pred), axis=-1)

    return weighted_crossentropy


def picking_metrics(tolerance_samples: int) -> list:
    import keras

    return [
        keras.metrics.CategoricalAccuracy(name="accuracy"),
        PickF1(1, tolerance_samples, name="p_f1"),
        PickF1(2, tolerance_samples, name="s_f1"),
    ]


@functools.lru_cache(maxsize=1)
def _pick_f1_class():
    import keras
    from keras import ops

    class PickF1(keras.metrics.Metric):
        """Per-window pick F1 proxy: the window's highest probability of a phase is its pick
        (if >= threshold); it matches when within `tolerance` samples of the label's peak
        (a label exists when its curve reaches 0.5)."""

        def __init__(self, column, tolerance, threshold=0.3, name="pick_f1", **kwargs):
            super().__init__(name=name, **kwargs)
            self.column, self.tolerance, self.threshold = int(column), int(tolerance), threshold
            self.counts = self.add_variable(shape=(3,), initializer="zeros", name="counts")

        def update_state(self, y_true, y_pred, sample_weight=None):
            true, pred = y_true[..., self.column], y_pred[..., self.column]
            has_true = ops.max(true, axis=1) >= 0.5
            has_pred = ops.max(pred, axis=1) >= self.threshold
            offset = ops.abs(ops.argmax(pred, axis=1) - ops.argmax(true, axis=1))
            tp = has_true & has_pred & (offset <= self.tolerance)
            fp = has_pred & ~tp
            fn = has_true & ~tp
            counts = ops.stack([ops.sum(ops.cast(v, "float32")) for v in (tp, fp, fn)])
            self.counts.assign_add(counts)

        def result(self):
            tp, fp, fn = self.counts[0], self.counts[1], self.counts[2]
            return 2 * tp / ops.maximum(2 * tp + fp + fn, 1.0)

        def reset_state(self):
            self.counts.assign(ops.zeros((3,)))

        def get_config(self):
            return {
                **super().get_config(),
                "column": self.column,
                "tolerance": self.tolerance,
                "threshold": self.threshold,
            }

    return PickF1


def PickF1(column: int, tolerance: int, threshold: float = 0.3, name: str = "pick_f1"):  # noqa: N802
    """A keras Metric (built lazily so importing this module does not import Keras)."""
    return _pick_f1_class()(column, tolerance, threshold, name=name)


def fingerprint(windows: LabelledWindows) -> str:
    """sha256 prefix of the training windows' data and picks."""
    digest = hashlib.sha256()
    for k, j in windows.refs:
        s = windows.sets[int(k)]
        digest.update(np.ascontiguousarray(s.data[int(j)]).tobytes())
        digest.update(np.asarray([s.itp[int(j)], s.its[int(j)]], np.int64).tobytes())
    return digest.hexdigest()[:16]
