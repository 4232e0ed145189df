"""What every zoo model shares: input checks and one train step for `fit` and for the
distributed trainer; and the `Family` beside each model class, which holds what the zoo's
publishing, training, evaluation and demo need of it.

A model family is one file in `zoo/models/` plus its recipe: the `keras.Model` subclass (its
layers, losses, `train_step` and the methods users call: `sample`, `encode`, `classify`,
`act`...) and, registered beside it with `@register_family(ModelClass)`, a small `Family`
subclass. The trainer, the exporter, `zoo evaluate`, `zoo readme`, `zoo play` and `make demo`
only call what `Family` declares here (with defaults), through `family_of(model)`:

- serving: `serving_signatures()`, `serving_default`, `serving_examples()`, `serving_input_bounds`;
- evaluation: `card_metrics(judge)`, `needs_judge`, `test_set(config)`, `headline(metrics, config)`,
  `headline_metric(metrics)`;
- pictures and demo: `picture()`, `picture_scale`, `demo(x)`, `demo_pictures(models)`;
- training: `trainer` (the registered loop that trains it), `recipe_bounds`, `noise_dim()`,
  `make_optimizers()`, `health_check(metrics)`, `epoch_images()`, `epoch_scores(judge)`,
  `finalize_training(dataset)`;
- playing: `play_kind` ("agent" or "board"), which `zoo play` uses.

So the model a user loads carries the network and its methods, not the publisher's tools.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging

import keras
import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from keras import ops

from .. import data
from ..limits import MAX_SAMPLES, SAMPLE_CHUNK, check_temperature, sample_count  # noqa: F401  (the models' limits)

IMAGE_SHAPE = (28, 28, 1)
ONNX_OPSET = 17  # what tf2onnx 1.17 writes well, and every ONNX Runtime since 1.12 (and onnxruntime-web) runs


def minimize(optimizer, tape, scaled_loss, variables):
    """The one gradient step every trainer takes. `scaled_loss` is `optimizer.scale_loss(loss)`
    computed inside the tape: under `mixed_float16` the optimiser is a `LossScaleOptimizer`,
    which multiplies the loss by its dynamic scale (so small float16 gradients do not
    underflow), divides the gradients back in `apply_gradients`, and skips a step whose
    gradients overflowed while lowering the scale. Any other optimiser leaves the loss as is."""
    optimizer.apply_gradients(zip(tape.gradient(scaled_loss, variables), variables))


@contextlib.contextmanager
def ema_weights(optimizer, variables, restore=None, then=None):
    """Temporarily give `variables` the moving averages that `optimizer` (Keras's `use_ema`,
    possibly inside a LossScaleOptimizer) keeps of them, call `then()` (e.g. to recompute
    batch-norm statistics), and on exit give every variable of `restore` (default:
    `variables`) its training value back. An optimiser keeping no averages (the model's `ema = 0`
    asks for none) changes nothing."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if optimizer is None or not getattr(inner, "use_ema", False):
        yield
        return
    restore = list(variables if restore is None else restore)
    saved = [v.numpy() for v in restore]
    try:
        optimizer.finalize_variable_values(variables)
        if then is not None:
            then()
        yield
    finally:
        for v, value in zip(restore, saved):
            v.assign(value)


