"""Scores for generators, measured with the zoo's own classifier (`cnn-mnist`).

- FID-MNIST: the Fréchet distance between Gaussians fitted to the classifier's penultimate
  features of two image sets (Heusel et al. 2017, with `cnn-mnist` in place of Inception).
- MNIST score: exp(E_x KL(p(y|x) || p(y))), the Inception-score formula with `cnn-mnist`
  (as TF-GAN's `mnist_score`): 10 for confident predictions spread evenly over the digits.

The judge is given its classifier, so this module needs no trained artifact and no model
class: `zoo.evaluate.default_judge(dataset)` loads the classifier registered for the dataset
(`zoo.registry.judge_for`: cnn-mnist for MNIST).

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


class Judge:
    """Scores image sets with a classifier that has `body` (features) and `head` (logits)
    layers, such as `zoo.models.DigitClassifier` (the trained one: `zoo.load("cnn-mnist")`)."""

    def __init__(self, classifier, batch_size: int = 1000):
        if classifier is None or not (hasattr(classifier, "body") and hasattr(classifier, "head")):
            raise TypeError("Judge needs a classifier with `body` and `head` layers, e.g. zoo.load('cnn-mnist'); "
                            f"got {type(classifier).__name__}")
        self.clf = classifier
        self.batch_size = batch_size
        self._test = None

    def _run(self, images):
        import tensorflow as tf

        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
            raise ValueError(f"images must have shape (n, 28, 28, 1), got {images.shape}")
        if images.min() < 0 or images.max() > 1:
            raise ValueError("images must be in [0, 1]")
        feats, probs = [], []
        for i in range(0, len(images), self.batch_size):
            x = tf.constant(images[i : i + self.batch_size])
            h = self.clf.body(x, training=False)
            feats.append(np.asarray(h))
            probs.append(np.asarray(tf.nn.softmax(self.clf.head(h))))
        return np.concatenate(feats), np.concatenate(probs)

    def test_features(self):
        """Features of the 10,000 test images (computed once)."""
        if self._test is None:
            x = data.load_arrays("mnist", "test")[0][..., None].astype(np.float32) / 255.0
            self._test = self._run(x)[0]
        return self._test

    def features(self, images):
        """Penultimate features of `images` (n, 28, 28, 1) in [0, 1]."""
        return self._run(images)[0]

    def probabilities(self, images):
        """Class probabilities of `images` (n, 10)."""
        return self._run(images)[1]

    def score(self, images) -> dict:
        """FID-MNIST against the test set, MNIST score, and mean top-class confidence."""
        feats, probs = self._run(images)
        return {"fid_mnist": round(fid_from_features(feats, self.test_features()), 4),
                "mnist_score": round(mnist_score(probs), 4),
                "mean_confidence": round(float(probs.max(axis=1).mean()), 4),
                "images": int(len(feats))}

    def real_floor(self, n: int = 10000) -> dict:
        """The same scores for n real training images: the best a generator can hope for."""
        x = data.load_arrays("mnist", "train")[0][:n, ..., None].astype(np.float32) / 255.0
        return self.score(x)
