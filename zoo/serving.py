"""Talking to TF Serving: REST predict bodies from numpy, replies back to numpy.

TF Serving's REST API takes either the row format `{"signature_name": s, "instances": [...]}`
(one object per example) or the columnar format `{"signature_name": s, "inputs": {...}}`.

Example:
    >>> from zoo import serving
    >>> body = serving.predict_body("sample", {"noise": np.zeros((2, 32), "float32")})
    >>> # reply_text = requests.post("http://localhost:8501/v1/models/vae-mnist:predict", data=body).text
    >>> reply_text = '{"outputs": {"images": [[0.5, 0.25]]}}'
    >>> serving.decode_reply(reply_text, "images")
    array([[0.5 , 0.25]], dtype=float32)
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from .files import atomic_write_text, read_json
from .layout import card_name, published_versions, version_folder
from .registry import get_entry, list_models


def predict_body(signature: str, inputs: dict, format: str = "inputs") -> str:
    """JSON body for POST /v1/models/<name>:predict."""
    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    if format == "inputs":
        return json.dumps({"signature_name": signature, "inputs": {k: v.tolist() for k, v in arrays.items()}})
    if format == "instances":
        n = {len(v) for v in arrays.values()}
        if len(n) != 1:
            raise ValueError(f"all inputs need the same batch size for the 'instances' format, got {sorted(n)}")
        rows = [{k: v[i].tolist() for k, v in arrays.items()} for i in range(n.pop())]
        if len(arrays) == 1:  # a lone input may be sent bare, as TF Serving documents
            rows = [next(iter(r.values())) for r in rows]
        return json.dumps({"signature_name": signature, "instances": rows})
    raise ValueError(f"format must be 'inputs' or 'instances', got {format!r}")


def decode_reply(text: str, output: str | None = None, dtype="float32"):
    """numpy from a predict reply: {"outputs": ...} (columnar) or {"predictions": ...} (rows)."""
    reply = json.loads(text)
    if "error" in reply:
        raise RuntimeError(f"TF Serving error: {reply['error']}")
    if "outputs" in reply:
        out = reply["outputs"]
        if isinstance(out, dict):
            return {k: np.asarray(v, dtype=dtype) for k, v in out.items()} if output is None else np.asarray(out[output], dtype=dtype)
        return np.asarray(out, dtype=dtype)
    preds = reply["predictions"]
    if preds and isinstance(preds[0], dict):
        cols = {k: np.asarray([p[k] for p in preds], dtype=dtype) for k in preds[0]}
        return cols if output is None else cols[output]
    return np.asarray(preds, dtype=dtype)


def example_inputs(signature: dict, batch: int = 1) -> dict:
    """Zero-valued inputs that fit one signature entry of a card's `signatures` table."""
    out = {}
    for name, (shape, dtype) in signature["inputs"].items():
        shp = [batch if d is None else d for d in shape]
        out[name] = np.zeros(shp, dtype=dtype)
    return out


def example_bodies(signatures: dict, feeds: dict | None = None) -> dict:
    """{signature: {"instances": body, "inputs": body}} with batch-1 inputs: `feeds[signature]`
    where given (floats rounded to 3 decimals, to keep a body short), else zeros."""
    def short(feed):
        return {k: np.round(np.asarray(v, np.float64), 3) if np.asarray(v).dtype.kind == "f" else v for k, v in feed.items()}

    return {s: {fmt: predict_body(s, short((feeds or {}).get(s) or example_inputs(io)), fmt)
                for fmt in ("instances", "inputs")}
            for s, io in signatures.items() if s != "serving_default"}


WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"