@contextlib.contextmanager
def quiet_logger(name: str = "tf2onnx"):
    """Only errors from logger `name` while in the block: tf2onnx logs every conversion step at
    INFO, ONNX Runtime's quantiser (the root logger) a warning per model; the zoo prints its own
    lines."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def to_onnx(fn, specs):
    """An ONNX model (checked `onnx.ModelProto`) of the TensorFlow function `fn` on inputs
    `specs`, converted by tf2onnx; the variables it reads become constants of their current
    values. The one conversion the zoo makes: `zoo.formats` writes it to files, the search and
    the greedy games run it in ONNX Runtime (`numpy_function`)."""
    with quiet_logger():
        proto, _ = tf2onnx.convert.from_function(tf.function(fn, input_signature=specs), input_signature=specs,
                                                 opset=ONNX_OPSET)
    onnx.checker.check_model(proto)
    return proto


RUNTIMES = ("onnxruntime", "tensorflow")  # what runs the zoo's own calls of its networks


def numpy_function(model, make, specs, runtime: str = "onnxruntime"):
    """`make(net)`, a TensorFlow function of `net` returning a dict of tensors, as a function of
    numpy arrays (one per spec, cast to its dtype) returning a dict of numpy arrays.

    runtime="onnxruntime": converted (`to_onnx`) from `model`'s weights as they are now, in
    float32 (`float32_twin`), and run by ONNX Runtime; the function keeps those weights.
    runtime="tensorflow": one `tf.function` over `model` itself, reading its live weights."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be {' or '.join(map(repr, RUNTIMES))}, got {runtime!r}")
    dtypes = [spec.dtype.as_numpy_dtype for spec in specs]
    if runtime == "tensorflow":
        fn = tf.function(make(model), input_signature=specs)
        return lambda *arrays: {k: v.numpy() for k, v in fn(*[tf.constant(a, d) for a, d in zip(arrays, dtypes)]).items()}
    proto = to_onnx(make(float32_twin(model)), specs)
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names, inputs = [o.name for o in session.get_outputs()], [i.name for i in session.get_inputs()]
    return lambda *arrays: dict(zip(names, session.run(names, {k: np.asarray(a, d) for k, a, d in zip(inputs, arrays, dtypes)})))


def float32_twin(model):
    """`model` itself when it computes in float32, else a float32 copy of it (same class,
    config and weights, built under the float32 policy): what ONNX Runtime can run, which has
    no bfloat16 convolutions on the CPU."""
    if model.compute_dtype == "float32":
        return model
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        twin = type(model).from_config({k: v for k, v in model.get_config().items() if k != "dtype"})
        twin.build()
    finally:
        keras.config.set_dtype_policy(policy)
    twin.set_weights(model.get_weights())
    return twin


def weights_fingerprint(model) -> str:
    """A sha256 of every weight's value: the same fingerprint means the same network."""
    digest = hashlib.sha256()
    for v in model.weights:
        digest.update(np.ascontiguousarray(v.numpy()).tobytes())
    return digest.hexdigest()


def class_path(model) -> str:
    """`module.Class` of a model: what a card and an ONNX manifest name it by."""
    return f"{type(model).__module__}.{type(model).__name__}"


def model_config(model) -> dict:
    """The model's constructor arguments (its `get_config` without Keras' own name, trainable
    and dtype): what a card and an ONNX manifest record."""
    return {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")}


def normal_noise(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """(n, dim) float32 standard-normal codes from a fixed seed: the evaluations' fixed draws."""
    return np.random.default_rng(seed).standard_normal((n, dim)).astype("float32")


def in_batches(fn, *arrays, size: int = 1000) -> np.ndarray:
    """`fn` over the arrays in slices of `size` rows, results concatenated as numpy."""
    return np.concatenate([np.asarray(fn(*(a[i : i + size] for a in arrays))) for i in range(0, len(arrays[0]), size)])


def argmax(x):
    """The index (int32) of the largest value along the last axis. `tf.argmax` itself, not
    `keras.ops.argmax`, whose extra sign-bit test for -0.0 (a Bitcast and a BitwiseAnd) neither
    ONNX nor LiteRT has: the exported signatures must convert. They differ only on a tie between
    0.0 and -0.0."""
    return tf.argmax(x, axis=-1, output_type=tf.int32)


def first_metric(metrics: dict, prefix: str, direction: str) -> tuple[str, str] | None:
    """(the first metric whose name starts with `prefix`, `direction`), or None: a family's
    `headline_metric` when the name carries the dataset or the sample count (`fid_mnist`,
    `test_nll_nats_is1000`)."""
    found = next((k for k in metrics if k.startswith(prefix)), None)
    return (found, direction) if found else None


def _dtype_kind(x) -> str | None:
    """numpy's kind letter of an array's or a tensor's dtype ("f", "i", "u", "b"...); None for
    a value without one (a list), which the checks convert."""
    dtype = getattr(x, "dtype", None)
    return None if dtype is None else np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).kind


def check_unit_interval(u, name: str):
    """A float32 vector (batch,) of values in [0, 1] (a mixture's component is picked by
    where a row's value falls), or a clear error."""
    if _dtype_kind(u) not in (None, "f"):
        raise TypeError(f"{name} must be floating point in [0, 1] with shape (batch,); got dtype {u.dtype}.")
    u = tf.convert_to_tensor(u, dtype=tf.float32)
    if len(u.shape) != 1:
        raise ValueError(f"{name} must have shape (batch,); got {tuple(u.shape)}.")
    _check_values(u, name, 0.0, 1.0, hint="")
    return u


def in_chunks(fn, n: int, size: int = SAMPLE_CHUNK):
    """`fn(start, rows)` for `n` rows in pieces of at most `size` rows, concatenated (a tensor)."""
    parts = [fn(i, min(size, n - i)) for i in range(0, n, size)]
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=0)


