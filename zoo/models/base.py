"""What every zoo model shares: input checks, one train step for `fit` and for the
distributed trainer, and the serving signatures the exporter writes."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

IMAGE_SHAPE = (28, 28, 1)


def check_images(x, name: str = "images", shape=IMAGE_SHAPE):
    """Convert `x` to a float32 tensor of shape (batch, *shape) or raise a clear error."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and not (np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).kind == "f"):
        raise TypeError(
            f"{name} must be floating point in [0, 1] with shape (batch, {', '.join(map(str, shape))}); "
            f"got dtype {dtype}. Convert with x.astype('float32') / 255."
        )
    x = tf.convert_to_tensor(x)
    if x.dtype != tf.float32:
        x = tf.cast(x, tf.float32)
    got = tuple(x.shape)
    if len(got) != len(shape) + 1 or any(g is not None and g != s for g, s in zip(got[1:], shape)):
        hint = " Add a channel axis with x[..., None]." if got[1:] == shape[:-1] else ""
        if got == tuple(shape):
            hint = " Add a batch axis with x[None]."
        raise ValueError(f"{name} must have shape (batch, {', '.join(map(str, shape))}); got {got}.{hint}")
    return x


def check_vectors(z, size: int, name: str):
    """Convert `z` to a float32 tensor of shape (batch, size) or raise a clear error."""
    dtype = getattr(z, "dtype", None)
    if dtype is not None and np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).kind != "f":
        raise TypeError(f"{name} must be floating point with shape (batch, {size}); got dtype {dtype}.")
    z = tf.convert_to_tensor(z, dtype=tf.float32)
    if len(z.shape) != 2 or (z.shape[1] is not None and z.shape[1] != size):
        raise ValueError(f"{name} must have shape (batch, {size}); got {tuple(z.shape)}.")
    return z


class ZooModel(keras.Model):
    """Base of the zoo's models.

    Subclasses implement `loss_terms(batch, training)`, returning per-example tensors of which
    `"loss"` is minimised, and `serving_signatures()`. `train_step`/`test_step` then serve
    both `model.fit` and the zoo's `strategy.run` trainer: losses are divided by the *global*
    batch (`tf.nn.compute_average_loss`), because the optimiser sums gradients over replicas.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._trackers = {}

    def loss_terms(self, batch, training: bool = False) -> dict:
        raise NotImplementedError

    def serving_signatures(self) -> dict:
        """name -> (function, input_signature); functions return dicts of named outputs."""
        raise NotImplementedError

    def noise_dim(self) -> int:
        """Size of the per-example noise the input pipeline supplies (recipes with noise = true)."""
        return self.latent_dim

    def make_optimizers(self, make) -> dict:
        """Compile with fresh optimiser(s) from `make()` and build their slots (inside the
        strategy scope); returns them by name for the checkpoint."""
        optimizer = make()
        self.compile(optimizer=optimizer)
        optimizer.build(self.trainable_variables)
        return {"optimizer": optimizer}

    def _track(self, terms):
        for key, value in terms.items():
            if key not in self._trackers:
                raise KeyError(f"{type(self).__name__}.loss_terms returned {key!r}, not in metric_names")
            self._trackers[key].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def _make_trackers(self, names):
        self._trackers = {n: keras.metrics.Mean(name=n) for n in names}

    @property
    def metrics(self):
        return list(self._trackers.values())

    @staticmethod
    def unwrap(batch):
        """`model.fit((x, y, noise))` hands the step a 1-tuple holding the tuple: take it out, so
        `fit` on numpy arrays and the zoo's tf.data pipeline give the step the same batch."""
        while isinstance(batch, (tuple, list)) and len(batch) == 1:
            batch = batch[0]
        return batch

    def train_step(self, batch):
        batch = self.unwrap(batch)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(batch, training=True)
            loss = tf.nn.compute_average_loss(terms["loss"])
            if self.losses:  # weight regularisers: a per-model sum, so split it over replicas
                loss += tf.add_n(self.losses) / tf.distribute.get_strategy().num_replicas_in_sync
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._track(terms)

    def test_step(self, batch):
        return self._track(self.loss_terms(self.unwrap(batch), training=False))

    def num_params(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.weights))
