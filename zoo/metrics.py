"""Scores for generators, measured with the zoo's own classifier of their dataset
(`cnn-mnist` for MNIST, `cnn-fashion-mnist` for Fashion-MNIST).

- FID-MNIST: the Fréchet distance between Gaussians fitted to the classifier's penultimate
  features of two image sets (Heusel et al. 2017, with `cnn-mnist` in place of Inception).
- MNIST score: exp(E_x KL(p(y|x) || p(y))), the Inception-score formula with `cnn-mnist`
  (as TF-GAN's `mnist_score`): 10 for confident predictions spread evenly over the classes.

Scores are named after the judge's dataset (`score_names`): `fid_mnist` and `mnist_score`
for MNIST, `fid_fashion_mnist` and `fashion_mnist_score` for Fashion-MNIST, so numbers
measured against different test sets never share a name.

The judge is given its classifier, so this module needs no trained artifact and no model
class: `zoo.evaluate.default_judge(dataset)` loads the classifier registered for the dataset
(`zoo.registry.judge_for`). The classifier says what it was trained on (its `dataset`), and
that dataset's test set is what the judge compares against.

Example:
    >>> import zoo
    >>> from zoo import metrics
    >>> judge = metrics.Judge(zoo.load("cnn-mnist"))
    >>> sorted(judge.score(zoo.load("dcgan-mnist").sample(500).numpy()))
    ['fid_mnist', 'images', 'mean_confidence', 'mnist_score']
"""

from __future__ import annotations

import numpy as np

from . import data


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """‖μ1-μ2‖² + tr(Σ1) + tr(Σ2) - 2 tr((Σ1 Σ2)^½).

    tr((Σ1 Σ2)^½) is computed as the sum of square roots of the eigenvalues of the symmetric
    PSD matrix Σ1^½ Σ2 Σ1^½ (same spectrum as Σ1 Σ2), which avoids complex round-off.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    w, v = np.linalg.eigh(cov1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ cov2 @ root1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)


def stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a feature set (float64)."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def fid_from_features(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets."""
    return frechet_distance(*stats(a), *stats(b))


def mnist_score(probs) -> float:
    """exp(E_x KL(p(y|x) || p(y))) of class probabilities (n, classes)."""
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def dataset_title(dataset: str) -> str:
    """How a dataset is named in prose and headlines: "MNIST", "Fashion-MNIST", "tfds:kmnist"."""
    return _TITLES.get(dataset, dataset)


def score_names(dataset: str) -> tuple[str, str]:
    """The metric names of (FID, classifier score) against `dataset`'s test set.

        >>> score_names("mnist"), score_names("fashion-mnist")
        (('fid_mnist', 'mnist_score'), ('fid_fashion_mnist', 'fashion_mnist_score'))
    """
    slug = dataset.split(":", 1)[-1].replace("-", "_").replace("/", "_")
    return f"fid_{slug}", f"{slug}_score"


def judged(metrics: dict, prefix: str = "") -> tuple[str, float, float]:
    """(dataset title, FID, score) from a card's metrics, whichever dataset judged them
    (`prefix` as in "prior_samples_"), for headlines.

        >>> judged({"fid_fashion_mnist": 3.1, "fashion_mnist_score": 8.2})
        ('Fashion-MNIST', 3.1, 8.2)
    """
    for key in sorted(metrics):
        slug = key[len(prefix) + 4:]
        if key.startswith(prefix + "fid_") and f"{prefix}{slug}_score" in metrics:
            title = next((t for d, t in _TITLES.items() if score_names(d)[0] == f"fid_{slug}"), slug)
            return title, metrics[key], metrics[f"{prefix}{slug}_score"]
    raise KeyError(f"no {prefix}fid_<dataset> with its score among the metrics ({', '.join(sorted(metrics))})")


class Judge:
    """Scores image sets with a classifier that has `body` (features) and `head` (logits)
    layers, such as `zoo.models.DigitClassifier` (the trained ones: `zoo.load("cnn-mnist")`,
    `zoo.load("cnn-fashion-mnist")`), against the test set of the classifier's `dataset`."""

    def __init__(self, classifier, batch_size: int = 1000):
        if classifier is None or not (hasattr(classifier, "body") and hasattr(classifier, "head")):
            raise TypeError("Judge needs a classifier with `body` and `head` layers, e.g. zoo.load('cnn-mnist'); "
                            f"got {type(classifier).__name__}")
        self.clf = classifier
        self.dataset = getattr(classifier, "dataset", "mnist")
        self.fid_name, self.score_name = score_names(self.dataset)
        self.batch_size = batch_size
        self._test, self._floors, self._forward = None, {}, None

    def _run(self, images):
        import tensorflow as tf

        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
            raise ValueError(f"images must have shape (n, 28, 28, 1), got {images.shape}")
        if images.min() < 0 or images.max() > 1:
            raise ValueError("images must be in [0, 1]")
        if self._forward is None:
            # one traced graph instead of op-by-op eager calls: the same values (checked equal on
            # 10,000 test digits) in half the time, and every evaluation is mostly this
            def forward(x):
                h = self.clf.body(x, training=False)
                return h, tf.nn.softmax(self.clf.head(h))

            self._forward = tf.function(forward, reduce_retracing=True)
        feats, probs = [], []
        for i in range(0, len(images), self.batch_size):
            h, p = self._forward(tf.constant(images[i : i + self.batch_size]))
            feats.append(np.asarray(h))
            probs.append(np.asarray(p))
        return np.concatenate(feats), np.concatenate(probs)

    def test_features(self):
        """Features of the dataset's test images (computed once)."""
        if self._test is None:
            self._test = self._run(data.float_images(self.dataset, "test"))[0]
        return self._test

    def features(self, images):
        """Penultimate features of `images` (n, 28, 28, 1) in [0, 1]."""
        return self._run(images)[0]

    def probabilities(self, images):
        """Class probabilities of `images` (n, 10)."""
        return self._run(images)[1]

    def score(self, images) -> dict:
        """FID against the dataset's test set, the classifier score (`score_names`), and mean
        top-class confidence."""
        feats, probs = self._run(images)
        return {self.fid_name: round(fid_from_features(feats, self.test_features()), 4),
                self.score_name: round(mnist_score(probs), 4),
                "mean_confidence": round(float(probs.max(axis=1).mean()), 4),
                "images": int(len(feats))}

    def real_floor(self, n: int = 10000) -> dict:
        """The same scores for the first n real training images: the best a generator can hope
        for (computed once per judge)."""
        if n not in self._floors:
            self._floors[n] = self.score(data.float_images(self.dataset, "train", limit=n))
        return dict(self._floors[n])

    def with_floor(self, scores: dict) -> dict:
        """`scores` plus the real-data floor of its FID as `real_floor_<fid name>`, so a card
        shows a generator's FID beside the best possible one on the same test set."""
        return {**scores, f"real_floor_{self.fid_name}": self.real_floor()[self.fid_name]}