def empty_batch_safe(method):
    """Make a batch of 0 give an empty batch of the method's usual output shape and dtype.

    Convolutions refuse an empty batch (and some return a wrong shape), so the method runs on a
    batch of one row of zeros of each argument's shape and dtype, and keeps none of it."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        shapes = [np.shape(a) if hasattr(a, "shape") or isinstance(a, (list, tuple)) else None for a in args]
        if args and shapes[0] and len(shapes[0]) >= 1 and shapes[0][0] == 0:
            ones = [np.zeros((1,) + tuple(s[1:]), getattr(a, "dtype", None) or np.float32) if s else a
                    for a, s in zip(args, shapes)]
            ones = [o.astype(np.dtype(getattr(a.dtype, "as_numpy_dtype", a.dtype))) if hasattr(a, "dtype") else o
                    for o, a in zip(ones, args)]
            return tf.nest.map_structure(lambda t: t[:0], method(self, *ones, **kwargs))
        return method(self, *args, **kwargs)

    return wrapper


PIXELS_HINT = " Pixels of 0-255 images: divide by 255 first (x / 255)."
BOARD_HINT = " A board holds two 0/1 planes, the mover's stones and the opponent's: encode a position with game.encode(state)."


def _check_values(x, name: str, low=None, high=None, hint: str = PIXELS_HINT):
    """Refuse non-finite values, and values outside [low, high], when running eagerly; `hint`
    (what the values should be) is added when they are above a [0, 1] range by no more than 255."""
    if not tf.executing_eagerly() or not x.shape.num_elements():
        return
    if not bool(tf.reduce_all(tf.math.is_finite(x))):
        raise ValueError(f"{name} contain NaN or infinite values; check what produced them")
    if low is not None and high is not None:
        lo, hi = float(tf.reduce_min(x)), float(tf.reduce_max(x))
        if lo < low or hi > high:
            hint = hint if high == 1.0 and hi <= 255.0 else ""
            raise ValueError(f"{name} must be in [{low:g}, {high:g}]; got values from {lo:g} to {hi:g}.{hint}")


def check_board(x, shape):
    """Boards (batch, rows, cols, 2) as a float32 tensor: 0/1 planes (`Game.encode`), given as
    floats or as integers (which are exact here, unlike 0-255 pixels), or a clear error."""
    if _dtype_kind(x) in ("i", "u", "b"):
        x = tf.cast(x, tf.float32)
    return check_images(x, "board", shape, hint=BOARD_HINT)


def check_images(x, name: str = "images", shape=IMAGE_SHAPE, hint: str = PIXELS_HINT):
    """Convert `x` to a float32 tensor of shape (batch, *shape), with finite values in [0, 1],
    or raise a clear error (`hint` says what the values should be)."""
    if _dtype_kind(x) not in (None, "f"):
        raise TypeError(
            f"{name} must be floating point in [0, 1] with shape (batch, {', '.join(map(str, shape))}); "
            f"got dtype {x.dtype}. Convert with x.astype('float32') / 255."
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
    _check_values(x, name, 0.0, 1.0, hint)
    return x


def check_vectors(z, size: int, name: str):
    """Convert `z` to a float32 tensor of shape (batch, size) or raise a clear error."""
    if _dtype_kind(z) not in (None, "f"):
        raise TypeError(f"{name} must be floating point with shape (batch, {size}); got dtype {z.dtype}.")
    z = tf.convert_to_tensor(z, dtype=tf.float32)
    if len(z.shape) != 2 or (z.shape[1] is not None and z.shape[1] != size):
        raise ValueError(f"{name} must have shape (batch, {size}); got {tuple(z.shape)}.")
    _check_values(z, name)
    return z


class ZooModel(keras.Model):
    """Base of the zoo's models.

    Subclasses implement `loss_terms(batch, training)`, returning per-example tensors of which
    `"loss"` is minimised. `train_step`/`test_step` then serve both `model.fit` and the zoo's
    `strategy.run` trainer: losses are divided by the *global* batch
    (`tf.nn.compute_average_loss`), because the optimiser sums gradients over replicas. What
    the zoo needs of the model beyond that is its `Family` (`family_of(model)`).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._trackers = {}

    def build(self, input_shape=None):
        """Create the weights (the trainer calls `build()` with no shape). This default suits a
        family whose sub-models start with `keras.Input` and so are built when made; a family
        with shape-dependent layers builds them here."""
        self.built = True

    def loss_terms(self, batch, training: bool = False) -> dict:
        """Per-example loss terms of a batch; the trainer minimises `"loss"`, tracks the rest."""
        raise NotImplementedError

    def track(self, terms):
        """Update the tracked means from per-example `terms`; the current results by name."""
        for key, value in terms.items():
            if key not in self._trackers:
                raise KeyError(f"{type(self).__name__}.loss_terms returned {key!r}, not in metric_names")
            self._trackers[key].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def make_trackers(self, names):
        """One running mean per name: what `loss_terms` returns and `metrics` reports."""
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
        """One optimiser step on a (per-replica) batch; returns the tracked metrics."""
        batch = self.unwrap(batch)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(batch, training=True)
            loss = tf.nn.compute_average_loss(terms["loss"])
            if self.losses:  # weight regularisers: a per-model sum, so split it over replicas
                loss += tf.add_n(self.losses) / tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss)  # see `minimize`
        minimize(self.optimizer, tape, scaled, self.trainable_variables)
        return self.track(terms)

    def test_step(self, batch):
        """Track the loss terms of a batch without training."""
        return self.track(self.loss_terms(self.unwrap(batch), training=False))

    def num_params(self) -> int:
        """Number of weights, trainable or not."""
        return int(sum(np.prod(v.shape) for v in self.weights))


