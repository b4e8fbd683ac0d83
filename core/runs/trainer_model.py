"""A wrapper model whose train step also reports the global gradient norm (before clipping).

The wrapped (inner) model is what gets saved; the wrapper only exists during training.

Public Keras/TensorFlow APIs only. `train_step` does what the stock Keras 3 TensorFlow train step
does, written with the public hooks `compute_loss` (compiled loss + regularisation and other
`add_loss` losses, with sample/class weights) and `compute_metrics` (compiled metrics, then the
results of everything in `self.metrics`). The one thing the stock step does that has no public
API of its own is feeding the running mean `loss`: the tracker for it is created by `compile()`
and exposed only as the entry named "loss" of the public `Model.metrics`, which is how the Keras
guide "Customizing what happens in fit() with TensorFlow" finds and updates it. If a Keras
release stops exposing it that way, `_loss_metric` raises instead of silently reporting 0, and
tests/core/runs/test_trainer_model.py (per-batch and per-epoch parity with plain `fit`) fails.
`test_step` is not overridden: evaluation and validation use Keras's own step.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class GradNormTrainer(keras.Model):
    """Trains `inner` exactly like Model.fit would, and adds `grad_norm` to the batch logs."""

    def __init__(self, inner: keras.Model, **kwargs):
        super().__init__(name=f"{inner.name}_trainer", **kwargs)
        self.inner = inner
        self.built = inner.built  # a functional model is built at construction

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            scaled = self.optimizer.scale_loss(loss)
        # as the stock step: the loss tracker is a batch-size-weighted mean over the epoch, and
        # under a multi-replica tf.distribute strategy it undoes the 1/replicas loss scaling
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        tracked = loss * tf.cast(replicas, loss.dtype) if replicas > 1 else loss
        batch_size = tf.shape(next(t for t in tf.nest.flatten(x) if t is not None))[0]
        self._loss_metric().update_state(tracked, sample_weight=batch_size)

        weights = self.trainable_weights
        gradients = tape.gradient(scaled, weights)
        present = [g for g in gradients if g is not None]
        if replicas > 1:  # each replica holds its share: the norm is of their sum (what's applied)
            present = tf.distribute.get_replica_context().all_reduce("SUM", present)
        grad_norm = tf.linalg.global_norm(present)
        if scaled is not loss:
            # loss scaling (mixed precision's LossScaleOptimizer, or an optimizer's
            # loss_scale_factor) multiplied every gradient; report the norm of the real ones.
            # scale_loss is linear, so scaling 1 gives the factor it applied.
            grad_norm = grad_norm / tf.cast(
                self.optimizer.scale_loss(tf.ones((), loss.dtype)), grad_norm.dtype
            )
        # clipping (clipnorm, global_clipnorm) and EMA happen inside the optimizer, after this
        self.optimizer.apply_gradients(zip(gradients, weights, strict=True))
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        logs["grad_norm"] = grad_norm
        return logs

    def _loss_metric(self) -> keras.metrics.Metric:
        """The `loss` tracker `compile()` created (looked up when the step is traced)."""
        for metric in self.metrics:
            if metric.name == "loss":
                return metric
        raise RuntimeError(
            f"{self.name}: no metric named 'loss' in Model.metrics after compile(); this Keras "
            f"({keras.__version__}) no longer exposes the loss tracker there, so GradNormTrainer "
            "cannot report the epoch-mean loss (see core/runs/trainer_model.py)"
        )
