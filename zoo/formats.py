"""Every version beyond TensorFlow: an ONNX model per serving signature and one LiteRT model
holding the signatures, written beside the SavedModel by the publishing pass.

Both are converted by the formats' own projects from the same functions the SavedModel serves,
with the weights as constants: ONNX by tf2onnx (`tf2onnx.convert.from_function`), LiteRT by
TensorFlow's converter from a plain SavedModel of the signatures (one `.tflite` file, one
signature runner per signature). What they leave out, the card says per signature:

- **Input checks.** The SavedModel checks its inputs in the graph (shape, finite values, the
  range of images, boards, labels, one batch size) and answers an empty batch. Neither ONNX nor
  LiteRT has an assert op, so their files compute on whatever they are given: check inputs
  before the call (the card's `formats.unchecked_inputs` says what, per signature).
- **Signatures a format cannot hold**, declared by the family with the reason
  (`Family.not_portable`): a GAN's `sample`, which draws TF's stateless random numbers per
  seed, has no op in either format that reproduces them.

Each form also comes with int8 weights (dynamic-range quantisation, by ONNX Runtime's
`quantize_dynamic` and TensorFlow's converter with `Optimize.DEFAULT`): about a quarter of the
size; what it costs each model's headline is measured by the publishing pass
(`zoo.evaluate.int8_quality`). `onnx/manifest.json` says what a runtime without TensorFlow
needs: the model's class and config, the kind of runtime object, and per signature its files
and its inputs' dtypes, shapes and ranges (`zoo.runtime` checks inputs by it).

Output names follow the SavedModel's, except where an output is named like an input (ONNX
values have one name each: an autoencoder's `reconstruct` takes and returns `images`): there
the ONNX output is `<name>_out`, and the card maps it.

Example:
    >>> from zoo import formats
    >>> formats.onnx_output_names({"images": 1}, ["images"])
    {'images': 'images_out'}
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import keras
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from .files import atomic_write_json
from .layout import LITERT, LITERT_INT8, PRECISIONS, manifest_file, onnx_file
from .models import family_of
from .models.base import ONNX_OPSET, class_path, model_config, quiet_logger, to_onnx
from .runtime import MANIFEST_FORMAT
from .signatures import constant_signatures


def onnx_output_names(outputs, inputs) -> dict:
    """{SavedModel output name: ONNX output name}: the same name, but `<name>_out` for an
    output named like one of the signature's inputs."""
    return {k: f"{k}_out" if k in set(inputs) else k for k in outputs}


def checks(family, specs) -> str:
    """What the SavedModel checks of a signature's inputs in its graph, which the ONNX and
    LiteRT files do not: a caller checks it before the call."""
    parts = []
    for spec in specs:
        shape = ", ".join("batch" if d is None else str(d) for d in spec.shape)
        bounds = family.serving_input_bounds.get(spec.name)
        values = f"in [{bounds[0]:g}, {bounds[1]:g}]" if bounds else "any"
        finite = " finite" if spec.dtype.is_floating else ""
        parts.append(f"{spec.name}: {spec.dtype.name} ({shape}),{finite} values {values}")
    rows = "; one batch size for all inputs" if len(specs) > 1 else ""
    return "; ".join(parts) + rows + " (an empty batch: ONNX Runtime answers it, LiteRT's XNNPACK may refuse it)"


def canonical(proto, name: str):
    """The converted model with its graph named `name` and its symbolic dimensions named by
    position: the batch of every input and output is `batch`, any other `dim<i>` in order of
    appearance. tf2onnx names them, and the graph's doc string, from process-wide counters
    (`unk__7`, `__inference_renamed_252`), so the same model converted twice differed; now its
    bytes depend on the model alone, and a republished version's files are the same blobs."""
    proto.graph.name, proto.graph.doc_string = name, f"the zoo's {name} signature, converted by tf2onnx"
    names = {}
    values = list(proto.graph.input) + list(proto.graph.output) + list(proto.graph.value_info)
    ends = {id(v) for v in list(proto.graph.input) + list(proto.graph.output)}
    for value in values:
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_param"):
                if dim.dim_param not in names:
                    names[dim.dim_param] = "batch" if i == 0 and id(value) in ends else f"dim{len(names)}"
                dim.dim_param = names[dim.dim_param]
    _renumber(proto.graph)
    return proto