class Family:
    """What the zoo needs of a model family beyond the network: how it is served, measured,
    pictured, demonstrated, trained and played. One subclass per model class, registered
    beside it with `@register_family(ModelClass)`; `family_of(model)` gives one bound to a
    model (`self.model`), `family_of(ModelClass)` the class itself (for the class-level
    answers: `trainer`, `test_set`, `headline`...). A model class without a family of its own
    has its nearest base class's.

    Example:
        >>> fam = family_of(zoo.load("cnn-mnist"))
        >>> sorted(fam.serving_signatures()), fam.serving_default
        (['classify', 'features'], 'classify')
    """

    model_class: type = None            # set by register_family
    serving_default: str | None = None  # the signature TF Serving answers without a signature_name
    trainer = "supervised"              # the registered training loop (zoo.runs.register_trainer)
    needs_judge = False                 # card_metrics wants the zoo's judge (cnn-mnist) passed in
    picture_scale = 2                   # pixels per picture pixel in samples.png
    play_kind: str | None = None        # "agent" (an environment) or "board" (a board game): zoo play
    # Ranges of the model constructor's recipe keys beyond what their defaults imply (zoo.recipes
    # infers "not below 0" for a number and "a non-empty list of whole numbers from 1" for
    # filters): {key: {"low": ..., "high": ...}}, merged down the family's class hierarchy.
    recipe_bounds: dict = {"seed": {"low": 0, "high": 2 ** 31 - 1}}
    # What each serving input may hold, by its TensorSpec name: (low, high), or None for any
    # finite value. The exported signatures check them in the graph, as the methods do.
    serving_input_bounds = {"images": (0.0, 1.0), "board": (0.0, 1.0), "noise": None, "codes": None,
                            "observations": None}
    # Serving signatures that ONNX and LiteRT cannot hold, with the reason the card gives
    # (zoo.formats converts every other one): {signature: why}.
    not_portable: dict = {}
    # The class `zoo.runtime` loads the ONNX forms as (its name in `zoo.runtime.RUNTIMES`: the
    # same inference methods as the Keras model, without TensorFlow); None: a `RuntimeModel`,
    # whose `run(signature, **inputs)` calls any signature.
    runtime_kind: str | None = None
    # Inputs whose integer values are exact (0/1 boards, unlike 0-255 pixels): integer arrays
    # are taken as those floats, by the methods and by `zoo.runtime`.
    exact_integer_inputs: tuple = ()
    # How much worse the int8 forms' headline may be than float32's, per metric of
    # `runtime_metrics`: {metric: (direction "min"/"max", allowed change, "abs" or "rel")}.
    # A variant outside it is published marked not recommended.
    int8_allowed: dict = {}

    def __init__(self, model):
        self.model = model

    # --- serving ------------------------------------------------------------------------------
    def serving_signatures(self) -> dict:
        """name -> (function, input_signature); functions return dicts of named outputs."""
        raise NotImplementedError(f"{type(self).__name__} defines no serving signatures")

    def serving_examples(self, specs, batch: int = 2, seed: int = 0) -> dict:
        """Realistic inputs for one signature's `tf.TensorSpec`s (for TF Serving's warm-up file):
        test digits for images, 0-9 for integer labels and seeds, U[0, 1) for `uniform`, N(0, I)
        for codes and noise."""
        rng = np.random.default_rng(seed)
        feed = {}
        for spec in specs:
            shape = [batch] + list(spec.shape[1:])
            if spec.dtype.is_integer:
                feed[spec.name] = (np.arange(batch) % 10).astype(spec.dtype.as_numpy_dtype)
            elif shape[1:] == list(IMAGE_SHAPE):
                feed[spec.name] = data.float_images(limit=batch)
            elif spec.name == "uniform":
                feed[spec.name] = rng.random(shape).astype(spec.dtype.as_numpy_dtype)
            else:
                feed[spec.name] = rng.standard_normal(shape).astype(spec.dtype.as_numpy_dtype)
        return feed

    # --- evaluation, pictures, demo ---------------------------------------------------------
    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True) -> dict:
        """The numbers of the model's card (`zoo evaluate`). `judge` is a `zoo.metrics.Judge`
        when `needs_judge`; `samples` and `limit` let slow evaluations be cut down."""
        raise NotImplementedError(f"{type(self).__name__} defines no evaluation")

    @classmethod
    def test_set(cls, config: dict) -> str:
        """What `card_metrics` measures on, in words, for the card (`config`: the model's config)."""
        return ""

    @classmethod
    def headline(cls, metrics: dict, config: dict) -> str:
        """The numbers a reader wants first, from a card's metrics (README's model table)."""
        return ", ".join(f"{k} {v}" for k, v in metrics.items() if not isinstance(v, dict))

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """The family's headline numbers measured on `runtime_model`, a `zoo.runtime` model of
        this family's ONNX forms (float32 or int8): what quantisation costs, in the numbers
        users choose the model by. `judge`: the dataset's `zoo.metrics.Judge` when
        `needs_judge`; `limit` cuts the test items (a quick look)."""
        return {}

    @classmethod
    def headline_metric(cls, metrics: dict) -> tuple[str, str] | None:
        """The metric a new version must not be worse at than the newest published one, and
        its direction ("min" or "max"), among a card's `metrics`; None: no such guard."""
        return None

    def picture(self, seed: int = 0) -> np.ndarray:
        """What the model does, at a glance: a grey grid in [0, 1] or an RGB uint8 image."""
        raise NotImplementedError(f"{type(self).__name__} defines no picture")

    def demo(self, x) -> str:
        """Call the model's main methods once on test digits `x` and say what came back."""
        return ""

    def demo_pictures(self, models: dict, seed: int = 0) -> dict:
        """Extra pictures that compare this model with others loaded beside it ({file name: image})."""
        return {}

    def gallery_data(self, dataset: str) -> dict:
        """What the model's gallery page needs beside its ONNX files (`zoo gallery`), as JSON:
        test images to pick from, a map of codes, a game's board... (`dataset`: the version's
        training data). Its page's kind is the manifest's `runtime`."""
        return {}

    def gallery_models(self) -> dict:
        """Other networks the model's gallery page runs beside it ({folder name: Keras model}),
        converted to ONNX by the gallery as the publishing pass converts them."""
        return {}

    @staticmethod
    def test_digits(dataset: str, n: int = 24) -> dict:
        """The first `n` test images (0-255 grey levels, flattened) and labels of `dataset`, for a
        gallery page to pick from."""
        x, y = data.load_arrays(dataset, "test")
        return {"test_images": x[:n].reshape(n, -1).astype(int).tolist(), "test_labels": y[:n].astype(int).tolist(),
                "classes": data.CLASS_NAMES.get(dataset, [str(k) for k in range(10)])}

    # --- training hooks -----------------------------------------------------------------------
    def health_check(self, metrics: dict) -> str | None:
        """A reason to stop training (collapse, a winning discriminator), or None."""
        return None

    def epoch_images(self) -> np.ndarray | None:
        """A picture to log after each epoch (e.g. a fixed-noise grid), or None."""
        return None

    def epoch_scores(self, judge) -> dict | None:
        """Quality scores by `judge` to log after each epoch (`train.judge = true`), or None."""
        return None

    def finalize_training(self, dataset: str):
        """Called once training is complete, before the model is saved; `dataset` is the
        recipe's training data (for a model that fits something to it when done)."""

    def noise_dim(self) -> int:
        """Size of the per-example noise the input pipeline supplies (recipes with noise = true)."""
        return self.model.latent_dim

    def make_optimizers(self, make) -> dict:
        """Compile the model with fresh optimiser(s) from `make()` and build their slots (inside
        the strategy scope); returns them by name for the checkpoint."""
        model = self.model
        model.compile(optimizer=make())
        model.optimizer.build(model.trainable_variables)  # compile may have wrapped it (mixed_float16)
        return {"optimizer": model.optimizer}


FAMILIES: dict[type, type] = {}  # model class -> its Family subclass


def register_family(model_class: type):
    """Class decorator: the decorated `Family` subclass is what the zoo needs of `model_class`
    (and of its subclasses without a family of their own)."""
    if not (isinstance(model_class, type) and issubclass(model_class, keras.Model)):
        raise TypeError(f"register_family takes a keras.Model subclass, got {model_class!r}")

    def decorate(family: type) -> type:
        if not (isinstance(family, type) and issubclass(family, Family)):
            raise TypeError(f"@register_family({model_class.__name__}) decorates a Family subclass, got {family!r}")
        family.model_class = model_class
        FAMILIES[model_class] = family
        return family

    return decorate


def family_of(model):
    """The family of a model: a `Family` bound to it for a model, the `Family` subclass itself
    for a model class; found by the class's nearest registered base."""
    cls = model if isinstance(model, type) else type(model)
    found = next((FAMILIES[k] for k in cls.__mro__ if k in FAMILIES), None)
    if found is None:
        raise TypeError(f"{cls.__name__} has no model family: register one with @register_family({cls.__name__})")
    return found if isinstance(model, type) else found(model)


register_family(ZooModel)(Family)
