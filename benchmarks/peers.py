"""The published Keras examples a user would pick instead of the zoo (issue 17), rebuilt from
their pages as published: architecture, optimiser, batch size, epochs and data (train and
test digits together where the example trains on both), read from the local MNIST files
instead of a download. Each trains with `fit` as its page does and is scored afterwards by
the zoo's own yardstick for that kind of model (`benchmarks/run.py`'s `_metric`), so the
zoo's recipe can be timed to the same quality in the same run.

- convnet: https://keras.io/examples/vision/mnist_convnet/ (fchollet): two 3x3 convolutions
  (32, 64, ReLU) each with 2x2 max pooling, dropout 0.5, softmax; Adam (default rate),
  categorical cross-entropy, batch 128, 15 epochs, 10% of the training set held out for
  validation. Yardstick: accuracy on the 10,000 test digits.
- vae: https://keras.io/examples/generative/vae/ (fchollet): 2-d latent; encoder 3x3
  convolutions 32, 64 (stride 2, ReLU), dense 16, mean and log-variance; decoder dense 7x7x64,
  transposed convolutions 64, 32 (stride 2, ReLU), sigmoid output; loss per image: summed
  binary cross-entropy + KL, averaged over the batch; Adam (default rate), batch 128, 30 epochs
  on the 70,000 grey-level train and test digits. Yardstick: -ELBO in nats on the fixed
  binarised test set (one posterior sample per image), as the zoo's VAE threshold; since the
  example trains on the test digits too, this favours the peer.
- cgan: https://keras.io/examples/generative/conditional_gan/ (Sayak Paul): latent 128; the
  label as a one-hot beside the noise and as ten constant image planes beside the image;
  generator dense 7x7x138 (leaky ReLU 0.2), two 4x4 stride-2 transposed convolutions of 128
  (leaky ReLU), 7x7 sigmoid convolution; discriminator 3x3 stride-2 convolutions 64, 128
  (leaky ReLU 0.2), global max pooling, one logit; binary cross-entropy on logits, Adam 3e-4
  for both, batch 64 (shuffle buffer 1,024), 20 epochs on the 70,000 train and test digits.
  Yardstick: label accuracy by cnn-mnist of 100 samples per digit (and FID-MNIST), as the
  zoo's cGAN threshold.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from zoo import data
from zoo.models.base import normal_noise
from zoo.models.gans import label_scores

SOURCES = {
    "convnet": "https://keras.io/examples/vision/mnist_convnet/",
    "vae": "https://keras.io/examples/generative/vae/",
    "cgan": "https://keras.io/examples/generative/conditional_gan/",
}
ZOO_RECIPE = {"convnet": "cnn-mnist", "vae": "vae-mnist", "cgan": "cgan-mnist"}  # what each peer is measured against
EPOCHS = {"convnet": 15, "vae": 30, "cgan": 20}  # as published


def _grey(split):
    x, y = data.load_arrays("mnist", split)
    return x[..., None].astype("float32") / 255.0, y.astype("int64")


def _all_digits():
    (a, ya), (b, yb) = _grey("train"), _grey("test")
    return np.concatenate([a, b]), np.concatenate([ya, yb])


# --- the convnet -------------------------------------------------------------------------
def convnet():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ])


def train_convnet():
    x, y = _grey("train")
    model = convnet()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(x, keras.utils.to_categorical(y, 10), batch_size=128, epochs=EPOCHS["convnet"], validation_split=0.1,
              verbose=0)
    seconds = time.perf_counter() - t0
    xt, yt = _grey("test")
    accuracy = float((model.predict(xt, batch_size=2000, verbose=0).argmax(axis=1) == yt).mean())
    return {"seconds": seconds, "metric": "test_accuracy", "value": accuracy}


# --- the VAE -----------------------------------------------------------------------------
class PeerVAE(keras.Model):
    """The example's VAE: a 2-d Gaussian posterior, Bernoulli decoder on grey levels."""

    latent_dim = 2

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dense(2 * self.latent_dim),
        ])
        self.decoder = keras.Sequential([
            keras.Input((self.latent_dim,)),
            layers.Dense(7 * 7 * 64, activation="relu"), layers.Reshape((7, 7, 64)),
            layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid"),
        ])
        self.seeds = keras.random.SeedGenerator(0)
        self.loss_mean = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_mean]

    def terms(self, x, eps):
        """Per image: summed binary cross-entropy of the decoded posterior sample, and the KL."""
        mean, log_var = ops.split(self.encoder(x), 2, axis=-1)
        probs = self.decoder(mean + ops.exp(0.5 * log_var) * eps)
        rec = ops.sum(keras.losses.binary_crossentropy(x, probs), axis=(1, 2))
        kl = ops.sum(-0.5 * (1 + log_var - ops.square(mean) - ops.exp(log_var)), axis=1)
        return rec, kl

    def train_step(self, x):
        eps = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.seeds)
        with tf.GradientTape() as tape:
            rec, kl = self.terms(x, eps)
            loss = ops.mean(rec + kl)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_weights), self.trainable_weights))
        self.loss_mean.update_state(loss)
        return {"loss": self.loss_mean.result()}


