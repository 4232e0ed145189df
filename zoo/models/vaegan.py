"""VAE-GAN: a VAE whose decoder also answers to a discriminator, the course's "discriminator
as an addition to the loss function, penalising (with λ) an ability to see differences
between real and fake" (Larsen et al. 2016, https://arxiv.org/abs/1512.09300).

The encoder and decoder minimise the VAE's negative ELBO (Bernoulli reconstruction + KL, in
nats per image) plus λ (`adversarial_weight`) times the non-saturating adversarial term on
the decoder's reconstructions and on its samples from the prior. The adversarial term reaches
the decoder only (as in Larsen et al., the encoder answers to the ELBO alone). The
discriminator learns to tell real images from both kinds of decoded ones. λ = 0 is exactly
the plain VAE (same loss, same update), with a discriminator that watches without teaching.

Sampling: a VAE's N(0, I) prior covers codes its encoder never uses, and decoding those gives
its worst digits. With `prior_components` > 0 the finished model also fits a Gaussian mixture
to its encoder's codes of the training images (ex-post density estimation, Ghosh et al. 2020,
https://arxiv.org/abs/1903.12436) and samples from it; training is unchanged.

Example:
    >>> vg = VAEGAN(latent_dim=16, filters=(8, 16), hidden=32, d_filters=(8, 16), d_dense=32,
    ...             adversarial_weight=10.0, seed=0)
    >>> vg.build()
    >>> x = np.random.rand(4, 28, 28, 1).astype("float32")
    >>> vg.reconstruct(x).shape, vg.sample(3).shape, vg.discriminate(x).shape
    (TensorShape([4, 28, 28, 1]), TensorShape([3, 28, 28, 1]), TensorShape([4]))
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .. import data
from ..metrics import judged
from ..registry import register
from .autoencoders import VAE, VAEFamily
from .base import (IMAGE_SHAPE, check_images, check_unit_interval, check_vectors, ema_weights, empty_batch_safe,
                   first_metric, in_batches, minimize, normal_noise, register_family)
from .gans import bce_fake, bce_real, discriminator_body, diversity


@keras.saving.register_keras_serializable(package="zoo")
class VAEGAN(VAE):
    """A VAE (grey-level Bernoulli likelihood, N(0, I) prior) plus a discriminator whose verdict
    on decoded images is a learned loss weighted by `adversarial_weight` (λ).

    Args:
        latent_dim, filters, hidden, activation, kl_warmup_steps, seed: as `VAE`.
        adversarial_weight: λ, the weight of the adversarial term in the decoder's loss, in
            nats per image per unit of discriminator cross-entropy; 0 trains a plain VAE.
        d_filters: the discriminator's two strided convolutions.
        d_dense: its hidden dense layer (0: none).
        ema: decay of the moving average of the encoder's and decoder's weights that is
            exported and scored (0: off, e.g. 0.999), as the GANs' generators.
        prior_components: Gaussians in the mixture fitted to the posterior means of the
            training images once training is done (`fit_prior`), that `sample` draws from
            (0: N(0, I) only).
        feature_matching: add, inside the λ-weighted term, Larsen et al.'s reconstruction error
            in the discriminator's hidden features (0.5 × squared distance between D's
            features of an image and of its reconstruction; it trains encoder and decoder).
            Off in the recipe: at λ = 10 it outweighed the pixels' term and D won.

    Training batches are `(images, noise)` with noise (batch, 2 × latent_dim): the first half
    is the posterior's reparameterisation noise, the second the prior codes whose decodings
    the discriminator judges, so a distributed step draws exactly what one device draws.
    """

    def __init__(self, latent_dim=32, filters=(32, 64), hidden=256, activation="relu", kl_warmup_steps=0,
                 adversarial_weight=1.0, d_filters=(64, 128), d_dense=1024, ema=0.0, feature_matching=False,
                 prior_components=0, seed=None, **kwargs):
        if int(kwargs.pop("iw_samples", 1)) != 1:
            raise ValueError("a VAE-GAN trains on the ELBO (iw_samples = 1); the importance-weighted bound is the VAE's")
        super().__init__(latent_dim, filters, hidden, activation, kl_warmup_steps=kl_warmup_steps, iw_samples=1,
                         seed=seed, **kwargs)
        self.adversarial_weight = float(adversarial_weight)
        if not (self.adversarial_weight >= 0 and np.isfinite(self.adversarial_weight)):
            raise ValueError(f"adversarial_weight (λ) must be a finite number >= 0, got {adversarial_weight}")
        self.d_filters = tuple(int(f) for f in d_filters)
        self.d_dense = int(d_dense)
        if not 0.0 <= float(ema) < 1.0:
            raise ValueError(f"ema is a decay in [0, 1) (0 = off, e.g. 0.999), got {ema}")
        self.ema = float(ema)
        self.feature_matching = bool(feature_matching)
        self.prior_components = int(prior_components)
        if self.prior_components < 0:
            raise ValueError(f"prior_components must be >= 0 (0: sample N(0, I)), got {prior_components}")
        self.disc_body = discriminator_body(1, self.d_filters, "discriminator", self.d_dense)
        self.disc_head = layers.Dense(1, dtype="float32", name="disc_logit")
        self.make_trackers(["loss", "reconstruction", "kl", "adversarial", *(["features"] * self.feature_matching),
                            "d_loss", "d_real", "d_fake", "diversity"])

    def get_config(self):
        config = {**super().get_config(), "adversarial_weight": self.adversarial_weight,
                  "d_filters": list(self.d_filters), "d_dense": self.d_dense, "ema": self.ema,
                  "feature_matching": self.feature_matching, "prior_components": self.prior_components}
        config.pop("iw_samples")
        return config

    def build(self, input_shape=None):
        """Create the encoder's, decoder's and discriminator's weights."""
        super().build(input_shape)
        self.disc_body.build((None,) + IMAGE_SHAPE)
        self.disc_head.build((None, self.d_dense or 7 * 7 * self.d_filters[1]))
        if self.prior_components and not hasattr(self, "prior_means"):
            # Until `fit_prior`, every component is N(0, I): the mixture is the ELBO's prior.
            k, d = self.prior_components, self.latent_dim
            self.prior_means = self.add_weight(shape=(k, d), initializer="zeros", trainable=False, name="prior_means")
            self.prior_cholesky = self.add_weight(
                shape=(k, d, d), trainable=False, name="prior_cholesky",
                initializer=lambda shape, dtype=None: ops.broadcast_to(ops.eye(d, dtype=dtype), shape))
            self.prior_cumulative = self.add_weight(
                shape=(k,), trainable=False, name="prior_cumulative",
                initializer=lambda shape, dtype=None: ops.cast(ops.arange(1, k + 1) / k, dtype))
        self.built = True

    # --- the fitted prior ---------------------------------------------------------------------
    def fit_prior(self, images, seed: int = 0) -> dict:
        """Fit the `prior_components`-Gaussian mixture (full covariances, EM by scikit-learn)
        to the posterior means of `images`; `sample` then draws from it. Returns the fit's
        mean log-likelihood per code and whether EM converged."""
        from sklearn.mixture import GaussianMixture  # here, not at import: ~1 s that only fitting needs

        if not self.prior_components:
            raise ValueError("this model samples N(0, I): set prior_components > 0 to fit a prior")
        codes = in_batches(lambda x: self.encode(x)[0], np.asarray(images, "float32")).astype("float64")
        gm = GaussianMixture(self.prior_components, covariance_type="full", reg_covar=1e-4, max_iter=300,
                             random_state=seed).fit(codes)
        self.prior_means.assign(gm.means_.astype("float32"))
        self.prior_cholesky.assign(np.linalg.cholesky(gm.covariances_).astype("float32"))
        cumulative = np.cumsum(gm.weights_)
        self.prior_cumulative.assign((cumulative / cumulative[-1]).astype("float32"))
        return {"prior_components": self.prior_components, "prior_fit_codes": len(codes),
                "prior_fit_log_likelihood": round(float(gm.score(codes)), 4), "prior_fit_converged": bool(gm.converged_)}

    def prior_is_fitted(self) -> bool:
        """Whether `fit_prior` has set the mixture: unfitted, every mean is exactly 0 (N(0, I));
        means fitted to continuous codes are not all exactly 0."""
        return bool(self.prior_components) and bool(np.any(self.prior_means.numpy()))

    def prior_codes(self, noise, uniform):
        """Codes from the fitted mixture: `uniform` in [0, 1) picks each row's component (by
        the mixture's weights), `noise` ~ N(0, I) its point (mean + Cholesky factor × noise).
        Pure: the caller's random numbers decide, so a request is reproducible."""
        k = self.prior_components
        noise, uniform = check_vectors(noise, self.latent_dim, "noise"), check_unit_interval(uniform, "uniform")
        component = ops.minimum(ops.sum(ops.cast(uniform[:, None] >= self.prior_cumulative[None, :], "int32"), axis=1),
                                k - 1)
        scale = ops.take(self.prior_cholesky, component, axis=0)
        return ops.take(self.prior_means, component, axis=0) + ops.einsum("nij,nj->ni", scale, noise)

    def prior_draw(self, rows: int, temperature: float = 1.0):
        """`rows` codes from the fitted mixture when `prior_components` > 0 (temperature scales
        each component's spread), else N(0, temperature² I): what `sample` decodes."""
        if not self.prior_components:
            return super().prior_draw(rows, temperature)
        return self.prior_codes(temperature * keras.random.normal((rows, self.latent_dim), seed=self.seed_generator),
                                keras.random.uniform((rows,), seed=self.seed_generator))

    def vae_variables(self):
        """The encoder's and decoder's trainable variables (the VAE optimiser's)."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def discriminator_variables(self):
        """The discriminator's trainable variables (its optimiser's)."""
        return self.disc_body.trainable_variables + self.disc_head.trainable_variables

    def _d(self, images, training=False):
        return self.disc_head(self.disc_body(images, training=training))

    def _split(self, batch):
        x, noise = self.unwrap(batch)
        return x, noise[:, : self.latent_dim], noise[:, self.latent_dim :]

    def _decoded(self, x, eps, z_prior, training):
        """Reconstructions (through a posterior sample, no gradient to the encoder) and prior samples."""
        mean, log_var = self._posterior(x, training=training)
        z = tf.stop_gradient(self.reparameterize(mean, log_var, eps))
        return (ops.sigmoid(self.decode_logits(z, training=training)),
                ops.sigmoid(self.decode_logits(z_prior, training=training)))

    def loss_terms(self, batch, training=False):
        """The VAE's terms on `(images, noise)` plus the adversarial term; `loss` is the -ELBO
        plus λ × adversarial (exactly the VAE's loss when λ = 0)."""
        x, eps, z_prior = self._split(batch)
        if not self.adversarial_weight:  # the VAE's own loss; the discriminator only watches
            rec, prior = self._decoded(x, eps, z_prior, training)
            return {**super().loss_terms((x, eps), training=training), "adversarial": self._adversarial(rec, prior)}
        mean, log_var = self._posterior(x, training=training)
        z = self.reparameterize(mean, log_var, eps)
        n = tf.shape(x)[0]
        # One decoder call for the ELBO's code, the same code cut off from the encoder (the
        # adversarial term teaches the decoder only) and the prior codes: each decoder weight
        # then has one gradient, not three summed in an order that varied between runs (the
        # seeded-determinism test caught differences of 1e-7).
        logits = self.decode_logits(ops.concatenate([z, tf.stop_gradient(z), z_prior], axis=0), training=training)
        terms = self.elbo_terms(x, mean, log_var, logits[:n], training)
        images = ops.sigmoid(logits[n:])
        if not self.feature_matching:
            adversarial = self._adversarial(images[:n], images[n:])
            return {**terms, "loss": terms["loss"] + self.adversarial_weight * adversarial, "adversarial": adversarial}
        # One D body call: the real images, the ELBO's reconstructions (their features train
        # encoder and decoder), then the decodings the adversarial term judges.
        features = self.disc_body(ops.concatenate([x, ops.sigmoid(logits[:n]), images], axis=0))
        matching = 0.5 * ops.sum(ops.square(features[:n] - features[n : 2 * n]), axis=1)
        d_logits = self.disc_head(features[2 * n :])
        adversarial = 0.5 * (bce_real(d_logits[:n]) + bce_real(d_logits[n:]))
        return {**terms, "loss": terms["loss"] + self.adversarial_weight * (adversarial + matching),
                "adversarial": adversarial, "features": matching}

    def _adversarial(self, rec, prior):
        """The decoder's non-saturating adversarial term per example: -log D of its reconstruction
        and of its prior sample, averaged (one discriminator call for both)."""
        n = tf.shape(rec)[0]
        logits = self._d(ops.concatenate([rec, prior], axis=0))
        return 0.5 * (bce_real(logits[:n]) + bce_real(logits[n:]))

    def _d_terms(self, x, rec, prior, training):
        real, fake_rec, fake_prior = self._d(x, training), self._d(rec, training), self._d(prior, training)
        d_per = bce_real(real) + 0.5 * (bce_fake(fake_rec) + bce_fake(fake_prior))
        fake = ops.concatenate([ops.sigmoid(fake_rec), ops.sigmoid(fake_prior)], axis=0)
        return d_per, {"d_loss": d_per, "d_real": ops.reshape(ops.sigmoid(real), (-1,)),
                       "d_fake": ops.reshape(fake, (-1,)), "diversity": diversity(prior)}

    def train_step(self, batch):
        """A discriminator step on real images against this batch's decodings, then a VAE step."""
        x, eps, z_prior = self._split(batch)
        rec, prior = self._decoded(x, eps, z_prior, training=True)
        rec, prior = tf.stop_gradient(rec), tf.stop_gradient(prior)
        with tf.GradientTape() as tape:
            d_per, d_terms = self._d_terms(x, rec, prior, training=True)
            d_loss = self.d_optimizer.scale_loss(tf.nn.compute_average_loss(d_per))
        minimize(self.d_optimizer, tape, d_loss, self.discriminator_variables())
        with tf.GradientTape() as tape:
            terms = self.loss_terms(batch, training=True)
            loss = self.optimizer.scale_loss(tf.nn.compute_average_loss(terms["loss"]))
        minimize(self.optimizer, tape, loss, self.vae_variables())
        return self.track({**terms, **d_terms})

    def test_step(self, batch):
        x, eps, z_prior = self._split(batch)
        terms = self.loss_terms(batch, training=False)
        return self.track({**terms, **self._d_terms(x, *self._decoded(x, eps, z_prior, False), False)[1]})

    @empty_batch_safe
    def discriminate(self, x):
        """Probability that each image is real, per the learned loss."""
        return ops.sigmoid(self._d(check_images(x)))[:, 0]


@register_family(VAEGAN)
class VAEGANFamily(VAEFamily):
    """A VAE-GAN is served as a VAE plus its discriminator (and its fitted prior's sampler),
    trained with two optimisers, and measured by the judge on its samples and reconstructions."""

    recipe_bounds = {"ema": {"high": 0.9999}}
    runtime_kind = "vaegan"
    int8_allowed = {"fitted_prior_samples_fid": ("min", 0.10, "rel")}

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """The judge's FID of 10,000 (or `limit`) decoded draws from the fitted prior (the
        draws of `fitted_prior_sample_scores`: seeds 1 and 2)."""
        n = limit or 10000
        noise = normal_noise(n, runtime_model.latent_dim, seed=cls.prior_samples_seed)
        uniform = np.random.default_rng(2).random(n).astype("float32")
        imgs = in_batches(lambda e, u: runtime_model.output("sample_fitted", "images", e, u), noise, uniform)
        return {f"fitted_prior_samples_{judge.fid_name}": judge.score(imgs)[judge.fid_name], "samples": n}
    serving_input_bounds = {**VAEFamily.serving_input_bounds, "uniform": (0.0, 1.0)}

    def picture_codes(self, rng, n: int) -> np.ndarray:
        """The picture's sample rows come from the model's prior: the fitted mixture if any."""
        noise = rng.standard_normal((n, self.model.latent_dim)).astype("float32")
        if not self.model.prior_components:
            return noise
        return np.asarray(self.model.prior_codes(noise, rng.random(n).astype("float32")))

    def fitted_prior_sample_scores(self, judge, n: int = 10000) -> dict:
        """The judge's scores of n decoded draws from the fitted mixture (fixed seeds 1 and 2)."""
        noise = normal_noise(n, self.model.latent_dim, seed=self.prior_samples_seed)
        uniform = np.random.default_rng(2).random(n).astype("float32")
        imgs = in_batches(lambda e, u: self.model.decode(self.model.prior_codes(e, u)), noise, uniform)
        return {f"fitted_prior_samples_{k}": v for k, v in judge.score(imgs).items() if k != "images"}

    def noise_dim(self):
        return 2 * self.model.latent_dim  # posterior noise, then prior codes

    def make_optimizers(self, make):
        self.model.compile(optimizer=make(ema_momentum=self.model.ema or None))
        self.model.d_optimizer = make()
        self.model.optimizer.build(self.model.vae_variables())
        self.model.d_optimizer.build(self.model.discriminator_variables())
        return {"optimizer": self.model.optimizer, "d_optimizer": self.model.d_optimizer}

    def health_check(self, metrics):
        # An untrained decoder maps every code to the same mean image: diversity starts near 0
        # and is a collapse only once the decoder has had time to use its code.
        steps = int(self.model.optimizer.iterations.numpy()) if getattr(self.model, "optimizer", None) is not None else 0
        if steps >= max(self.model.kl_warmup_steps, 500) and metrics.get("diversity", 1.0) < 0.02:
            return f"mode collapse: prior samples barely differ (diversity {metrics['diversity']:.4f})"
        if self.model.adversarial_weight and metrics.get("d_loss", 1.0) < 1e-3:
            return f"the discriminator wins outright (d_loss {metrics['d_loss']:.2e}): the decoder gets no gradient from it"
        return None

    def finalize_training(self, dataset: str):
        """Once training is complete the averaged weights become the model's (saved, exported),
        and the sampling prior is fitted to their codes of the training images."""
        if self.model.ema:
            self.model.optimizer.finalize_variable_values(self.model.vae_variables())
        if self.model.prior_components:
            self.model.fit_prior(data.float_images(dataset, "train"))

    @contextlib.contextmanager
    def averaged_weights(self):
        """Temporarily run with the averaged encoder and decoder (to score an epoch); the
        training weights come back after."""
        with ema_weights(getattr(self.model, "optimizer", None), self.model.vae_variables()):
            yield self.model

    # --- evaluation ---------------------------------------------------------------------------
    def elbo_metrics(self, images, seed: int = 0) -> dict:
        """-ELBO and its parts in nats per image on grey-level `images` (one posterior sample
        per image from a fixed seed), and the per-pixel squared error of the posterior-mean
        reconstructions."""
        eps = normal_noise(len(images), self.model.latent_dim, seed=seed)
        parts = {"elbo": [], "rec": [], "kl": [], "mse": []}
        for i in range(0, len(images), 1000):
            x = tf.constant(images[i : i + 1000])
            t = VAE.loss_terms(self.model, (x, tf.constant(eps[i : i + 1000])), training=False)
            for key, value in (("elbo", t["loss"]), ("rec", t["reconstruction"]), ("kl", t["kl"])):
                parts[key].append(np.asarray(value))
            parts["mse"].append(np.mean((np.asarray(self.model.call(x)) - images[i : i + 1000]) ** 2, axis=(1, 2, 3)))
        p = {k: np.concatenate(v) for k, v in parts.items()}
        return {"test_neg_elbo_nats": round(float(p["elbo"].mean()), 3),
                "test_reconstruction_nats": round(float(p["rec"].mean()), 3),
                "test_kl_nats": round(float(p["kl"].mean()), 3),
                "test_mse_per_pixel": round(float(p["mse"].mean()), 6), "test_images": int(len(images))}

    def reconstruction_scores(self, judge, images) -> dict:
        """The judge's scores of the reconstructions of `images`, and how often the judge reads
        the same class in a reconstruction as in its input (the label kept)."""
        rec = in_batches(self.model.reconstruct, images)
        kept = judge.probabilities(rec).argmax(axis=1) == judge.probabilities(images).argmax(axis=1)
        scores = {f"reconstructions_{k}": v for k, v in judge.score(rec).items() if k != "images"}
        return {**scores, "reconstructions_label_kept": round(float(kept.mean()), 5)}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True) -> dict:
        """-ELBO, reconstruction error, the judge's scores of reconstructions (with the label
        kept) on the grey-level test set, of 10,000 decoded N(0, I) codes (seed 1) and, once the
        prior is fitted, of 10,000 draws from it."""
        x = data.float_images(judge.dataset, limit=limit)
        # Before the fit (each epoch's scores) the mixture is N(0, I): its draws are not the fitted prior's.
        fitted = self.fitted_prior_sample_scores(judge) if self.model.prior_is_fitted() else {}
        return {**self.elbo_metrics(x), **self.reconstruction_scores(judge, x), **self.prior_sample_scores(judge),
                **fitted}

    def epoch_scores(self, judge):
        """The card's judge scores of the averaged weights after each epoch, for the history."""
        with self.averaged_weights():
            out = self.card_metrics(judge)
        return {k: v for k, v in out.items() if isinstance(v, float)}

    @classmethod
    def test_set(cls, config):
        return ("-ELBO, MSE and reconstructions: the dataset's 10,000 test images, grey levels in [0, 1] (one "
                "posterior sample per image, seed 0); prior samples: 10,000 decoded N(0, I) codes (seed 1); fitted-prior "
                "samples (prior_components > 0): 10,000 draws from the mixture (noise seed 1, component seed 2); "
                "all scored by the dataset's judge (cnn-mnist for MNIST)")

    @classmethod
    def headline_metric(cls, metrics):
        fitted = first_metric(metrics, "fitted_prior_samples_fid_", "min")  # the fitted prior, when there is one
        return fitted or first_metric(metrics, "prior_samples_fid_", "min")

    @classmethod
    def headline(cls, m, config):
        fitted = ""
        if "fitted_prior_samples_mean_confidence" in m:
            title, fid, score = judged(m, "fitted_prior_samples_")
            fitted = (f"samples from the fitted {config.get('prior_components')}-Gaussian prior: **FID-{title} {fid}**, "
                      f"{title} score {score}; ")
        return (f"λ = {config.get('adversarial_weight')}: {fitted}N(0, I) samples: {cls._prior_headline(m)}; "
                f"reconstructions keep the label **{m['reconstructions_label_kept'] * 100:.2f}%**, "
                f"MSE {m['test_mse_per_pixel']}; -ELBO {m['test_neg_elbo_nats']} nats (grey levels)")

    def serving_signatures(self):
        sigs = super().serving_signatures()
        sigs["discriminate"] = (lambda images: {"real_probability": ops.sigmoid(self.model._d(images))[:, 0]},
                                self._image_spec())
        if self.model.prior_components:
            sigs["sample_fitted"] = (
                lambda noise, uniform: {"images": ops.sigmoid(self.model.decoder(self.model.prior_codes(noise, uniform)))},
                [tf.TensorSpec((None, self.model.latent_dim), tf.float32, name="noise"),
                 tf.TensorSpec((None,), tf.float32, name="uniform")])
        return sigs

    @property
    def serving_default(self):
        """The fitted prior's sampler when there is one (the better samples), else `sample`."""
        return "sample_fitted" if self.model.prior_components else "sample"


@register("vaegan-mnist", model_class=VAEGAN, task="generation", dataset="mnist",
          description="VAE-GAN on MNIST: a VAE whose decoder also answers to a discriminator, weighted by λ.",
          paper="Larsen et al. 2016, https://arxiv.org/abs/1512.09300")
def vaegan_mnist(**config):
    """The registered `vaegan-mnist` builder."""
    return VAEGAN(**config)
