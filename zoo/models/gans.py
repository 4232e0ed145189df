"""GANs: a DCGAN and a label-conditional GAN for MNIST digits.

The discriminator is a learned loss: the generator never sees a pixel-wise target, only how
real the discriminator finds its output. Both use the non-saturating loss
(D: -log D(x) - log(1 - D(G(z))), G: -log D(G(z))), averaged over the *global* batch.

Example:
    >>> gan = zoo.load("cgan-mnist")
    >>> sevens = gan.sample(labels=[7] * 16)          # (16, 28, 28, 1): sixteen 7s
    >>> z = np.random.default_rng(0).standard_normal((3, gan.latent_dim)).astype("float32")
    >>> gan.generate(z, [0, 1, 2]).shape                # from your own noise
    TensorShape([3, 28, 28, 1])
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .. import data
from ..files import tile
from ..metrics import judged
from ..registry import register
from .base import (IMAGE_SHAPE, Family, ZooModel, check_images, check_vectors, ema_weights, empty_batch_safe, first_metric,
                   in_batches, in_chunks, minimize, normal_noise, register_family,
                   sample_count)

NUM_CLASSES = 10


def _generator(inputs_dim, filters, name, dense=0):
    f0, f1 = filters
    hidden = [layers.Dense(dense, use_bias=False), layers.BatchNormalization(synchronized=True), layers.ReLU()] if dense else []
    return keras.Sequential([
        keras.Input((inputs_dim,)), *hidden,
        layers.Dense(7 * 7 * f0, use_bias=False), layers.BatchNormalization(synchronized=True), layers.ReLU(),
        layers.Reshape((7, 7, f0)),
        layers.Conv2DTranspose(f1, 4, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(synchronized=True), layers.ReLU(),
        layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid", dtype="float32"),
    ], name=name)


def discriminator_body(channels, filters, name, dense=0, batchnorm=False):
    """A discriminator's body: two strided 4x4 convolutions with leaky ReLUs and an optional
    hidden dense layer; its output features go to a one-logit head."""
    # A hidden dense layer (InfoGAN's MNIST discriminator) makes D a much sharper critic: with
    # two conv layers alone D(x) hovered at 0.5 for real and fake alike and samples stayed blurry.
    f0, f1 = filters

    def norm():  # DCGAN/InfoGAN: batch norm after every D layer but the first
        return [layers.BatchNormalization(synchronized=True)] if batchnorm else []

    hidden = [layers.Dense(dense), *norm(), layers.LeakyReLU(0.2)] if dense else []
    return keras.Sequential([
        keras.Input(IMAGE_SHAPE[:2] + (channels,)),
        layers.Conv2D(f0, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(f1, 4, strides=2, padding="same"), *norm(), layers.LeakyReLU(0.2),
        layers.Flatten(), *hidden,
    ], name=name)


def bce_real(logits):
    """-log sigmoid(logits) per example: the loss of calling an image real."""
    return ops.reshape(ops.softplus(-logits), (-1,))


def bce_fake(logits):
    """-log(1 - sigmoid(logits)) per example: the loss of calling an image fake."""
    return ops.reshape(ops.softplus(logits), (-1,))


def _floor_note(m: dict) -> str:
    floor = [v for k, v in m.items() if k.startswith("real_floor_fid_")]
    return f" (real data: {floor[0]})" if floor else ""


def label_scores(generate, latent_dim: int, judge, per_label: int = 1000) -> dict:
    """A conditional generator's scores: `generate(noise, labels)` draws `per_label` images
    of each class from fixed noise (seed 3); the judge reads their class (label accuracy,
    overall and per class) and scores them (FID with the real-data floor, score). The card of
    a `ConditionalGAN`, and the yardstick benchmarks/peers.py holds other conditional GANs to."""
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), per_label)
    imgs = in_batches(generate, normal_noise(len(labels), latent_dim, seed=3), labels)
    hit = judge.probabilities(imgs).argmax(axis=1) == labels
    out = judge.with_floor(judge.score(imgs))
    out.pop("images")
    return {"label_accuracy": round(float(hit.mean()), 5),
            "per_label_accuracy": {str(d): round(float(hit[labels == d].mean()), 4) for d in range(NUM_CLASSES)},
            **out, "samples": int(len(labels))}


def diversity(images):
    """Mean over pixels of the per-pixel std across the batch: ~0 when every output is the same."""
    return ops.mean(ops.std(ops.reshape(images, (ops.shape(images)[0], -1)), axis=0)) * ops.ones((ops.shape(images)[0],))


class _GANBase(ZooModel):
    conditional = False

    def __init__(self, latent_dim=64, g_filters=(128, 64), d_filters=(64, 128), seed=None, g_dense=0, d_dense=0,
                 d_batchnorm=False, ema=0.0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.g_filters = tuple(int(f) for f in g_filters)
        self.d_filters = tuple(int(f) for f in d_filters)
        self.g_dense, self.d_dense, self.d_batchnorm = int(g_dense), int(d_dense), bool(d_batchnorm)
        if not 0.0 <= float(ema) < 1.0:
            raise ValueError(f"ema is a decay in [0, 1) (0 = off, e.g. 0.999), got {ema}")
        self.ema = float(ema)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.make_trackers(["d_loss", "g_loss", "d_real", "d_fake", "diversity"])

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "g_filters": list(self.g_filters),
                "d_filters": list(self.d_filters), "seed": self.seed, "g_dense": self.g_dense,
                "d_dense": self.d_dense, "d_batchnorm": self.d_batchnorm, "ema": self.ema}

    def _d_features(self):
        return self.d_dense or 7 * 7 * self.d_filters[1]

    # --- subclasses: how labels enter -------------------------------------------------------
    def _g(self, z, y, training):
        raise NotImplementedError

    def _d(self, x, y, training):
        raise NotImplementedError

    def discriminator_variables(self):
        raise NotImplementedError

    def _unpack(self, batch):
        batch = self.unwrap(batch)
        if self.conditional:
            x, y, noise = batch
            return x, tf.cast(tf.reshape(y, [-1]), tf.int32), noise
        x, noise = batch
        return x, None, noise

    def train_step(self, batch):
        x, y, noise = self._unpack(batch)
        z_d, z_g = noise[:, : self.latent_dim], noise[:, self.latent_dim :]
        with tf.GradientTape() as tape:
            fake = self._g(z_d, y, training=True)
            real_logits, fake_logits = self._d(x, y, training=True), self._d(fake, y, training=True)
            d_per = bce_real(real_logits) + bce_fake(fake_logits)
            d_loss = self.d_optimizer.scale_loss(tf.nn.compute_average_loss(d_per))
        minimize(self.d_optimizer, tape, d_loss, self.discriminator_variables())
        with tf.GradientTape() as tape:
            fake_g = self._g(z_g, y, training=True)
            g_per = bce_real(self._d(fake_g, y, training=True))  # non-saturating: G wants D(G(z)) -> 1
            g_loss = self.g_optimizer.scale_loss(tf.nn.compute_average_loss(g_per))
        minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        return self.track({"d_loss": d_per, "g_loss": g_per, "d_real": ops.reshape(ops.sigmoid(real_logits), (-1,)),
                            "d_fake": ops.reshape(ops.sigmoid(fake_logits), (-1,)), "diversity": diversity(fake_g)})

    def loss_terms(self, batch, training=False):
        x, y, noise = self._unpack(batch)
        fake = self._g(noise[:, : self.latent_dim], y, training=False)
        real_logits, fake_logits = self._d(x, y, training=False), self._d(fake, y, training=False)
        return {"d_loss": bce_real(real_logits) + bce_fake(fake_logits), "g_loss": bce_real(fake_logits),
                "d_real": ops.reshape(ops.sigmoid(real_logits), (-1,)),
                "d_fake": ops.reshape(ops.sigmoid(fake_logits), (-1,)), "diversity": diversity(fake)}

    def _labels(self, labels, n):
        labels = np.asarray(labels)
        if labels.size == 0:  # [] has no integer dtype of its own
            labels = labels.astype(np.int32)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"labels must be integers 0-9, got dtype {labels.dtype}")
        labels = labels.reshape(-1)
        if n is not None and len(labels) != n:
            raise ValueError(f"{len(labels)} labels for {n} images: give one label per image (or leave n out)")
        if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise ValueError(f"labels must be digits 0-9, got values from {labels.min()} to {labels.max()}")
        return tf.constant(labels, tf.int32)


class _GANFamily(Family):
    """A GAN is served for images from noise (or from per-row seeds), judged by its dataset's
    classifier, and trained with two optimisers and a moving average of its generator."""

    serving_default = "generate"
    needs_judge = True
    recipe_bounds = {"latent_dim": {"low": 1}, "ema": {"high": 0.9999}}
    not_portable = {"sample": "it draws TensorFlow's stateless normal noise per request seed (tf.map_fn over "
                              "StatelessRandomGetKeyCounter and StatelessRandomNormalV2): ONNX has no op that "
                              "reproduces those numbers, and LiteRT's converter refuses them; send N(0, I) noise "
                              "to `generate` instead"}

    def noise_dim(self):
        return 2 * self.model.latent_dim  # one draw for the D step, one for the G step

    def make_optimizers(self, make):
        self.model.compile()
        # The generator's optimiser keeps an exponential moving average of its weights (Yazici
        # et al. 2019): the averaged generator draws cleaner digits than the last iterate.
        self.model.d_optimizer, self.model.g_optimizer = make(), make(ema_momentum=self.model.ema or None)
        self.model.d_optimizer.build(self.model.discriminator_variables())
        self.model.g_optimizer.build(self.model.generator.trainable_variables)
        return {"d_optimizer": self.model.d_optimizer, "g_optimizer": self.model.g_optimizer}

    def _standing_statistics(self, n=4096, seed=99):
        """Re-estimate the generator's batch-norm statistics for its current weights from one
        large batch (BigGAN's "standing statistics"): the running averages were gathered under
        the raw training weights, not the averaged ones."""
        bns = [l for l in self.model.generator.layers if isinstance(l, layers.BatchNormalization)]
        z = tf.constant(np.random.default_rng(seed).standard_normal((n, self.model.latent_dim)).astype("float32"))
        y = tf.constant(np.arange(n) % NUM_CLASSES, tf.int32) if self.model.conditional else None
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.momentum = 0.0
        try:
            self.model._g(z, y, training=True)
        finally:
            for bn, m in zip(bns, momenta):
                bn.momentum = m

    def finalize_training(self, dataset: str):
        """Called by the trainer once training is complete: the averaged weights become the
        model's weights (what is saved and exported)."""
        if self.model.ema:
            self.model.g_optimizer.finalize_variable_values(self.model.generator.trainable_variables)
            self._standing_statistics()

    @contextlib.contextmanager
    def averaged_generator(self):
        """Temporarily run with the averaged generator weights (and matching batch-norm
        statistics), e.g. to score or picture an epoch; restores the training state after."""
        with ema_weights(getattr(self.model, "g_optimizer", None), self.model.generator.trainable_variables,
                         restore=self.model.generator.weights, then=self._standing_statistics):
            yield self.model

    def health_check(self, metrics):
        if metrics.get("diversity", 1.0) < 0.02:
            return f"mode collapse: generated images barely differ (diversity {metrics['diversity']:.4f})"
        if metrics.get("d_loss", 1.0) < 1e-3:
            return f"the discriminator wins outright (d_loss {metrics['d_loss']:.2e}): the generator gets no gradient"
        return None

    def epoch_images(self):
        """A fixed-noise grid (10×10) to watch training: same codes every epoch."""
        z = np.random.default_rng(1234).standard_normal((100, self.model.latent_dim)).astype("float32")
        y = tf.constant(np.repeat(np.arange(10), 10), tf.int32) if self.model.conditional else None
        with self.averaged_generator():
            imgs = np.asarray(self.model._g(tf.constant(z), y, training=False))
        return tile(imgs.reshape(10, 10, 28, 28, 1))[..., None]

    def epoch_scores(self, judge):
        """FID-MNIST and MNIST score (as in the card, by the judge) of the averaged generator,
        for the training history."""
        with self.averaged_generator():
            out = self.card_metrics(judge)
        return {k: v for k, v in out.items() if isinstance(v, float)}

    def picture(self, seed: int = 0):
        """A 10x10 grid of samples (the conditional GAN: one row per digit 0-9)."""
        z = np.random.default_rng(seed).standard_normal((100, self.model.latent_dim)).astype("float32")
        imgs = self.model.generate(z, np.repeat(np.arange(10), 10)) if self.model.conditional else self.model.generate(z)
        return tile(np.asarray(imgs).reshape(10, 10, 28, 28, 1))

    def _serving_sample(self, seeds):
        # Serving cannot hold RNG state: each request row carries its own integer seed, and the
        # noise is a stateless function of it, so the same seed always gives the same image.
        return tf.map_fn(lambda s: tf.random.stateless_normal([self.model.latent_dim], seed=tf.stack([s, s * 0 + 7])),
                         tf.cast(seeds, tf.int64), fn_output_signature=tf.float32)


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(_GANBase):
    """Deep convolutional GAN (Radford et al. 2015) for 28×28 digits.

    Example:
        >>> gan = DCGAN(latent_dim=64, seed=0)
        >>> imgs = gan.sample(16)                  # (16, 28, 28, 1) in [0, 1]
        >>> imgs = gan.generate(np.random.randn(4, 64).astype("float32"))
    """

    def __init__(self, latent_dim=64, g_filters=(128, 64), d_filters=(64, 128), seed=None, **kwargs):
        super().__init__(latent_dim, g_filters, d_filters, seed, **kwargs)
        self.generator = _generator(self.latent_dim, self.g_filters, "generator", self.g_dense)
        self.disc_body = discriminator_body(1, self.d_filters, "discriminator", self.d_dense, self.d_batchnorm)
        self.disc_head = layers.Dense(1, dtype="float32", name="disc_logit")

    def build(self, input_shape=None):
        """Create the generator's and discriminator's weights."""
        self.generator.build((None, self.latent_dim))
        self.disc_body.build((None,) + IMAGE_SHAPE)
        self.disc_head.build((None, self._d_features()))
        self.built = True

    def discriminator_variables(self):
        """The discriminator's trainable variables (its optimiser's)."""
        return self.disc_body.trainable_variables + self.disc_head.trainable_variables

    def _g(self, z, y, training):
        return self.generator(z, training=training)

    def _d(self, x, y, training):
        return self.disc_head(self.disc_body(x, training=training))

    def call(self, z, training=False):
        """Images from noise (the generator)."""
        return self.generator(z, training=training)

    @empty_batch_safe
    def generate(self, z):
        """Images (batch, 28, 28, 1) in [0, 1] from noise (batch, latent_dim)."""
        return self.generator(check_vectors(z, self.latent_dim, "noise"))

    def sample(self, n: int):
        """`n` images from fresh noise (at most `MAX_SAMPLES` per call; 0 gives an empty batch)."""
        n = sample_count(n)
        if n == 0:
            return self.generate(np.zeros((0, self.latent_dim), "float32"))
        return in_chunks(lambda start, rows: self.generator(
            keras.random.normal((rows, self.latent_dim), seed=self.seed_generator)), n)

    @empty_batch_safe
    def discriminate(self, x):
        """Probability that each image is real, per the learned loss."""
        return ops.sigmoid(self._d(check_images(x), None, False))[:, 0]


@register_family(DCGAN)
class DCGANFamily(_GANFamily):
    """A DCGAN also serves its discriminator (the learned loss)."""

    runtime_kind = "gan"
    int8_allowed = {"fid": ("min", 0.10, "rel")}

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """The judge's FID of 10,000 (or `limit`) samples from the card's noise (seed 2)."""
        n = limit or 10000
        imgs = in_batches(runtime_model.generate, normal_noise(n, runtime_model.latent_dim, seed=2))
        return {judge.fid_name: judge.score(imgs)[judge.fid_name], "samples": n}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True) -> dict:
        """FID-MNIST, MNIST score and mean confidence of 10,000 samples (noise seed 2)."""
        out = judge.with_floor(judge.score(in_batches(self.model.generate, normal_noise(10000, self.model.latent_dim, seed=2))))
        out["samples"] = out.pop("images")
        return out

    @classmethod
    def test_set(cls, config):
        return ("10,000 samples from N(0, I) noise (seed 2) scored by the dataset's judge "
                "(cnn-mnist for MNIST) against its 10,000 test images")

    @classmethod
    def headline_metric(cls, metrics):
        return first_metric(metrics, "fid_", "min")  # FID by the dataset's judge

    @classmethod
    def headline(cls, m, config):
        title, fid, score = judged(m)
        return f"FID-{title} **{fid}**{_floor_note(m)}, {title} score **{score}**"

    def demo(self, x) -> str:
        return f"sample(16) -> {tuple(self.model.sample(16).shape)}"

    def serving_signatures(self):
        return {
            "generate": (lambda noise: {"images": self.model.generator(noise)},
                         [tf.TensorSpec((None, self.model.latent_dim), tf.float32, name="noise")]),
            "sample": (lambda seed: {"images": self.model.generator(self._serving_sample(seed))},
                       [tf.TensorSpec((None,), tf.int32, name="seed")]),
            "discriminate": (lambda images: {"real_probability": ops.sigmoid(self.model._d(images, None, False))[:, 0]},
                             [tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32, name="images")]),
        }


