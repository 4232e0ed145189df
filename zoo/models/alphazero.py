"""AlphaZero's policy-value network: a residual conv tower with a policy and a value head.

Input: the canonical board as planes (rows, cols, 2): the mover's stones, the opponent's.
Output: a distribution over moves (illegal moves are masked by the search) and the expected
result for the mover in [-1, 1].
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from .base import ZooModel


@keras.saving.register_keras_serializable(package="zoo")
class ResidualBlock(layers.Layer):
    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.c1 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.b1 = layers.BatchNormalization(synchronized=True)
        self.c2 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.b2 = layers.BatchNormalization(synchronized=True)

    def call(self, x, training=False):
        h = ops.relu(self.b1(self.c1(x), training=training))
        return ops.relu(x + self.b2(self.c2(h), training=training))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="zoo")
class PolicyValueNet(ZooModel):
    serving_default = "predict"

    def __init__(self, rows=3, cols=3, n_actions=9, filters=64, blocks=3, **kwargs):
        super().__init__(**kwargs)
        self.rows, self.cols, self.n_actions = int(rows), int(cols), int(n_actions)
        self.filters, self.blocks = int(filters), int(blocks)
        self.stem = keras.Sequential([keras.Input((self.rows, self.cols, 2)),
                                      layers.Conv2D(self.filters, 3, padding="same", use_bias=False),
                                      layers.BatchNormalization(synchronized=True), layers.ReLU()]
                                     + [ResidualBlock(self.filters) for _ in range(self.blocks)], name="tower")
        self.policy_head = keras.Sequential([keras.Input((self.rows, self.cols, self.filters)),
                                             layers.Conv2D(2, 1, use_bias=False), layers.BatchNormalization(synchronized=True),
                                             layers.ReLU(), layers.Flatten(),
                                             layers.Dense(self.n_actions, dtype="float32")], name="policy")
        self.value_head = keras.Sequential([keras.Input((self.rows, self.cols, self.filters)),
                                            layers.Conv2D(1, 1, use_bias=False), layers.BatchNormalization(synchronized=True),
                                            layers.ReLU(), layers.Flatten(), layers.Dense(64, activation="relu"),
                                            layers.Dense(1, activation="tanh", dtype="float32")], name="value")
        self._make_trackers(["loss", "policy_loss", "value_loss"])

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "cols": self.cols, "n_actions": self.n_actions,
                "filters": self.filters, "blocks": self.blocks}

    def build(self, input_shape=None):
        self.stem.build((None, self.rows, self.cols, 2))
        self.policy_head.build((None, self.rows, self.cols, self.filters))
        self.value_head.build((None, self.rows, self.cols, self.filters))
        self.built = True

    def call(self, planes, training=False):
        h = self.stem(planes, training=training)
        return self.policy_head(h, training=training), self.value_head(h, training=training)[:, 0]

    def predict_one(self):
        """A fast single-position predictor for the search: planes -> (policy, value)."""
        fn = tf.function(lambda x: self.call(x[None]), reduce_retracing=True)

        def predict(planes):
            logits, value = fn(tf.constant(planes, tf.float32))
            return tf.nn.softmax(logits[0]).numpy(), float(value[0])

        return predict

    def loss_terms(self, batch, training=False):
        planes, pi, z = batch
        logits, v = self.call(planes, training=training)
        policy = tf.nn.softmax_cross_entropy_with_logits(labels=pi, logits=logits)
        value = tf.square(tf.cast(z, tf.float32) - v)
        return {"loss": policy + value, "policy_loss": policy, "value_loss": value}

    def serving_signatures(self):
        spec = [tf.TensorSpec((None, self.rows, self.cols, 2), tf.float32, name="board")]

        def predict(board):
            logits, value = self.call(board)
            return {"policy": tf.nn.softmax(logits), "value": value}

        return {"predict": (predict, spec)}
