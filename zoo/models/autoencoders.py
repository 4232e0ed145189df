"""The autoencoder family: a plain AE and a VAE sharing one conv encoder/decoder design.

The difference the zoo makes measurable: the VAE's KL term pulls codes towards N(0, I), so
decoding random normal codes gives digits (`VAE.sample`), and straight lines between codes stay
on the data manifold (`interpolate`, `arithmetic`); the AE's code space has holes.

Example:
    >>> import zoo, numpy as np
    >>> vae = zoo.load("vae-mnist")
    >>> imgs = vae.sample(16)                          # (16, 28, 28, 1) in [0, 1]
    >>> x = zoo.data.load_arrays("mnist", "test")[0][:2, ..., None] / 255.0
    >>> path = vae.interpolate(x[0], x[1], steps=8)     # (8, 28, 28, 1)
"""

from __future__ import annotations

import math
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .. import data
from ..files import tile
from ..metrics import dataset_title, judged
from ..registry import judge_for, register
from .base import (IMAGE_SHAPE, Family, ZooModel, check_images, check_temperature, check_vectors, empty_batch_safe,
                   first_metric, in_batches, in_chunks, normal_noise, register_family, sample_count)

LOG_2PI = math.log(2.0 * math.pi)


def conv_encoder(filters, hidden, outputs, activation, name):
    """Strided 3x3 convolutions, a hidden dense layer and `outputs` float32 units."""
    return keras.Sequential(
        [keras.Input(IMAGE_SHAPE)]
        + [layers.Conv2D(f, 3, strides=2, padding="same", activation=activation) for f in filters]
        + [layers.Flatten(), layers.Dense(hidden, activation=activation), layers.Dense(outputs, dtype="float32")],
        name=name,
    )


def conv_decoder(latent_dim, filters, hidden, activation, name):
    """Mirror of the encoder; returns per-pixel logits (float32 even under mixed precision)."""
    top = filters[-1]
    side = IMAGE_SHAPE[0] // 2 ** len(filters)
    return keras.Sequential(
        [keras.Input((latent_dim,)), layers.Dense(hidden, activation=activation),
         layers.Dense(side * side * top, activation=activation), layers.Reshape((side, side, top))]
        + [layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation=activation) for f in reversed(filters)]
        + [layers.Conv2D(1, 3, padding="same", dtype="float32")],
        name=name,
    )


class _AutoEncoderBase(ZooModel):
    def __init__(self, latent_dim=32, filters=(32, 64), hidden=256, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.filters = tuple(int(f) for f in filters)
        self.hidden = int(hidden)
        self.activation = activation
        if IMAGE_SHAPE[0] % 2 ** len(self.filters):
            raise ValueError(f"filters={filters}: 28 is not divisible by 2**{len(self.filters)}")

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "filters": list(self.filters),
                "hidden": self.hidden, "activation": self.activation}

    def decode_logits(self, z, training=False):
        return self.decoder(z, training=training)

    @empty_batch_safe
    def decode(self, z):
        """Images (batch, 28, 28, 1) in [0, 1] from codes (batch, latent_dim)."""
        z = check_vectors(z, self.latent_dim, "codes")
        return ops.sigmoid(self.decode_logits(z))

    @empty_batch_safe
    def reconstruct(self, x):
        """Images (batch, 28, 28, 1) passed through the code (the VAE uses the posterior mean)."""
        return self.call(check_images(x))

    def build(self, input_shape=None):
        self.encoder.build((None,) + IMAGE_SHAPE)
        self.decoder.build((None, self.latent_dim))
        self.built = True


