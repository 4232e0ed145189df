"""The zoo's yardsticks: a classifier per dataset (`cnn-mnist`, `cnn-fashion-mnist`) whose
features and probabilities score the generators of that dataset (FID and classifier score,
see `zoo.metrics`). A classifier knows its `dataset`, which the trainer takes from the
recipe's `[data]`.

Example:
    >>> clf = zoo.load("cnn-mnist")
    >>> x = zoo.data.float_images("mnist", "test", limit=8)
    >>> probs = clf.predict_proba(x)      # (batch, 10)
    >>> labels = clf.classify(x)          # (batch,) int32
    >>> feats = clf.features(x)           # (batch, 128): the FID feature space
    >>> probs.shape, labels.dtype, feats.shape
    (TensorShape([8, 10]), tf.int32, TensorShape([8, 128]))
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .. import data
from ..files import tile
from ..metrics import Judge, dataset_title, judged
from ..registry import register
from .base import IMAGE_SHAPE, Family, ZooModel, argmax, check_images, empty_batch_safe, in_batches, register_family


@keras.saving.register_keras_serializable(package="zoo")
class DigitClassifier(ZooModel):
    """Conv-BN-ReLU ×4 with two poolings, a `feature_dim` penultimate layer and a softmax head.
    No dropout: regularisation comes from shift augmentation in the input pipeline, which a
    distributed step splits with the data (a dropout mask per replica would not match).

    Batch norm is `synchronized`, so N replicas compute the same statistics as one device
    with the whole batch (the distributed step matches the single-device one).
    """

    def __init__(self, filters=(32, 64), feature_dim=128, num_classes=10, dataset="mnist", **kwargs):
        super().__init__(**kwargs)
        data.check_dataset_name(dataset)
        self.dataset = str(dataset)  # what it was trained on: its test set, and what it judges (zoo.metrics.Judge)
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
        self.make_trackers(["loss", "accuracy"])

    def get_config(self):
        return {**super().get_config(), "filters": list(self.filters), "feature_dim": self.feature_dim,
                "num_classes": self.num_classes, "dataset": self.dataset}

    def build(self, input_shape=None):
        """Create the body's and head's weights."""
        self.body.build((None,) + IMAGE_SHAPE)
        self.head.build((None, self.feature_dim))
        self.built = True

    def call(self, x, training=False):
        """Logits (batch, 10) of images."""
        return self.head(self.body(x, training=training))

    @empty_batch_safe
    def logits(self, x):
        """Logits (batch, 10) of images, checked."""
        return self.call(check_images(x))

    @empty_batch_safe
    def predict_proba(self, x):
        """Class probabilities (batch, 10)."""
        return ops.softmax(self.logits(x))

    @empty_batch_safe
    def classify(self, x):
        """Most likely digit per image (batch,) int32."""
        return argmax(self.logits(x))

    @empty_batch_safe
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


@register_family(DigitClassifier)
class ClassifierFamily(Family):
    """A classifier is served for its probabilities and its features, and measured on the test
    set of the data it was trained on (it may be that dataset's judge)."""

    serving_default = "classify"
    runtime_kind = "classifier"
    int8_allowed = {"test_accuracy": ("max", 0.002, "abs")}
    recipe_bounds = {"feature_dim": {"low": 1}, "num_classes": {"low": 2}}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True) -> dict:
        """Test accuracy (overall and per class) on its dataset's test set, and the real-data
        floor of the FID and classifier score with this classifier as the judge (the best a
        generator of that dataset can hope for)."""
        _, y = data.load_arrays(self.model.dataset, "test")
        pred = in_batches(self.model.classify, data.float_images(self.model.dataset))
        per = {str(d): round(float((pred[y == d] == d).mean()), 4) for d in range(self.model.num_classes)}
        judge = Judge(self.model)
        floor = judge.real_floor()
        return {"test_accuracy": round(float((pred == y).mean()), 5), "test_errors": int((pred != y).sum()),
                "per_class_accuracy": per, **{f"real_floor_{k}": floor[k] for k in (judge.fid_name, judge.score_name)},
                "test_images": int(len(y))}

    def gallery_data(self, dataset: str) -> dict:
        """Test images to pick from, and the class names."""
        return self.test_digits(dataset)

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """Test accuracy on its dataset's test set (the first `limit` images)."""
        dataset = runtime_model.config.get("dataset", "mnist")
        x, y = data.float_images(dataset, limit=limit), data.load_arrays(dataset, "test")[1]
        pred = in_batches(runtime_model.classify, x)
        return {"test_accuracy": round(float((pred == y[: len(x)]).mean()), 5), "test_images": int(len(x))}

    @classmethod
    def test_set(cls, config):
        title = dataset_title(config.get("dataset", "mnist"))
        return f"{title} test (10,000); real floor: first 10,000 training images against the test set"

    @classmethod
    def headline_metric(cls, metrics):
        return "test_accuracy", "max"  # a judge is never replaced by one that reads its test set worse

    @classmethod
    def headline(cls, m, config):
        title, fid, score = judged(m, "real_floor_")
        return f"test accuracy **{m['test_accuracy'] * 100:.2f}%**; real-data floor: FID-{title} {fid}, {title} score {score}"

    def picture(self, seed: int = 0):
        """The first 30 test images it gets wrong."""
        x, y = data.float_images(self.model.dataset), data.load_arrays(self.model.dataset, "test")[1]
        wrong = np.flatnonzero(np.asarray(self.model.classify(x)) != y)[:30]
        pad = np.zeros((30 - len(wrong), 28, 28, 1), "float32")
        return tile(np.concatenate([x[wrong], pad]).reshape(3, 10, 28, 28, 1))

    def demo(self, x) -> str:
        return f"classify(4 test digits) -> {np.asarray(self.model.classify(x)).tolist()}"

    def serving_signatures(self):
        spec = [tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32, name="images")]

        def classify(images):
            probs = ops.softmax(self.model.call(images))
            return {"probabilities": probs, "label": argmax(probs)}

        def features(images):
            return {"features": self.model.body(images)}

        return {"classify": (classify, spec), "features": (features, spec)}


@register("cnn-mnist", model_class=DigitClassifier, task="classification", dataset="mnist",
          description="Conv-BN digit classifier; its features and probabilities score the zoo's generators.",
          paper="LeCun et al. 1998; FID: Heusel et al. 2017, https://arxiv.org/abs/1706.08500")
def cnn_mnist(**config):
    """The registered `cnn-mnist` builder."""
    return DigitClassifier(**config)


@register("cnn-fashion-mnist", model_class=DigitClassifier, task="classification", dataset="fashion-mnist",
          description="The same Conv-BN classifier on Fashion-MNIST clothes; it judges the zoo's Fashion-MNIST generators.",
          paper="Xiao et al. 2017, https://arxiv.org/abs/1708.07747; FID: Heusel et al. 2017")
def cnn_fashion_mnist(**config):
    """The registered `cnn-fashion-mnist` builder."""
    return DigitClassifier(**config)
