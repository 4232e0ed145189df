"""The zoo's models as ONNX Runtime sessions: the same inference methods as the Keras models,
in numpy, without TensorFlow or Keras.

A `Signature` is one ONNX file of a version (one serving signature) with its inputs checked in
numpy the way the SavedModel checks them in its graph (dtype, shape, finite values, ranges, one
batch size), and its outputs named as the SavedModel names them. A `RuntimeModel` holds a
version's signatures; each kind of model (`RUNTIMES`, the kind its family declares in the
manifest) adds the Keras model's methods on top: `sample`, `encode`, `decode`, `reconstruct`,
`interpolate`, `arithmetic`, `generate`, `discriminate`, `classify`, `predict_proba`,
`features`, `act`, `q_values`, `greedy_policy`, `predict_board`, `predictor`, `player`.

Random draws (a VAE's or a GAN's `sample`) come from the model's own numpy generator,
`np.random.default_rng(seed)`: the same seed gives the same samples on every machine.

Example:
    >>> import zoo.runtime
    >>> vae = zoo.runtime.load("vae-mnist")            # doctest: +SKIP
    >>> vae.sample(4).shape                             # doctest: +SKIP
    (4, 28, 28, 1)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnxruntime

from ..games import SearchPlayer, get_game
from ..limits import SAMPLE_CHUNK, check_temperature, sample_count

HINTS = {  # what an input's values should be, added to a range error (the SavedModel's messages)
    "images": " Pixels of 0-255 images: divide by 255 first (x / 255).",
    "board": " A board holds two 0/1 planes, the mover's stones and the opponent's: encode a position with "
             "game.encode(state).",
}
RUNTIMES: dict[str, type] = {}  # runtime kind (a family's `runtime_kind`) -> the class loading it


def register_runtime(kind: str):
    """Class decorator: `zoo.runtime.load` gives models whose manifest names `kind` this class."""

    def decorate(cls: type) -> type:
        RUNTIMES[kind] = cls
        return cls

    return decorate


def _shape_text(shape) -> str:
    return ", ".join("batch" if i == 0 else str(d) for i, d in enumerate(shape))


def check_input(record: dict, x) -> np.ndarray:
    """`x` as the array an input of record `record` (manifest: name, dtype, shape, range,
    integers_exact) takes, or a `TypeError`/`ValueError` saying what is wrong and what to do."""
    name, dtype, shape, bounds = record["name"], np.dtype(record["dtype"]), record["shape"], record["range"]
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype != dtype:
        kind = arr.dtype.kind
        if dtype.kind == "f" and (kind == "f" or kind in "iub" and record.get("integers_exact")):
            arr = arr.astype(dtype)
        elif dtype.kind in "iu" and kind in "iu":
            if arr.size and bounds is None and (arr.min() < np.iinfo(dtype).min or arr.max() > np.iinfo(dtype).max):
                raise ValueError(f"{name} must fit {dtype.name}; got values from {arr.min()} to {arr.max()}.")
        else:
            what = "floating point" if dtype.kind == "f" else "whole numbers"
            fix = " Convert with x.astype('float32') / 255." if name == "images" else ""
            raise TypeError(f"{name} must be {what} ({dtype.name}) with shape ({_shape_text(shape)}); "
                            f"got dtype {arr.dtype}.{fix}")
    if arr.ndim != len(shape) or any(s is not None and g != s for g, s in zip(arr.shape[1:], shape[1:])):
        hint = ""
        if arr.shape == tuple(shape[1:]):
            hint = " Add a batch axis with x[None]."
        elif arr.shape[1:] == tuple(shape[1:-1]):
            hint = " Add a channel axis with x[..., None]."
        raise ValueError(f"{name} must have shape ({_shape_text(shape)}); got {tuple(arr.shape)}.{hint}")
    if arr.size:
        _check_values(arr, name, bounds)
    return arr if arr.dtype == dtype else arr.astype(dtype)


def _check_values(arr: np.ndarray, name: str, bounds):
    """Finite values in `bounds` (None: any finite value). Two reductions when all is well."""
    if bounds is not None:
        lo, hi = arr.min(), arr.max()
        if lo >= bounds[0] and hi <= bounds[1]:  # NaN compares False: it falls through to the full check
            return
    elif arr.dtype.kind != "f" or np.isfinite(arr.sum()):  # a sum is finite only without NaN/inf (or overflow)
        return
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or infinite values; check what produced them")
    if bounds is not None:
        lo, hi = float(arr.min()), float(arr.max())
        hint = HINTS.get(name, "") if bounds[1] == 1 and hi <= 255 else ""
        raise ValueError(f"{name} must be in [{bounds[0]:g}, {bounds[1]:g}]; got values from {lo:g} to {hi:g}.{hint}")


class Signature:
    """One serving signature as an ONNX Runtime session: call it with the inputs by name (or in
    order) to get {SavedModel output name: numpy array}."""

    def __init__(self, name: str, path: Path, record: dict, options=None):
        self.name, self.path, self.inputs = name, Path(path), record["inputs"]
        self.outputs = dict(record["outputs"])  # SavedModel name -> ONNX name
        self.session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                    providers=["CPUExecutionProvider"])
        have_in = [i.name for i in self.session.get_inputs()]
        have_out = {o.name for o in self.session.get_outputs()}
        if have_in != [r["name"] for r in self.inputs] or not set(self.outputs.values()) <= have_out:
            raise ValueError(f"{path}: its inputs {have_in} and outputs {sorted(have_out)} are not the manifest's "
                             f"({[r['name'] for r in self.inputs]}, {sorted(self.outputs.values())}); the version's "
                             "files do not belong together")
        self._names = list(self.outputs.values())
        self._sess = self.session._sess  # the C++ session: InferenceSession.run re-checks the names checked above
        # what the fast path compares against: (name, dtype, fixed non-batch shape, bounds, floating)
        self._fast = [(r["name"], np.dtype(r["dtype"]), tuple(r["shape"][1:]), r["range"], np.dtype(r["dtype"]).kind == "f")
                      for r in self.inputs]
        if any(None in tail for _, _, tail, _, _ in self._fast):  # a free dimension beyond the batch: always the full check
            self._fast = None

    def __repr__(self):
        return f"Signature({self.name!r}: {', '.join(r['name'] for r in self.inputs)} -> {', '.join(self.outputs)})"

    def feed(self, *args, **kwargs) -> dict:
        """The checked ONNX feed of a call's inputs, by position or name."""
        names = [r["name"] for r in self.inputs]
        if len(args) > len(names) or set(kwargs) - set(names[len(args):]):
            raise TypeError(f"{self.name} takes {', '.join(names)}; got {len(args)} positional and "
                            f"{', '.join(kwargs) or 'no'} named inputs")
        given = {**dict(zip(names, args)), **kwargs}
        missing = [n for n in names if n not in given]
        if missing:
            raise TypeError(f"{self.name} takes {', '.join(names)}; missing {', '.join(missing)}")
        feed = {r["name"]: check_input(r, given[r["name"]]) for r in self.inputs}
        batches = {n: len(a) for n, a in feed.items()}
        if len(set(batches.values())) > 1:
            raise ValueError(f"the inputs of one call must have one batch size; got "
                             f"{', '.join(f'{n} {b}' for n, b in batches.items())}")
        return feed

    def __call__(self, *args, **kwargs) -> dict:
        given = kwargs if not args else {**dict(zip((f[0] for f in self._fast or ()), args)), **kwargs}
        if self._fast_feed(given, len(args)) is not None:
            return dict(zip(self.outputs, self._sess.run(self._names, given, None)))
        return self.unchecked(self.feed(*args, **kwargs))

    def _fast_feed(self, given: dict, positional: int):
        """The feed when every input is an ndarray of the right dtype and shape whose values pass
        in two reductions (min and max, or a finite sum); None otherwise (the full check says why)."""
        if self._fast is None or len(given) != len(self._fast) or positional > len(self._fast):
            return None
        batch = None
        for name, dtype, tail, bounds, floating in self._fast:
            x = given.get(name)
            if type(x) is not np.ndarray or x.dtype != dtype or x.shape[1:] != tail or x.ndim != len(tail) + 1 \
                    or not x.size or (batch is not None and x.shape[0] != batch):
                return None
            if bounds is not None:
                if not (x.min() >= bounds[0] and x.max() <= bounds[1]):  # NaN compares False
                    return None
            elif floating and not math.isfinite(x.sum()):
                return None
            batch = x.shape[0]
        return given

    def unchecked(self, feed: dict) -> dict:
        """The outputs for a feed of arrays already of the right dtypes and shapes (a search's
        own encoded boards): no checks."""
        return dict(zip(self.outputs, self._sess.run(self._names, feed, None)))


