"""The zoo's yardstick: an MNIST digit classifier whose features and probabilities score every
generator (FID-MNIST and the MNIST score, see `zoo.metrics`).

Example:
    >>> clf = zoo.load("cnn-mnist")
    >>> probs = clf.predict_proba(x)      # (batch, 10)
    >>> labels = clf.classify(x)          # (batch,) int32
    >>> feats = clf.features(x)           # (batch, 128): the FID feature space
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from ..registry import register
from .base import IMAGE_SHAPE, ZooModel, check_images


@keras.saving.register_keras_serializable(package="zoo")
class DigitClassifier(ZooModel):
    """Conv-BN-ReLU ×4 with two poolings, a `feature_dim` penultimate layer and a softmax head.
    No dropout: regularisation comes from shift augmentation in the input pipeline, which a
    distributed step splits with the data (a dropout mask per replica would not match).

    Batch norm is `synchronized`, so N replicas compute the same statistics as one device
    with the whole batch (the distributed step matches the single-device one).
    """

    serving_default = "classify"

    def __init__(self, filters=(32, 64), feature_dim=128, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.feature_dim = int(feature_dim)
        self.num_classes = int(num_classes)
        body = [keras.Input(IMAGE_SHAPE)]
        for f in self.filters:
            for _ in range(2):
                body += [layers.Conv2D(f, 3, padding="same", use_bias=False),
                         layers.BatchNormalization(synchronized=True), layers.ReLU()]
            body.append(layers.MaxPooling2D())
        body += [layers.Flatten(), layers.Dense(self.feature_dim, use_bias=False),
                 layers.BatchNormalization(synchronized=True), layers.ReLU()]
        self.body = keras.Sequential(body, name="features")
        self.head = layers.Dense(self.num_classes, dtype="float32", name="logits")
        self._make_trackers(["loss", "accuracy"])

    def get_config(self):
        return {**super().get_config(), "filters": list(self.filters), "feature_dim": self.feature_dim,
                "num_classes": self.num_classes}

    def build(self, input_shape=None):
        self.body.build((None,) + IMAGE_SHAPE)
        self.head.build((None, self.feature_dim))
        self.built = True

    def call(self, x, training=False):
        return self.head(self.body(x, training=training))

    def logits(self, x):
        return self.call(check_images(x))

    def predict_proba(self, x):
        """Class probabilities (batch, 10)."""
        return ops.softmax(self.logits(x))

    def classify(self, x):
        """Most likely digit per image (batch,) int32."""
        return ops.cast(ops.argmax(self.logits(x), axis=-1), "int32")

    def features(self, x):
        """Penultimate activations (batch, feature_dim): the space FID-MNIST is measured in."""
        return self.body(check_images(x))

    def loss_terms(self, batch, training=False):
        x, y = batch[0], batch[1]
        logits = self.call(x, training=training)
        y = tf.cast(tf.reshape(y, [-1]), tf.int32)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y), tf.float32)
        return {"loss": ce, "accuracy": correct}

    def serving_signatures(self):
        spec = [tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32, name="images")]

        def classify(images):
            probs = ops.softmax(self.call(images))
            return {"probabilities": probs, "label": ops.cast(ops.argmax(probs, axis=-1), "int32")}

        def features(images):
            return {"features": self.body(images)}

        return {"classify": (classify, spec), "features": (features, spec)}


@register("cnn-mnist", model_class=DigitClassifier, task="classification", dataset="mnist",
          description="Conv-BN digit classifier; its features and probabilities score the zoo's generators.",
          paper="LeCun et al. 1998; FID: Heusel et al. 2017, https://arxiv.org/abs/1706.08500")
def cnn_mnist(**config):
    return DigitClassifier(**config)
