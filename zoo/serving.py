"""Talking to TF Serving: REST predict bodies from numpy, replies back to numpy.

TF Serving's REST API takes either the row format `{"signature_name": s, "instances": [...]}`
(one object per example) or the columnar format `{"signature_name": s, "inputs": {...}}`.

Example:
    >>> from zoo import serving
    >>> body = serving.predict_body("sample", {"noise": np.zeros((2, 32), "float32")})
    >>> # requests.post("http://localhost:8501/v1/models/vae-mnist:predict", data=body)
    >>> images = serving.decode_reply(reply_text, "images")
"""

from __future__ import annotations

import json

import numpy as np


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


def example_bodies(signatures: dict) -> dict:
    """{signature: {"instances": body, "inputs": body}} with batch-1 zero inputs."""
    return {s: {fmt: predict_body(s, example_inputs(io), fmt) for fmt in ("instances", "inputs")}
            for s, io in signatures.items() if s != "serving_default"}