class _AutoEncoderFamily(Family):
    """What the autoencoders share: images and codes served, prior samples (decoded N(0, I)
    codes) scored by the dataset's judge, and the picture of reconstructions and samples."""

    prior_samples_seed = 1  # the fixed N(0, I) draw that every prior-sample score decodes
    needs_judge = True      # the prior samples are scored by cnn-mnist
    recipe_bounds = {"latent_dim": {"low": 1}, "hidden": {"low": 1}, "iw_samples": {"low": 1}}

    def _image_spec(self):
        return [tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32, name="images")]

    def _code_spec(self):
        return [tf.TensorSpec((None, self.model.latent_dim), tf.float32, name="codes")]

    map_digits = 1000  # test digits on a gallery page's map of codes

    def gallery_data(self, dataset: str) -> dict:
        """Test images to pick from, and the map of codes: the codes (a VAE's posterior means) of
        the first 1,000 test digits projected on their two principal axes (PCA), with the mean and
        the axes, so that a point on the map is decoded as mean + a * axis1 + b * axis2."""
        x = data.float_images(dataset, limit=self.map_digits)
        codes = np.asarray(self.encode_mean(x), "float64")
        mean = codes.mean(axis=0)
        axes = np.linalg.svd(codes - mean, full_matrices=False)[2][:2]
        points = (codes - mean) @ axes.T
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = 0.05 * (hi - lo)
        labels = data.load_arrays(dataset, "test")[1][: len(x)]
        return {**self.test_digits(dataset),
                "map": {"points": np.round(points, 3).tolist(), "labels": labels.astype(int).tolist(),
                        "mean": np.round(mean, 6).tolist(), "axes": np.round(axes, 6).tolist(),
                        "extent": [(lo - pad).round(3).tolist(), (hi + pad).round(3).tolist()],
                        "projection": f"PCA of the codes of the first {len(x):,} test images"}}

    def encode_mean(self, x):
        """The codes of images a map shows: the encoder's output."""
        return self.model.encode(x)

    def prior_sample_scores(self, judge, n: int = 10000) -> dict:
        """Decode n codes drawn from N(0, I) and score them: the AE-vs-VAE question in numbers."""
        imgs = in_batches(self.model.decode, normal_noise(n, self.model.latent_dim, seed=self.prior_samples_seed))
        return {f"prior_samples_{k}": v for k, v in judge.score(imgs).items() if k != "images"}

    def picture_codes(self, rng, n: int) -> np.ndarray:
        """The codes the picture's sample rows decode: N(0, I)."""
        return rng.standard_normal((n, self.model.latent_dim)).astype("float32")

    def picture(self, seed: int = 0):
        """Ten test digits, their reconstructions, three rows decoded from N(0, I) codes and
        (VAE) a walk through latent space between two test digits."""
        rng = np.random.default_rng(seed)
        x = data.float_images()
        rows = [x[:10], np.asarray(self.model.reconstruct(x[:10]))]
        rows += list(np.asarray(self.model.decode(self.picture_codes(rng, 30))).reshape(3, 10, 28, 28, 1))
        if hasattr(self.model, "interpolate"):
            rows.append(np.asarray(self.model.interpolate(x[3], x[2], steps=10)))
        return tile(rows)

    def demo(self, x) -> str:
        return f"reconstruction MSE on 4 test digits {float(np.mean((np.asarray(self.model.reconstruct(x)) - x) ** 2)):.4f}"

    @staticmethod
    def _prior_headline(m: dict) -> str:
        title, fid, score = judged(m, "prior_samples_")
        return f"FID-{title} {fid}, {title} score {score}, confidence {m['prior_samples_mean_confidence']}"


def ae_vs_vae_grid(ae, vae, seed: int = 0) -> np.ndarray:
    """Left: a plain AE's decoder fed N(0, I) codes; right: the VAE's. Same codes, 8x8 each."""
    z = np.random.default_rng(seed).standard_normal((64, ae.latent_dim)).astype("float32")
    left = tile(np.asarray(ae.decode(z)).reshape(8, 8, 28, 28, 1))
    right = tile(np.asarray(vae.decode(z[:, : vae.latent_dim])).reshape(8, 8, 28, 28, 1))
    return np.concatenate([left, np.ones((left.shape[0], 8)), right], axis=1)