def write_warmup(saved_model_dir, model_name: str, requests: dict):
    """TF Serving warm-up file: one PredictRequest per signature (`requests`: {signature:
    {input: numpy}}), as PredictionLog records in a TFRecord at
    `<version>/assets.extra/tf_serving_warmup_requests`; TF Serving replays them at load time
    so the first real request does not pay for graph initialisation."""
    path = Path(saved_model_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for sig, feed in requests.items():
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = sig
            for name, value in feed.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup(saved_model_dir) -> list[tuple[str, dict]]:
    """[(signature_name, {input: numpy})] from a SavedModel's warm-up file."""
    out = []
    for record in tf.data.TFRecordDataset(str(Path(saved_model_dir) / WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        req = log.predict_log.request
        out.append((req.model_spec.signature_name, {k: tf.make_ndarray(v) for k, v in req.inputs.items()}))
    return out


LABELS_FLAG = "--allow_version_labels_for_unavailable_models=true"
LABELS_NOTE = f"""\
# Version labels: TF Serving refuses a label on a version it has not loaded yet (at start-up,
# every version is still loading), so start tensorflow_model_server with
#   {LABELS_FLAG}
# or start without the version_labels lines and add them once both versions are AVAILABLE
# (TF Serving's serving_config.md, "Assigning String Labels to Model Versions").
"""


def models_config(base_path: str = "/models", labels: bool = False) -> str:
    """A TF Serving `ModelServerConfig` (text proto) serving every model that has an artifact.

    Default policy: the newest version. With `labels`, every model serves a `stable` version
    (the one before the newest, when there are two or more) and a `canary` (the newest), so a
    rollout can shift traffic by label and a rollback is a one-line edit. TF Serving accepts a
    label only on a version that is already loaded, unless the server runs with
    `LABELS_FLAG`; a labelled config says so in its first lines.
    """
    if not isinstance(base_path, str) or not base_path.strip() or any(c in base_path for c in '"\\\'') or \
            not base_path.isprintable():
        raise ValueError(f"--base-path must be a folder or URI as TF Serving sees it (e.g. /models or gs://bucket/zoo), "
                         f"without quotes, backslashes or control characters; got {base_path!r}")
    blocks = []
    for name in list_models():
        versions = get_entry(name).versions()
        if not versions:
            continue
        lines = ["  config {", f'    name: "{name}"', f'    base_path: "{base_path.rstrip("/")}/{name}"',
                 '    model_platform: "tensorflow"']
        if labels:
            stable, canary = (versions[-2] if len(versions) > 1 else versions[-1]), versions[-1]
            keep = sorted({stable, canary})
            lines.append("    model_version_policy { specific { " + " ".join(f"versions: {v}" for v in keep) + " } }")
            lines.append(f'    version_labels {{ key: "stable" value: {stable} }}')
            if canary != stable:
                lines.append(f'    version_labels {{ key: "canary" value: {canary} }}')
        else:
            lines.append("    model_version_policy { latest { num_versions: 1 } }")
        lines.append("  }")
        blocks.append("\n".join(lines))
    head = LABELS_NOTE if labels else ""
    return head + "model_config_list {\n" + "\n".join(blocks) + "\n}\n"


BATCHING_CONFIG = """\
# TF Serving --enable_batching --batching_parameters_file=/models/batching.config
# Requests that arrive within 1 ms are run as one batch of up to 256 examples.
max_batch_size { value: 256 }
batch_timeout_micros { value: 1000 }
max_enqueued_batches { value: 64 }
num_batch_threads { value: 4 }
pad_variable_length_inputs: false
"""


def parse_models_config(text: str):
    """Parse with the real `ModelServerConfig` proto (raises on any mistake)."""
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


BATCHING_FIELDS = {"max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads",
                   "allowed_batch_sizes", "pad_variable_length_inputs", "thread_pool_name"}


def parse_batching_config(text: str) -> dict:
    """Check a batching parameters file against TF Serving's `BatchingParameters` fields.

    (That proto is not shipped in `tensorflow-serving-api`, so this reads the text format's
    `name { value: N }` / `name: value` lines itself.)"""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(\w+)\s*(?:\{\s*value:\s*(\d+)\s*\}|:\s*(\w+))", line)
        if not m or m.group(1) not in BATCHING_FIELDS:
            raise ValueError(f"batching config line {n} is not a BatchingParameters field: {line!r}")
        out[m.group(1)] = int(m.group(2)) if m.group(2) else m.group(3)
    return out


def write_configs(folder, base_path: str = "/models", labels: bool = False):
    """Write models.config and batching.config into `folder`, each checked by its parser first."""
    folder = Path(folder)
    written = []
    for fname, text in (("models.config", models_config(base_path, labels)), ("batching.config", BATCHING_CONFIG)):
        parse = parse_models_config if fname == "models.config" else parse_batching_config
        parse(text)  # never write a file TF Serving would refuse
        atomic_write_text(folder / fname, text)
        written.append(folder / fname)
    return written


# Triton Inference Server serves each ONNX file as a model of its own: <name>-<signature>.
TRITON_TYPES = {"float32": "TYPE_FP32", "int32": "TYPE_INT32", "int64": "TYPE_INT64"}
TRITON_MAX_BATCH = 256  # as TF Serving's batching.config: up to 256 rows per run, 1 ms to gather them


def triton_models(store_root) -> dict:
    """{Triton model name: {"config": config.pbtxt text, "versions": {version: the version's ONNX
    file}}} for every signature with an ONNX form in any published version of every model of the
    store folder `store_root` (the zoo's artifacts by default)."""
    root, out = Path(store_root), {}
    for name in list_models():
        for version in published_versions(root / name):
            card = read_json(root / name / card_name(version))
            for sig, onnx_model in ((card.get("formats") or {}).get("onnx", {}).get("signatures") or {}).items():
                model = out.setdefault(f"{name}-{sig}", {"versions": {}})
                model["config"] = triton_config(f"{name}-{sig}", card["signatures"][sig], onnx_model)
                model["versions"][version] = root / version_folder(name, version) / onnx_model["file"]
    return out


def triton_config(model: str, signature: dict, onnx_model: dict) -> str:
    """A Triton `ModelConfig` (text proto) serving one ONNX file: its inputs and outputs by the
    ONNX names, the batch dimension left to Triton (`max_batch_size`, dynamic batching), the
    newest version loaded."""
    def tensor(name, shape, dtype):
        dims = ", ".join(str(-1 if d is None else d) for d in shape[1:]) or "1"
        return f'  {{ name: "{name}" data_type: {TRITON_TYPES[dtype]} dims: [ {dims} ]' + \
            (" reshape: { shape: [ ] }" if len(shape) == 1 else "") + " }"

    inputs = [tensor(k, *signature["inputs"][k]) for k in onnx_model["inputs"]]
    outputs = [tensor(onnx_model["outputs"][k], *signature["outputs"][k]) for k in onnx_model["outputs"]]
    return (f'name: "{model}"\nplatform: "onnxruntime_onnx"\nmax_batch_size: {TRITON_MAX_BATCH}\n'
            "input [\n" + ",\n".join(inputs) + "\n]\noutput [\n" + ",\n".join(outputs) + "\n]\n"
            "dynamic_batching { max_queue_delay_microseconds: 1000 }\n"
            "version_policy: { latest: { num_versions: 1 } }\n")


def write_triton_repository(dest, store_root) -> list[Path]:
    """A Triton model repository in `dest` (`<model>/config.pbtxt`, `<model>/<version>/model.onnx`)
    for the store folder `store_root`: each ONNX file hard-linked where the filesystem allows
    (no second copy), copied otherwise; every config written atomically. Returns the configs."""
    dest, written = Path(dest), []
    for model, spec in sorted(triton_models(store_root).items()):
        for version, source in spec["versions"].items():
            target = dest / model / str(version) / "model.onnx"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
        atomic_write_text(dest / model / "config.pbtxt", spec["config"])
        written.append(dest / model / "config.pbtxt")
    return written