class RuntimeModel:
    """A published version's ONNX forms, one `Signature` each: `run(signature, **inputs)` calls
    any of them. Loaded by `zoo.runtime.load`; kinds of models add their methods on top.

    Attributes: `name`, `version`, `precision` ("float32" or "int8"), `folder` (the version's
    local folder), `model_class` and `config`
    (the Keras model's class and constructor arguments), `signatures` ({name: Signature}),
    `rng` (the generator `sample` draws from)."""

    def __init__(self, name: str, version: int, manifest: dict, folder: Path, precision: str = "float32",
                 threads: int | None = None, seed: int | None = None):
        self.name, self.version, self.precision, self.folder = name, version, precision, Path(folder)
        self.model_class, self.config, self.manifest = manifest["model_class"], manifest["config"], manifest
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        self.signatures = {sig: Signature(sig, Path(folder) / rec["files"][precision], rec, options)
                           for sig, rec in manifest["signatures"].items()}
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        return (f"<{type(self).__name__} {self.name} version {self.version} ({self.precision}): "
                f"{', '.join(self.signatures)}>")

    def signature(self, name: str) -> Signature:
        """One signature by name, or a clear error naming those there are."""
        if name not in self.signatures:
            raise ValueError(f"{self.name} version {self.version} has no ONNX signature {name!r}; it has "
                             f"{', '.join(self.signatures)}")
        return self.signatures[name]

    def run(self, signature: str, *args, **inputs) -> dict:
        """Call one signature: {output name: numpy array} (the SavedModel's names)."""
        return (self.signatures.get(signature) or self.signature(signature))(*args, **inputs)

    def output(self, signature: str, key: str, *args) -> np.ndarray:
        """One output of one signature called with `args` in order."""
        return self.signature(signature)(*args)[key]

    def input_size(self, signature: str, index: int = 0) -> int:
        """The fixed size of a vector input (its second dimension): a code's or noise's length."""
        return int(self.signature(signature).inputs[index]["shape"][1])

    def in_chunks(self, fn, n: int) -> np.ndarray:
        """`fn(start, rows)` for `n` rows, `SAMPLE_CHUNK` rows at a time, concatenated."""
        return np.concatenate([fn(i, min(SAMPLE_CHUNK, n - i)) for i in range(0, n, SAMPLE_CHUNK)])