def _renumber(graph):
    """Number the `__<n>` suffixes tf2onnx gives the nodes and values it adds (`Cast__13`) by
    their order in the graph, consistently wherever a name is used."""
    tokens, constants = {}, {}
    for init in graph.initializer:  # constants by content: tf2onnx shares them across conversions by first name
        array = onnx.numpy_helper.to_array(init)
        digest = hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()[:16]
        constants[init.name] = f"const_{digest}"
    kept = {}
    for init in graph.initializer:
        init.name = constants[init.name]
        kept.setdefault(init.name, init)
    graph.ClearField("initializer")
    graph.initializer.extend(kept[k] for k in sorted(kept))

    def new(name: str) -> str:
        if name in constants:
            return constants[name]
        return re.sub(r"__(\d+)", lambda m: f"__{tokens.setdefault(m.group(1), len(tokens))}", name)

    for node in graph.node:
        node.name = new(node.name)
        node.input[:] = [new(x) for x in node.input]
        node.output[:] = [new(x) for x in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = new(value.name)


def input_record(family, spec) -> dict:
    """What a runtime checks of one input: its name, dtype, shape (None: any size) and the
    range its values must lie in (None: any finite value; integers: whole numbers)."""
    bounds = family.serving_input_bounds.get(spec.name)
    return {"name": spec.name, "dtype": spec.dtype.name, "shape": [None if d is None else int(d) for d in spec.shape],
            "range": list(bounds) if bounds else None, "integers_exact": spec.name in family.exact_integer_inputs}


def write_onnx(fn, specs, folder: Path, signature: str) -> dict:
    """Convert one signature function (weights as constants) to an ONNX model in a version
    folder, and its int8-weight twin; returns its card entry: the files and its output names."""
    outputs = tf.function(fn).get_concrete_function(*specs).structured_outputs
    names = onnx_output_names(outputs, [s.name for s in specs])

    def renamed(*args):
        return {names[k]: v for k, v in fn(*args).items()}

    path, int8 = folder / onnx_file(signature), folder / onnx_file(signature, "int8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical(to_onnx(renamed, specs), signature).SerializeToString())
    write_int8_onnx(path, int8)
    return {"file": onnx_file(signature), "int8": onnx_file(signature, "int8"), "inputs": [s.name for s in specs],
            "outputs": names}


def write_int8_onnx(source: Path, dest: Path):
    """ONNX Runtime's dynamic-range quantisation of `source`: weights of MatMul/Gemm/Conv as
    int8 (per tensor, signed), activations quantised on the fly; the rest stays float32."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with quiet_logger(""):
        quantize_dynamic(source, dest, weight_type=QuantType.QInt8)
    proto = onnx.load(dest)
    proto.producer_name, proto.producer_version = "onnxruntime.quantization", onnxruntime.__version__
    onnx.checker.check_model(proto)
    dest.write_bytes(proto.SerializeToString())


def write_litert(signatures: dict, path: Path, int8_path: Path):
    """Convert signature functions (weights as constants) to one LiteRT model at `path`, one
    signature runner each, through a plain SavedModel of them (no input checks, no halves: the
    converter would need TensorFlow's own ops, Flex, for those); and its dynamic-range
    quantised twin (int8 weights) at `int8_path`, from the same SavedModel."""
    archive = keras.export.ExportArchive()
    for name, (fn, specs) in signatures.items():
        archive.add_endpoint(name, fn, input_signature=specs)
    plain = Path(tempfile.mkdtemp(prefix="zoo-litert-"))
    try:
        archive.write_out(str(plain / "saved_model"), verbose=False)
        for dest, optimise in ((path, False), (int8_path, True)):
            converter = tf.lite.TFLiteConverter.from_saved_model(str(plain / "saved_model"),
                                                                 signature_keys=list(signatures))
            if optimise:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            dest.write_bytes(converter.convert())
    finally:
        shutil.rmtree(plain, ignore_errors=True)


def write_formats(model, folder: Path, signatures: dict | None = None) -> dict:
    """Write the ONNX models and the LiteRT model of `model`'s serving signatures into a version
    folder (still aside: they are published with it); returns the card's `formats` record.
    `signatures`: the model's `constant_signatures`, when the caller has them already."""
    folder = Path(folder)
    family = family_of(model)
    sigs = signatures or constant_signatures(model)
    portable = {name: sig for name, sig in sigs.items() if name not in family.not_portable}
    onnx_models = {name: write_onnx(fn, specs, folder, name) for name, (fn, specs) in portable.items()}
    if portable:
        write_litert(portable, folder / LITERT, folder / LITERT_INT8)
        write_manifest(model, folder, onnx_models, {name: specs for name, (_, specs) in portable.items()})
    return {
        "sizes": sizes(folder) if portable else {},
        "onnx": {"opset": ONNX_OPSET, "signatures": onnx_models, "manifest": manifest_file()} if portable else {},
        "litert": {"file": LITERT, "int8": LITERT_INT8, "signatures": sorted(portable)} if portable else {},
        "not_converted": {name: family.not_portable[name] for name in sigs if name in family.not_portable},
        "unchecked_inputs": {name: checks(family, specs) for name, (_, specs) in portable.items()},
        "converters": {"tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__, "litert": f"tensorflow {tf.__version__}"},
    }


def write_manifest(model, folder: Path, onnx_models: dict, specs: dict) -> Path:
    """`onnx/manifest.json` of a version folder: the model's class, config and runtime kind,
    its default signature, and per signature the files (float32, int8), the inputs' records
    (`input_record`) and the output names (SavedModel name -> ONNX name)."""
    family = family_of(model)
    default = family.serving_default
    return atomic_write_json(folder / manifest_file(), {
        "format": MANIFEST_FORMAT,
        "model_class": class_path(model),
        "config": model_config(model),
        "runtime": family.runtime_kind,
        "default": default if default in onnx_models else None,
        "opset": ONNX_OPSET,
        "signatures": {name: {"files": {"float32": entry["file"], "int8": entry["int8"]},
                              "inputs": [input_record(family, spec) for spec in specs[name]],
                              "outputs": entry["outputs"]}
                       for name, entry in sorted(onnx_models.items())},
    })


def sizes(folder: Path) -> dict:
    """Bytes of each format's files in a version folder, float32 and int8:
    {"onnx": {"float32", "int8"}, "litert": {"float32", "int8"}}."""
    folder = Path(folder)
    return {"onnx": {p: sum(f.stat().st_size for f in folder.glob(onnx_file("*", p))) for p in PRECISIONS},
            "litert": {"float32": (folder / LITERT).stat().st_size, "int8": (folder / LITERT_INT8).stat().st_size}}