def _pixel_bce(x, logits):
    """Per-example Bernoulli negative log-likelihood in nats, summed over pixels."""
    return ops.sum(ops.reshape(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), (tf.shape(x)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="zoo")
class AutoEncoder(_AutoEncoderBase):
    """A deterministic convolutional autoencoder trained with per-pixel cross-entropy.

    Example:
        >>> ae = AutoEncoder(latent_dim=32)
        >>> ae.compile(optimizer="adam")
        >>> x = np.random.rand(8, 28, 28, 1).astype("float32")
        >>> history = ae.fit(x, epochs=1, verbose=0)
        >>> ae.reconstruct(x).shape
        TensorShape([8, 28, 28, 1])
    """

    def __init__(self, latent_dim=32, filters=(32, 64), hidden=256, activation="relu", **kwargs):
        super().__init__(latent_dim, filters, hidden, activation, **kwargs)
        self.encoder = conv_encoder(self.filters, self.hidden, self.latent_dim, activation, "encoder")
        self.decoder = conv_decoder(self.latent_dim, self.filters, self.hidden, activation, "decoder")
        self.make_trackers(["loss", "bce", "mse"])

    def call(self, x, training=False):
        """Reconstructions (batch, 28, 28, 1) of images, through the code."""
        return ops.sigmoid(self.decode_logits(self.encoder(x, training=training), training=training))

    @empty_batch_safe
    def encode(self, x):
        """Codes (batch, latent_dim) of images (batch, 28, 28, 1)."""
        return self.encoder(check_images(x))

    def loss_terms(self, batch, training=False):
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        logits = self.decode_logits(self.encoder(x, training=training), training=training)
        bce = _pixel_bce(x, logits)
        mse = ops.mean(ops.reshape(ops.square(ops.sigmoid(logits) - x), (tf.shape(x)[0], -1)), axis=1)
        return {"loss": bce, "bce": bce / 784.0, "mse": mse}


@register_family(AutoEncoder)
class AutoEncoderFamily(_AutoEncoderFamily):
    """A plain autoencoder is served for reconstructions (image in, image out) and measured by
    its reconstruction error; its prior samples show what a VAE adds."""

    serving_default = "reconstruct"  # what an AE is served for: image in, image out
    runtime_kind = "autoencoder"
    int8_allowed = {"test_mse_per_pixel": ("min", 0.10, "rel")}

    def reconstruction_metrics(self, images) -> dict:
        """Per-pixel cross-entropy and squared error of the reconstructions of `images`."""
        bce, mse = [], []
        for i in range(0, len(images), 1000):
            terms = self.model.loss_terms(tf.constant(images[i : i + 1000]), training=False)
            bce.append(terms["bce"].numpy())
            mse.append(terms["mse"].numpy())
        return {"test_bce_per_pixel": round(float(np.concatenate(bce).mean()), 5),
                "test_mse_per_pixel": round(float(np.concatenate(mse).mean()), 6),
                "test_images": int(len(images))}

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """Reconstruction MSE per pixel on the grey-level test set (the first `limit` images)."""
        x = data.float_images(judge.dataset, limit=limit)
        rec = in_batches(runtime_model.reconstruct, x)
        return {"test_mse_per_pixel": round(float(np.mean((rec - x) ** 2)), 6), "test_images": int(len(x))}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True) -> dict:
        """Reconstruction error on the grey-level test set, and the judge's scores of 10,000
        decoded N(0, I) codes (a plain AE's decoder was never trained on them)."""
        return {**self.reconstruction_metrics(data.float_images(judge.dataset, limit=limit)),
                **self.prior_sample_scores(judge)}

    @classmethod
    def test_set(cls, config):
        dataset = config.get("dataset", "mnist")  # the evaluation's (zoo.evaluate adds it)
        return (f"reconstruction: {dataset_title(dataset)} test (10,000) grey levels in [0, 1]; prior samples: 10,000 "
                f"decoded N(0, I) codes (seed 1) scored by {judge_for(dataset) or 'the dataset judge'}")

    @classmethod
    def headline_metric(cls, metrics):
        return "test_mse_per_pixel", "min"

    @classmethod
    def headline(cls, m, config):
        return (f"test BCE {m['test_bce_per_pixel']} / MSE {m['test_mse_per_pixel']} per pixel; "
                f"N(0, I) codes: {cls._prior_headline(m)}")

    def serving_signatures(self):
        return {
            "reconstruct": (lambda images: {"images": self.model.call(images)}, self._image_spec()),
            "encode": (lambda images: {"codes": self.model.encoder(images)}, self._image_spec()),
            "decode": (lambda codes: {"images": ops.sigmoid(self.model.decoder(codes))}, self._code_spec()),
        }


