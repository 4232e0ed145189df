"""The functions a version serves, and the SavedModel that serves them.

A model's family names its serving signatures (`Family.serving_signatures`); here they become
what TF Serving loads: each traced with the weights as constants (`constant_signatures`),
checked in the graph (`strict`) and split in halves on large batches (`in_halves`), in one
SavedModel with TF Serving's warm-up requests (`write_saved_model_aside`). `zoo.formats`
converts the same constant functions to ONNX and LiteRT; `zoo.artifacts` publishes them.

Example:
    >>> from zoo import signatures
    >>> sigs = signatures.constant_signatures(zoo.load("cnn-mnist"))
    >>> sorted(sigs), [s.name for s in sigs["classify"][1]]
    (['classify', 'features'], ['images'])
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from .models import family_of
from .serving import write_warmup


# What an in-graph check's message says a bounded input holds, where the bare range would not
# help (any other input: "values in [low, high]").
INPUT_HINTS = {"images": "pixels in [0, 1] (divide 0-255 images by 255)",
               "board": "0/1 planes in [0, 1] (encode a position with game.encode(state))"}


def strict(fn, specs, bounds: dict):
    """The signature function with its inputs checked in the graph, as the Keras methods check
    them: each input's shape (`tf.ensure_shape`: a SavedModel does not enforce its declared
    shape, and a (n, 29, 29, 2) batch would flow through the convolutions and give garbage),
    finite values and the range `bounds` gives for its name (`Family.serving_input_bounds`),
    and one batch size across inputs. A failed check is an INVALID_ARGUMENT error, which TF
    Serving returns as HTTP 400 naming the input. A batch of 0 gives an empty batch of the
    declared output shape (convolutions refuse an empty batch): the function then runs on one
    row of zeros and keeps none of it. Outputs are unchanged bit for bit."""

    def check(a, spec):
        a, name = tf.ensure_shape(a, spec.shape), spec.name
        if bounds.get(name) is not None:  # one fused test: NaN fails both comparisons
            low, high = bounds[name]
            what = INPUT_HINTS.get(name, f"values in [{low}, {high}]")
            inside = tf.reduce_all(tf.logical_and(a >= tf.cast(low, a.dtype), a <= tf.cast(high, a.dtype)))
            nan = ", and no NaN" if a.dtype.is_floating else ""
            check_op = tf.debugging.Assert(inside, [f"{name} must hold {what}{nan}"], name=f"check_{name}")
        elif a.dtype.is_floating:
            return tf.debugging.check_numerics(a, f"{name} must hold finite numbers (no NaN or inf)")
        else:
            return a
        with tf.control_dependencies([check_op]):
            return tf.identity(a)

    @functools.wraps(fn)
    def strict(*args):
        args = [check(a, spec) for a, spec in zip(args, specs)]
        n = tf.shape(args[0])[0]
        same = [tf.debugging.assert_equal(tf.shape(a)[0], n, message=f"{specs[0].name} and {spec.name} must have "
                                          "the same number of rows") for a, spec in zip(args[1:], specs[1:])]
        with tf.control_dependencies([op for op in same if op is not None]):
            n = tf.identity(n)
        # An empty batch runs as one row of zeros, of which nothing is kept. The choice is made on
        # the inputs (no weights in the branch), so the model is traced once and its variables
        # are captured, and stored, in the same order as without the check.
        ones = [tf.zeros([1] + [d if d is not None else 1 for d in spec.shape[1:]], spec.dtype) for spec in specs]
        args = tf.cond(n > 0, lambda: list(args), lambda: ones)
        return tf.nest.map_structure(lambda t: t[:n], fn(*args))

    return strict


# Measured through a Session on the 2-core host (ae-mnist decode, cnn-mnist classify): with one
# thread per op, halves of 4 rows' batches gave 1.2-1.3x the rows/s, of 8 to 1,024 rows 1.5-2.1x;
# with the default pool, 0.97-1.16x from 4 rows up.
HALVES_FROM_ROWS = 4


def in_halves(fn, from_rows: int = HALVES_FROM_ROWS):
    """`fn` that, given at least `from_rows` rows, computes the two halves of its batch as two
    independent branches of the graph and joins them: the runtime's inter-op threads then run one
    half on each core even when each op is kept to one thread (TF Serving's
    `--tensorflow_intra_op_parallelism=1`, which batch-1 latency wants on a small CPU host: there
    splitting one row's tiny ops across threads costs more than it saves). Smaller batches run
    whole. Every signature computes each row on its own, so the rows are the same either way."""

    @functools.wraps(fn)
    def halves(*args):
        n = tf.shape(args[0])[0]

        def split():
            half = (n + 1) // 2
            first, second = fn(*[a[:half] for a in args]), fn(*[a[half:] for a in args])
            return tf.nest.map_structure(lambda p, q: tf.concat([p, q], 0), first, second)

        return tf.cond(n >= from_rows, split, lambda: fn(*args))

    return halves


def weights_function(model, signatures: dict):
    """(the variables of `model` that `signatures` read, one traced function with no inputs that
    returns each of them as a constant of its own body). The SavedModel's function library keeps
    the function, and so each weight, once; weights no signature reads (a GAN's discriminator
    behind a generator's signatures) are left out, as a plain export leaves them."""
    read = set()
    for fn, spec in signatures.values():
        read |= {id(v) for v in tf.function(fn).get_concrete_function(*spec).variables}
    used = [v for v in model.variables if id(v.value) in read]  # a trace lists the tf.Variable a Keras one holds
    values = [v.numpy() for v in used]
    return used, tf.function(lambda: [tf.constant(x) for x in values]).get_concrete_function()


def with_constants(fn, variables: list, weights):
    """`fn` computing with the constants `weights()` returns in place of `variables`, in order
    (a Keras `StatelessScope`, as `Model.stateless_call` uses)."""

    @functools.wraps(fn)
    def run(*args):
        with keras.StatelessScope(state_mapping=list(zip(variables, weights()))):
            return fn(*args)

    return run


def constant_signatures(model) -> dict:
    """The family's serving signatures, {name: (function, input specs)}, each computing with
    the model's weights as constants (`with_constants`, all of them from one `weights_function`):
    what the SavedModel serves, before its input checks and halves, and what the other formats
    are converted from."""
    sigs = family_of(model).serving_signatures()
    variables, weights = weights_function(model, sigs)
    return {name: (with_constants(fn, variables, weights), spec) for name, (fn, spec) in sigs.items()}


def write_saved_model_aside(model, dest: Path, model_name: str | None = None, signatures: dict | None = None) -> Path:
    """`write_saved_model` up to the rename: returns the hidden folder beside `dest` holding it.
    `signatures`: the model's `constant_signatures`, when the caller has them already.

    The signatures are traced with every weight a constant (`with_constants`), so that the
    runtime's Grappler folds them once at load instead of computing on them per request. Traced
    through a Session (cnn-mnist `classify`): with variables every request reads 27 of them and
    runs batch norm as 5 Rsqrt, 15 Mul, 5 Sub and 10 AddV2; with constants batch norm is gone,
    folded, and each convolution runs fused with its bias and ReLU.
    The constants live in one library function (`weights_function`) that each signature calls
    from inside its body, so they are stored once, in `saved_model.pb`, and the SavedModel has
    no variables. Inside the body matters: `tf.saved_model.load` hands a signature's captured
    tensors to it as inputs, which Grappler cannot fold, while a called function is inlined and
    its constants folded on both paths, TF Serving's Session and the Python call.
    It serves; the Keras file beside it is what trains on. The archive is not given
    `track(model)`, which would store every variable as well (keras-team/keras#23553).
    """
    archive = keras.export.ExportArchive()
    family = family_of(model)
    sigs = signatures or constant_signatures(model)
    default = family.serving_default or next(iter(sigs))
    for name in [default] + [n for n in sigs if n != default]:  # the first also becomes serving_default
        fn, spec = sigs[name]
        archive.add_endpoint(name, strict(in_halves(fn), spec, family.serving_input_bounds), input_signature=spec)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        write_warmup(tmp, model_name or dest.parent.name, {s: family.serving_examples(spec) for s, (_, spec) in sigs.items()})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def signature_table(saved_model_dir: Path) -> dict:
    """{signature: {"inputs": {name: [shape, dtype]}, "outputs": {...}}} read from the SavedModel."""
    loaded = tf.saved_model.load(str(saved_model_dir))
    table = {}
    for name, fn in sorted(loaded.signatures.items()):
        spec_in = fn.structured_input_signature[1]
        spec_out = fn.structured_outputs
        table[name] = {
            "inputs": {k: [list(v.shape.as_list()), v.dtype.name] for k, v in sorted(spec_in.items())},
            "outputs": {k: [list(v.shape.as_list()), v.dtype.name] for k, v in sorted(spec_out.items())},
        }
    return table