@register_runtime("autoencoder")
class AutoEncoderRuntime(RuntimeModel):
    """An autoencoder: `encode`, `decode`, `reconstruct`."""

    @property
    def latent_dim(self) -> int:
        """The length of a code."""
        return self.input_size("decode")

    def encode(self, x) -> np.ndarray:
        """Codes (batch, latent_dim) of images (batch, 28, 28, 1) in [0, 1]."""
        return self.output("encode", "codes", x)

    def decode(self, z) -> np.ndarray:
        """Images (batch, 28, 28, 1) in [0, 1] from codes (batch, latent_dim)."""
        return self.output("decode", "images", z)

    def reconstruct(self, x) -> np.ndarray:
        """Images passed through the code."""
        return self.output("reconstruct", "images", x)


@register_runtime("vae")
class VAERuntime(AutoEncoderRuntime):
    """A VAE: an autoencoder whose `encode` gives (mean, log_variance), with `sample`,
    `interpolate` and `arithmetic` in its latent space."""

    def encode(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(mean, log_variance) of q(z | x), each (batch, latent_dim)."""
        out = self.run("encode", x)
        return out["mean"], out["log_variance"]

    def prior_draw(self, rows: int, temperature: float = 1.0) -> dict:
        """The inputs of the sampling signature for `rows` draws of the prior."""
        return {"noise": (temperature * self.rng.standard_normal((rows, self.latent_dim))).astype("float32")}

    sampler = "sample"  # the signature `sample` calls with `prior_draw`

    def sample(self, n: int, temperature: float = 1.0) -> np.ndarray:
        """`n` new images decoded from the prior's codes (spread times `temperature`)."""
        n, temperature = sample_count(n), check_temperature(temperature)
        if n == 0:
            return self.decode(np.zeros((0, self.latent_dim), "float32"))
        return self.in_chunks(lambda start, rows: self.run(self.sampler, **self.prior_draw(rows, temperature))["images"], n)

    def _code(self, image) -> np.ndarray:
        image = np.asarray(image)
        return self.encode(image[None] if image.ndim == 3 else image)[0]

    def interpolate(self, a, b, steps: int = 8) -> np.ndarray:
        """`steps` images on the straight line between the codes of images `a` and `b`."""
        if int(steps) < 2:
            raise ValueError(f"steps must be at least 2, got {steps}")
        za, zb = self._code(a), self._code(b)
        t = np.linspace(0.0, 1.0, int(steps), dtype="float32").reshape(-1, 1)
        return self.decode(za + t * (zb - za))

    def arithmetic(self, a, b, c) -> np.ndarray:
        """Decode z(a) - z(b) + z(c) (per row for batches): 'a is to b as ? is to c'."""
        return self.decode(self._code(a) - self._code(b) + self._code(c))


@register_runtime("vaegan")
class VAEGANRuntime(VAERuntime):
    """A VAE-GAN: a VAE that samples its fitted prior (when it has one) and serves its
    discriminator."""

    @property
    def sampler(self) -> str:
        """The signature `sample` calls: the fitted prior's sampler when there is one."""
        return "sample_fitted" if "sample_fitted" in self.signatures else "sample"

    def prior_draw(self, rows: int, temperature: float = 1.0) -> dict:
        noise = super().prior_draw(rows, temperature)
        if self.sampler == "sample_fitted":
            noise["uniform"] = self.rng.random(rows, dtype="float32")
        return noise

    def discriminate(self, x) -> np.ndarray:
        """Probability that each image is real, per the learned loss."""
        return self.output("discriminate", "real_probability", x)


@register_runtime("gan")
class GANRuntime(RuntimeModel):
    """A GAN: `generate` from noise, `sample`, and (DCGAN) `discriminate`."""

    @property
    def latent_dim(self) -> int:
        """The length of a noise vector."""
        return self.input_size("generate")

    def noise(self, rows: int) -> np.ndarray:
        """`rows` N(0, I) noise vectors from the model's generator."""
        return self.rng.standard_normal((rows, self.latent_dim)).astype("float32")

    def generate(self, z) -> np.ndarray:
        """Images (batch, 28, 28, 1) in [0, 1] from noise (batch, latent_dim)."""
        return self.output("generate", "images", z)

    def sample(self, n: int) -> np.ndarray:
        """`n` images from fresh noise."""
        n = sample_count(n)
        return self.in_chunks(lambda start, rows: self.generate(self.noise(rows)), n) if n else \
            self.generate(np.zeros((0, self.latent_dim), "float32"))

    def discriminate(self, x) -> np.ndarray:
        """Probability that each image is real, per the learned loss."""
        return self.output("discriminate", "real_probability", x)


@register_runtime("conditional_gan")
class ConditionalGANRuntime(GANRuntime):
    """A conditional GAN: `generate(noise, labels)`, `sample(n or labels=...)`."""

    @property
    def num_classes(self) -> int:
        """How many classes it draws (labels 0 to num_classes - 1)."""
        return int(self.signature("generate").inputs[1]["range"][1]) + 1

    def generate(self, z, labels) -> np.ndarray:
        """Images of the given classes: noise (batch, latent_dim), labels (batch,) whole numbers."""
        return self.output("generate", "images", z, labels)

    def sample(self, n: int | None = None, labels=None) -> np.ndarray:
        """`labels` classes (or `n` images of classes 0, 1, ... in turn) from fresh noise."""
        if labels is None:
            if n is None:
                raise ValueError("give labels=[...] (the classes to draw) or n (classes 0-9 in turn)")
            labels = np.arange(sample_count(n)) % self.num_classes
        labels = np.asarray(labels)
        if labels.ndim != 1 or (n is not None and len(labels) != sample_count(n)):
            raise ValueError(f"labels must be one class per image, shape (n,); got shape {labels.shape}")
        rows = sample_count(len(labels))
        z = self.noise(rows)
        return self.in_chunks(lambda start, k: self.generate(z[start:start + k], labels[start:start + k]), rows) \
            if rows else self.generate(z, labels.astype("int32"))


@register_runtime("classifier")
class ClassifierRuntime(RuntimeModel):
    """A classifier: `classify`, `predict_proba`, `features`."""

    def classify(self, x) -> np.ndarray:
        """Most likely class per image (batch,) int32."""
        return self.output("classify", "label", x)

    def predict_proba(self, x) -> np.ndarray:
        """Class probabilities (batch, classes)."""
        return self.output("classify", "probabilities", x)

    def features(self, x) -> np.ndarray:
        """Penultimate activations (batch, feature_dim): the space FID is measured in."""
        return self.output("features", "features", x)


@register_runtime("q_agent")
class QAgentRuntime(RuntimeModel):
    """A deep-Q agent: `act`, `q_values`, `greedy_policy`."""

    def act(self, obs) -> np.ndarray:
        """Greedy actions (batch,) int32 for observations."""
        return self.output("act", "action", obs)

    def q_values(self, obs) -> np.ndarray:
        """Q-values (batch, n_actions)."""
        return self.output("q_values", "q_values", obs)

    def greedy_policy(self):
        """numpy observations (batch, obs_dim) -> greedy actions (batch,): what evaluation and
        `zoo play` act with."""
        return self.act


@register_runtime("policy_value")
class PolicyValueRuntime(RuntimeModel):
    """An AlphaZero policy-value network: `predict_board`, and the same search player as the
    Keras model (`player()`, from `zoo.games`)."""

    @property
    def simulations(self) -> int:
        """The search's simulations per move, as the Keras model's config says."""
        return int(self.config.get("simulations", 64))

    def game(self):
        """The game this network plays (rules, encoding, rendering)."""
        return get_game(self.config["game"])

    def predict_board(self, board) -> tuple[np.ndarray, np.ndarray]:
        """(policy (n, actions), value (n,)) for boards (n, rows, cols, 2) from the mover's side."""
        out = self.run("predict", board)
        return out["policy"], out["value"]

    def predictor(self):
        """The search's evaluator: planes (n, rows, cols, 2) -> (policies, values)."""
        signature = self.signature("predict")

        def predict(planes):
            out = signature.unchecked({"board": np.asarray(planes, "float32")})
            return out["policy"], out["value"]

        return predict

    def player(self, simulations: int | None = None, seed: int = 0, opening_moves: int = 0):
        """A player that moves by MCTS with this network (`.move(state)`, `.move_many(states)`)."""
        return SearchPlayer(self.game(), self, simulations or self.simulations, seed=seed, opening_moves=opening_moves)
