"""A wrapper model whose train step also reports the global gradient norm (before clipping).

The wrapped (inner) model is what gets saved; the wrapper only exists during training.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.trainers.data_adapters import data_adapter_utils


class GradNormTrainer(keras.Model):
    """Trains `inner` exactly like Model.fit would, and adds `grad_norm` to the batch logs."""

    def __init__(self, inner: keras.Model, **kwargs):
        super().__init__(name=f"{inner.name}_trainer", **kwargs)
        self.inner = inner
        self.built = inner.built  # a functional model is built at construction

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)

    def train_step(self, data):
        x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
            scaled = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        gradients = tape.gradient(scaled, weights)
        grad_norm = tf.linalg.global_norm([g for g in gradients if g is not None])
        self.optimizer.apply_gradients(zip(gradients, weights, strict=True))
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        logs["grad_norm"] = grad_norm
        return logs