@keras.saving.register_keras_serializable(package="zoo")
class ConditionalGAN(_GANBase):
    """A GAN that draws the digit asked for (Mirza & Osindero 2014).

    The generator sees the label one-hot beside the noise; the discriminator sees it as ten
    constant image channels and through a projection term (Miyato & Koyama 2018), so it can
    punish a well-drawn digit of the wrong class.

    Example:
        >>> gan = ConditionalGAN(latent_dim=64, seed=0)
        >>> threes = gan.sample(labels=[3, 3, 3])
    """

    conditional = True

    def __init__(self, latent_dim=64, g_filters=(128, 64), d_filters=(64, 128), seed=None, **kwargs):
        super().__init__(latent_dim, g_filters, d_filters, seed, **kwargs)
        self.generator = _generator(self.latent_dim + NUM_CLASSES, self.g_filters, "generator", self.g_dense)
        self.disc_body = discriminator_body(1 + NUM_CLASSES, self.d_filters, "discriminator", self.d_dense,
                                    self.d_batchnorm)
        self.disc_head = layers.Dense(1, dtype="float32", name="disc_logit")
        self.disc_embed = layers.Embedding(NUM_CLASSES, self._d_features(), name="disc_projection",
                                           dtype="float32")

    def build(self, input_shape=None):
        """Create the generator's and discriminator's weights."""
        self.generator.build((None, self.latent_dim + NUM_CLASSES))
        self.disc_body.build((None,) + IMAGE_SHAPE[:2] + (1 + NUM_CLASSES,))
        self.disc_head.build((None, self._d_features()))
        self.disc_embed.build((None,))
        self.built = True

    def discriminator_variables(self):
        """The discriminator's trainable variables (its optimiser's)."""
        return (self.disc_body.trainable_variables + self.disc_head.trainable_variables
                + self.disc_embed.trainable_variables)

    def _g(self, z, y, training):
        return self.generator(ops.concatenate([z, ops.one_hot(y, NUM_CLASSES)], axis=-1), training=training)

    def _d(self, x, y, training):
        onehot = ops.one_hot(y, NUM_CLASSES)
        planes = ops.broadcast_to(onehot[:, None, None, :], (ops.shape(x)[0], 28, 28, NUM_CLASSES))
        h = ops.cast(self.disc_body(ops.concatenate([x, planes], axis=-1), training=training), "float32")
        return self.disc_head(h) + ops.sum(ops.cast(self.disc_embed(y), "float32") * h, axis=-1, keepdims=True)

    def call(self, inputs, training=False):
        """Images of the given digits from `(noise, labels)`."""
        z, y = inputs
        return self._g(z, y, training)

    @empty_batch_safe
    def generate(self, z, labels):
        """Images of the given digits: noise (batch, latent_dim), labels (batch,) ints 0-9."""
        z = check_vectors(z, self.latent_dim, "noise")
        return self._g(z, self._labels(labels, z.shape[0]), False)

    def sample(self, n: int | None = None, labels=None):
        """`labels` digits (or `n` images of digits 0-9 in turn) from fresh noise."""
        if labels is None:
            if n is None:
                raise ValueError("give labels=[...] (the digits to draw) or n (digits 0-9 in turn)")
            labels = np.arange(sample_count(n)) % NUM_CLASSES
        y = self._labels(labels, None if n is None else sample_count(n))
        sample_count(int(y.shape[0]))
        if int(y.shape[0]) == 0:
            return self.generate(np.zeros((0, self.latent_dim), "float32"), np.zeros((0,), "int32"))
        z = keras.random.normal((int(y.shape[0]), self.latent_dim), seed=self.seed_generator)
        return in_chunks(lambda start, rows: self._g(z[start:start + rows], y[start:start + rows], False), int(y.shape[0]))