def vae_neg_elbo(model) -> float:
    """-ELBO in nats on the fixed binarised test digits, one posterior sample each (seed 0)."""
    x = data.binarized_test_images("mnist", seed=0)
    eps = normal_noise(len(x), model.latent_dim, seed=0)
    rec, kl = zip(*(model.terms(x[i:i + 2000], eps[i:i + 2000]) for i in range(0, len(x), 2000)))
    return float(np.mean(np.concatenate([np.asarray(r) + np.asarray(k) for r, k in zip(rec, kl)])))


def train_vae():
    x, _ = _all_digits()
    model = PeerVAE()
    model.compile(optimizer=keras.optimizers.Adam())
    t0 = time.perf_counter()
    model.fit(x, epochs=EPOCHS["vae"], batch_size=128, verbose=0)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "metric": "test_neg_elbo_nats", "value": vae_neg_elbo(model)}


# --- the conditional GAN -----------------------------------------------------------------
class PeerCGAN(keras.Model):
    """The example's conditional GAN (its discriminator calls generated images 1, real 0)."""

    latent_dim, classes = 128, 10

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        g_in = self.latent_dim + self.classes
        self.generator = keras.Sequential([
            keras.Input((g_in,)),
            layers.Dense(7 * 7 * g_in), layers.LeakyReLU(0.2), layers.Reshape((7, 7, g_in)),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Conv2D(1, 7, padding="same", activation="sigmoid"),
        ])
        self.discriminator = keras.Sequential([
            keras.Input((28, 28, 1 + self.classes)),
            layers.Conv2D(64, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Conv2D(128, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.GlobalMaxPooling2D(), layers.Dense(1),
        ])
        self.seeds = keras.random.SeedGenerator(1337)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.g_mean, self.d_mean = keras.metrics.Mean(name="g_loss"), keras.metrics.Mean(name="d_loss")

    @property
    def metrics(self):
        return [self.g_mean, self.d_mean]

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def _planes(self, one_hot):
        return ops.broadcast_to(one_hot[:, None, None, :], (ops.shape(one_hot)[0], 28, 28, self.classes))

    def generate(self, noise, labels):
        return self.generator(ops.concatenate([noise, ops.one_hot(labels, self.classes)], axis=1))

    def train_step(self, batch):
        real, one_hot = batch
        n = ops.shape(real)[0]
        planes = self._planes(one_hot)
        noise = keras.random.normal((n, self.latent_dim), seed=self.seeds)
        fake = self.generator(ops.concatenate([noise, one_hot], axis=1))
        images = ops.concatenate([ops.concatenate([fake, planes], -1), ops.concatenate([real, planes], -1)], 0)
        targets = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], 0)
        with tf.GradientTape() as tape:
            d_loss = self.bce(targets, self.discriminator(images))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        noise = keras.random.normal((n, self.latent_dim), seed=self.seeds)
        with tf.GradientTape() as tape:
            fake = self.generator(ops.concatenate([noise, one_hot], axis=1))
            g_loss = self.bce(ops.zeros((n, 1)), self.discriminator(ops.concatenate([fake, planes], -1)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.g_mean.update_state(g_loss)
        self.d_mean.update_state(d_loss)
        return {"g_loss": self.g_mean.result(), "d_loss": self.d_mean.result()}


def train_cgan(judge):
    x, y = _all_digits()
    ds = tf.data.Dataset.from_tensor_slices((x, keras.utils.to_categorical(y, 10))).shuffle(1024).batch(64)
    model = PeerCGAN()
    model.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4))
    t0 = time.perf_counter()
    model.fit(ds, epochs=EPOCHS["cgan"], verbose=0)
    seconds = time.perf_counter() - t0
    scores = label_scores(model.generate, model.latent_dim, judge, per_label=100)  # as the zoo's cGAN threshold
    return {"seconds": seconds, "metric": "label_accuracy", "value": scores.pop("label_accuracy"), "extra": scores}


def train(kind: str) -> dict:
    """Train one peer as published; its training seconds, yardstick and final value."""
    if kind == "cgan":
        from zoo import evaluate

        out = train_cgan(evaluate.default_judge("mnist"))
    else:
        out = {"convnet": train_convnet, "vae": train_vae}[kind]()
    return {**out, "source": SOURCES[kind], "epochs": EPOCHS[kind]}