@keras.saving.register_keras_serializable(package="zoo")
class VAE(_AutoEncoderBase):
    """A convolutional variational autoencoder with a Bernoulli likelihood and N(0, I) prior.

    The loss is the negative ELBO in nats per image: reconstruction (Bernoulli NLL) + KL,
    the KL weight warmed up linearly over `kl_warmup_steps` optimiser steps.
    Training batches may carry their own noise, `(images, eps)`, so that a distributed step
    draws the same noise as a single-device one; without it the `SeedGenerator` draws it.

    Example:
        >>> vae = VAE(latent_dim=32, seed=0)
        >>> vae.compile(optimizer="adam")
        >>> x = (np.random.rand(8, 28, 28, 1) > 0.5).astype("float32")
        >>> history = vae.fit(x, epochs=1, verbose=0)
        >>> mean, log_var = vae.encode(x)
        >>> vae.sample(4).shape
        TensorShape([4, 28, 28, 1])
    """

    def __init__(self, latent_dim=32, filters=(32, 64), hidden=256, activation="relu",
                 kl_warmup_steps=0, iw_samples=1, seed=None, **kwargs):
        super().__init__(latent_dim, filters, hidden, activation, **kwargs)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.iw_samples = int(iw_samples)
        if self.iw_samples < 1:
            raise ValueError(f"iw_samples must be >= 1, got {iw_samples}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.encoder = conv_encoder(self.filters, self.hidden, 2 * self.latent_dim, activation, "encoder")
        self.decoder = conv_decoder(self.latent_dim, self.filters, self.hidden, activation, "decoder")
        self.make_trackers(["loss", "reconstruction", "kl"])

    def get_config(self):
        return {**super().get_config(), "kl_warmup_steps": self.kl_warmup_steps, "iw_samples": self.iw_samples,
                "seed": self.seed}

    def _posterior(self, x, training=False):
        mean, log_var = ops.split(self.encoder(x, training=training), 2, axis=-1)
        return mean, log_var

    def call(self, x, training=False):
        """Reconstructions through the posterior mean."""
        mean, _ = self._posterior(x, training=training)
        return ops.sigmoid(self.decode_logits(mean, training=training))

    @empty_batch_safe
    def encode(self, x):
        """(mean, log_variance) of q(z | x), each (batch, latent_dim)."""
        return self._posterior(check_images(x))

    def reparameterize(self, mean, log_var, eps=None):
        """A code sample mean + sigma * eps (eps drawn when not given)."""
        if eps is None:
            eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def kl_weight(self):
        """The KL term's weight: warmed up linearly over `kl_warmup_steps` optimiser steps."""
        if not self.kl_warmup_steps or getattr(self, "optimizer", None) is None:
            return 1.0
        return ops.minimum(1.0, ops.cast(self.optimizer.iterations, "float32") / self.kl_warmup_steps)

    def loss_terms(self, batch, training=False):
        x, eps = (batch[0], batch[-1]) if isinstance(batch, (tuple, list)) else (batch, None)
        mean, log_var = self._posterior(x, training=training)
        if training and self.iw_samples > 1:
            return self._iwae_terms(x, mean, log_var, eps, training)
        if eps is not None:
            eps = eps[:, : self.latent_dim]
        z = self.reparameterize(mean, log_var, eps)
        return self.elbo_terms(x, mean, log_var, self.decode_logits(z, training=training), training)

    def elbo_terms(self, x, mean, log_var, logits, training=False):
        """Per-example -ELBO (`loss`, with the KL warm-up weight when training) and its
        `reconstruction` and `kl` parts, from q(z | x)'s parameters and the decoded logits."""
        rec = _pixel_bce(x, logits)
        kl = 0.5 * ops.sum(ops.square(mean) + ops.exp(log_var) - 1.0 - log_var, axis=1)
        loss = rec + (self.kl_weight() * kl if training else kl)
        return {"loss": loss, "reconstruction": rec, "kl": kl}

    def _iwae_terms(self, x, mean, log_var, eps, training):
        """Importance-weighted bound (Burda et al. 2015) with k = iw_samples: a tighter
        objective than the ELBO that trains the model towards a higher log-likelihood."""
        k = self.iw_samples
        if eps is None:
            eps = keras.random.normal((tf.shape(x)[0], k * self.latent_dim), seed=self.seed_generator)
        eps = tf.reshape(eps, (-1, k, self.latent_dim))
        w = self._log_weights(x, mean, log_var, eps, training)
        kl = 0.5 * ops.sum(ops.square(mean) + ops.exp(log_var) - 1.0 - log_var, axis=1)
        loss = -(tf.reduce_logsumexp(w, axis=1) - math.log(k))
        return {"loss": loss, "reconstruction": loss - kl, "kl": kl}

    def _log_weights(self, x, mean, log_var, eps, training=False):
        b, k = tf.shape(eps)[0], tf.shape(eps)[1]
        z = mean[:, None] + tf.exp(0.5 * log_var)[:, None] * eps                 # (b, k, d)
        logits = self.decode_logits(tf.reshape(z, (-1, self.latent_dim)), training=training)
        log_px_z = -tf.reshape(_pixel_bce(tf.repeat(x, k, axis=0), logits), (b, k))
        log_pz = -0.5 * tf.reduce_sum(tf.square(z) + LOG_2PI, axis=-1)
        log_qz = -0.5 * tf.reduce_sum(tf.square(eps) + LOG_2PI + log_var[:, None], axis=-1)
        return log_px_z + log_pz - log_qz

    def decode_noise(self, noise):
        """Images from codes, without input checks (the serving path)."""
        return ops.sigmoid(self.decode_logits(noise))

    def sample(self, n: int, temperature: float = 1.0):
        """`n` new images decoded from codes drawn from the prior N(0, temperature² I) (at most
        `MAX_SAMPLES` per call; 0 gives an empty batch)."""
        n, temperature = sample_count(n), check_temperature(temperature)
        if n == 0:
            return self.decode(np.zeros((0, self.latent_dim), "float32"))
        return in_chunks(lambda start, rows: self.decode_noise(self.prior_draw(rows, temperature)), n)

    def prior_draw(self, rows: int, temperature: float = 1.0):
        """`rows` codes from the sampling prior, N(0, temperature² I) here."""
        return temperature * keras.random.normal((rows, self.latent_dim), seed=self.seed_generator)

    def _code(self, image):
        image = ops.convert_to_tensor(image)
        return self.encode(image[None] if len(image.shape) == 3 else image)[0]

    def interpolate(self, a, b, steps: int = 8):
        """`steps` images on the straight line between the codes of images `a` and `b`."""
        if int(steps) < 2:
            raise ValueError(f"steps must be at least 2, got {steps}")
        za, zb = self._code(a), self._code(b)
        t = ops.reshape(ops.linspace(0.0, 1.0, int(steps)), (-1, 1))
        return self.decode(za + t * (zb - za))

    def arithmetic(self, a, b, c):
        """Decode z(a) - z(b) + z(c) (per row for batches): 'a is to b as ? is to c'."""
        return self.decode(self._code(a) - self._code(b) + self._code(c))

    def log_importance_weights(self, x, k: int, seed=0):
        """log p(x, z) - log q(z | x) for `k` samples z ~ q per image: shape (batch, k).

        `logsumexp(w, axis=1) - log k` is the importance-sampled estimate of log p(x) (IWAE
        bound), which tightens towards the true log-likelihood as k grows.
        """
        x = check_images(x)
        mean, log_var = self._posterior(x)
        eps = tf.random.stateless_normal(tf.stack([tf.shape(x)[0], k, self.latent_dim]), seed=[seed, 7])
        return self._log_weights(x, mean, log_var, eps)

    def likelihood_metrics(self, images: np.ndarray, k: int = 1000, seed: int = 0, verbose: bool = True) -> dict:
        """Test NLL in nats by importance sampling with `k` samples per image (log-mean-exp of
        p(x, z) / q(z | x)), and the ELBO with its reconstruction and KL parts."""
        per_call = max(1, 20000 // k)  # images per call: ~20k decoder passes

        @tf.function(reduce_retracing=True)
        def batch_stats(x, s):
            w = self.log_importance_weights(x, k, seed=s)
            nll = -(tf.reduce_logsumexp(w, axis=1) - math.log(k))
            # the ELBO's single noise draw comes from the evaluation's seed too, so the card's
            # -ELBO is reproducible (the model's own SeedGenerator is unseeded by default)
            eps = tf.random.stateless_normal(tf.stack([tf.shape(x)[0], self.latent_dim]), seed=tf.stack([s, 11]))
            terms = self.loss_terms((x, eps), training=False)
            return nll, terms["loss"], terms["reconstruction"], terms["kl"]

        parts = {"nll": [], "elbo": [], "rec": [], "kl": []}
        t0 = time.time()
        for i in range(0, len(images), per_call):
            x = images[i : i + per_call]
            out = batch_stats(tf.constant(x), tf.constant(seed * 1_000_003 + i, tf.int32))
            for key, v in zip(parts, out):
                parts[key].append(v.numpy())
            if verbose and (i // per_call) % 50 == 0:
                print(f"  {i + len(x)}/{len(images)} images, NLL so far {np.concatenate(parts['nll']).mean():.2f} nats, "
                      f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        p = {k2: np.concatenate(v) for k2, v in parts.items()}
        return {
            f"test_nll_nats_is{k}": round(float(p["nll"].mean()), 3),
            "test_nll_stderr": round(float(p["nll"].std() / math.sqrt(len(images))), 3),
            "test_neg_elbo_nats": round(float(p["elbo"].mean()), 3),
            "test_reconstruction_nats": round(float(p["rec"].mean()), 3),
            "test_kl_nats": round(float(p["kl"].mean()), 3),
            "test_images": int(len(images)),
        }


@register_family(VAE)
class VAEFamily(_AutoEncoderFamily):
    """A VAE is served for new digits from noise first, measured by its test log-likelihood,
    and pictured beside a plain autoencoder on the same N(0, I) codes."""

    serving_default = "sample"  # a generative model's main request: new digits from noise
    runtime_kind = "vae"
    int8_allowed = {"test_nll_nats_is": ("min", 0.5, "abs")}
    runtime_images = 2000  # test digits of the runtime NLL: ONNX Runtime decodes ~5,000 images/s here

    def encode_mean(self, x):
        """The posterior means: where a map places each image."""
        return self.model.encode(x)[0]

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None, k: int = 100) -> dict:
        """Test NLL in nats by importance sampling, `k` samples per image, on the first 2,000
        (or `limit`) test digits binarised with seed 0, from the ONNX `encode` and `decode`
        (Bernoulli probabilities, clipped to [1e-7, 1 - 1e-7]); the draws are fixed (seed 0),
        so float32 and int8 see the same ones. Fewer samples and digits than the card's NLL:
        comparable between precisions, close to (not equal to) the card's number."""
        x = data.binarized_test_images(judge.dataset, seed=0)[: limit or cls.runtime_images]
        rng, nll, per_call = np.random.default_rng(0), [], max(1, 4000 // k)
        for i in range(0, len(x), per_call):
            xb = x[i : i + per_call].reshape(-1, 1, int(np.prod(IMAGE_SHAPE))).astype("float64")
            mean, log_var = (a.astype("float64")[:, None] for a in runtime_model.encode(x[i : i + per_call]))
            eps = rng.standard_normal((len(xb), k, mean.shape[-1]))
            z = mean + np.exp(0.5 * log_var) * eps
            p = runtime_model.decode(z.reshape(-1, mean.shape[-1]).astype("float32")).reshape(len(xb), k, -1)
            p = np.clip(p.astype("float64"), 1e-7, 1 - 1e-7)
            log_px = (xb * np.log(p) + (1 - xb) * np.log1p(-p)).sum(-1)
            log_w = log_px - 0.5 * (z ** 2).sum(-1) + 0.5 * (eps ** 2 + log_var).sum(-1)  # the 2π terms cancel
            top = log_w.max(axis=1, keepdims=True)
            nll.append(-(top[:, 0] + np.log(np.exp(log_w - top).mean(axis=1))))
        return {f"test_nll_nats_is{k}": round(float(np.concatenate(nll).mean()), 3), "test_images": int(len(x))}

    def noise_dim(self):
        return self.model.latent_dim * self.model.iw_samples

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True) -> dict:
        """NLL (importance sampling, `samples` per image) and ELBO on the test set binarised once
        with seed 0, and the judge's scores of 10,000 decoded N(0, I) codes."""
        x = data.binarized_test_images(judge.dataset, seed=0)[:limit]
        return {**self.model.likelihood_metrics(x, k=samples, verbose=verbose), **self.prior_sample_scores(judge)}

    @classmethod
    def test_set(cls, config):
        dataset = config.get("dataset", "mnist")
        return (f"NLL/ELBO: {dataset_title(dataset)} test (10,000) binarised once with seed 0; prior samples: 10,000 "
                f"decoded N(0, I) codes (seed 1) scored by {judge_for(dataset) or 'the dataset judge'} against the "
                "test set")

    @classmethod
    def headline_metric(cls, metrics):
        return first_metric(metrics, "test_nll_nats_is", "min")  # named by its importance samples

    @classmethod
    def headline(cls, m, config):
        return (f"test NLL **{m['test_nll_nats_is1000']} nats** (IS, 1,000 samples), -ELBO {m['test_neg_elbo_nats']}; "
                f"N(0, I) samples: {cls._prior_headline(m)}")

    def demo(self, x) -> str:
        s = np.asarray(self.model.sample(16))
        return (super().demo(x) + f"; sample(16) -> {s.shape}, mean pixel {s.mean():.3f}; "
                f"interpolate -> {tuple(self.model.interpolate(x[0], x[1], 8).shape)}; "
                f"arithmetic -> {tuple(self.model.arithmetic(x[0], x[1], x[2]).shape)}")

    def demo_pictures(self, models: dict, seed: int = 0) -> dict:
        """Beside a plain autoencoder: both decoders fed the same N(0, I) codes (ae-vs-vae.png)."""
        aes = [m for m in models.values() if isinstance(m, AutoEncoder)]
        return {"ae-vs-vae.png": ae_vs_vae_grid(aes[0], self.model, seed)} if aes else {}

    def serving_signatures(self):
        def reconstruct(images):
            return {"images": self.model.call(images)}

        def encode(images):
            mean, log_var = self.model._posterior(images)
            return {"mean": mean, "log_variance": log_var}

        def decode(codes):
            return {"images": ops.sigmoid(self.model.decoder(codes))}

        def sample(noise):
            # Serving draws no random numbers itself: the caller sends N(0, I) noise, so a
            # request is reproducible and the signature stays a pure function.
            return {"images": ops.sigmoid(self.model.decoder(noise))}

        return {
            "sample": (sample, [tf.TensorSpec((None, self.model.latent_dim), tf.float32, name="noise")]),
            "reconstruct": (reconstruct, self._image_spec()),
            "encode": (encode, self._image_spec()),
            "decode": (decode, self._code_spec()),
        }


# Registry entries. The recipe (train/<name>.toml) holds the config these builders receive.


@register("ae-mnist", model_class=AutoEncoder, task="autoencoding", dataset="mnist",
          description="Convolutional autoencoder on MNIST digits (32-d code).",
          paper="Hinton & Salakhutdinov 2006, https://doi.org/10.1126/science.1127647")
def ae_mnist(**config):
    """The registered `ae-mnist` builder."""
    return AutoEncoder(**config)


@register("vae-mnist", model_class=VAE, task="generation", dataset="mnist",
          description="Convolutional VAE on dynamically binarised MNIST (32-d latent, Bernoulli likelihood).",
          paper="Kingma & Welling 2013, https://arxiv.org/abs/1312.6114")
def vae_mnist(**config):
    """The registered `vae-mnist` builder."""
    return VAE(**config)