@register_family(ConditionalGAN)
class ConditionalGANFamily(_GANFamily):
    """A conditional GAN is served and measured by the label asked for."""

    serving_input_bounds = {**Family.serving_input_bounds, "label": (0, NUM_CLASSES - 1)}
    runtime_kind = "conditional_gan"

    def gallery_data(self, dataset: str) -> dict:
        """The class names a visitor picks from."""
        return {"classes": data.CLASS_NAMES.get(dataset, [str(k) for k in range(NUM_CLASSES)])}
    int8_allowed = {"label_accuracy": ("max", 0.003, "abs"), "fid": ("min", 0.10, "rel")}

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """Label accuracy and FID of the card's samples (`label_scores`: 1,000 per class, or
        `limit` per class)."""
        scores = label_scores(runtime_model.generate, runtime_model.latent_dim, judge, limit or 1000)
        return {k: scores[k] for k in ("label_accuracy", judge.fid_name, "samples")}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True,
                     per_label: int = 1000) -> dict:
        """How often the judge reads the digit asked for (`per_label` samples per digit, noise
        seed 3), overall and per digit, with FID-MNIST and the MNIST score of those samples."""
        return label_scores(self.model.generate, self.model.latent_dim, judge, per_label)

    @classmethod
    def test_set(cls, config):
        return ("1,000 samples per class (noise seed 3) scored by the dataset's judge "
                "(cnn-mnist for MNIST) against its 10,000 test images")

    @classmethod
    def headline_metric(cls, metrics):
        return "label_accuracy", "max"

    @classmethod
    def headline(cls, m, config):
        title, fid, score = judged(m)
        return (f"label accuracy **{m['label_accuracy'] * 100:.2f}%**, FID-{title} {fid}{_floor_note(m)}, "
                f"{title} score {score}")

    def demo(self, x) -> str:
        return f"sample(labels=[0..9]) -> {tuple(self.model.sample(labels=np.arange(10)).shape)}"

    def serving_signatures(self):
        label = tf.TensorSpec((None,), tf.int32, name="label")
        return {
            "generate": (lambda noise, label: {"images": self.model._g(noise, label, False)},
                         [tf.TensorSpec((None, self.model.latent_dim), tf.float32, name="noise"), label]),
            "sample": (lambda seed, label: {"images": self.model._g(self._serving_sample(seed), label, False)},
                       [tf.TensorSpec((None,), tf.int32, name="seed"), label]),
        }


@register("dcgan-mnist", model_class=DCGAN, task="generation", dataset="mnist",
          description="DCGAN on MNIST digits: transposed-conv generator, conv discriminator, non-saturating loss.",
          paper="Radford et al. 2015, https://arxiv.org/abs/1511.06434")
def dcgan_mnist(**config):
    """The registered `dcgan-mnist` builder."""
    return DCGAN(**config)


@register("cgan-mnist", model_class=ConditionalGAN, task="conditional-generation", dataset="mnist",
          description="Conditional GAN on MNIST: draws the digit you ask for.",
          paper="Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784")
def cgan_mnist(**config):
    """The registered `cgan-mnist` builder."""
    return ConditionalGAN(**config)


@register("cgan-fashion-mnist", model_class=ConditionalGAN, task="conditional-generation", dataset="fashion-mnist",
          description="Conditional GAN on Fashion-MNIST: draws the garment class you ask for (0 T-shirt ... 9 ankle boot).",
          paper="Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784; data: Xiao et al. 2017")
def cgan_fashion_mnist(**config):
    """The registered `cgan-fashion-mnist` builder."""
    return ConditionalGAN(**config)
