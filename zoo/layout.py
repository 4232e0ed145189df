"""The store layout, in one place: what every file of a store is called, and what makes a
version published. The artifacts folder, the cache and every remote store share it; the
registry, the stores, the hub and publishing ask this module rather than spell a name out.

    <store>/index.json                     every model, version and file, with size and sha256
    <store>/<name>/<name>.v<N>.keras       version N's Keras model (weights, config, methods)
    <store>/<name>/<N>/saved_model.pb ...  version N's SavedModel: what TF Serving serves
    <store>/<name>/<N>/onnx/<sig>.onnx     version N's signature <sig> as ONNX (zoo.formats)
    <store>/<name>/<N>/onnx/int8/<sig>.onnx  the same with int8 weights (dynamic-range quantised)
    <store>/<name>/<N>/onnx/manifest.json  what a runtime without TensorFlow needs (zoo.runtime)
    <store>/<name>/<N>/model.tflite        version N's signatures as one LiteRT model
    <store>/<name>/<N>/model.int8.tflite   the same with int8 weights
    <store>/<name>/card.v<N>.json          version N's card; written last, it publishes N
    <store>/<name>/card.json               a copy of the newest version's card
    <store>/<name>/samples.png             what the newest version does, at a glance

A version is published when its SavedModel folder and its card are both there: a folder a
killed export left without its card is no version, to any reader.

Example:
    >>> keras_file("vae-mnist", 3)
    'vae-mnist/vae-mnist.v3.keras'
    >>> card_name(3), version_of_card("card.v3.json"), version_of_card("card.json")
    ('card.v3.json', 3, None)
    >>> layout_problem("vae-mnist", 2, "vae-mnist/2/variables/variables.index") is None
    True
    >>> layout_problem("vae-mnist", 2, "cnn-mnist/2/saved_model.pb")
    "outside the store's vae-mnist/ folder"
"""

from __future__ import annotations

import re
from pathlib import Path

INDEX = "index.json"        # a store's list of models, versions and files
CARD = "card.json"          # in a model's folder: the newest version's card
PICTURE = "samples.png"     # in a model's folder: the newest version's picture
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # a model's name, and its folder in every store
VERSION_KEY = re.compile(r"^[1-9][0-9]{0,8}$")  # 1, 2, ...: no sign, no leading zero, one spelling per version
PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")  # a plain name: never "", ".", ".." or hidden
ONNX_FOLDER = "onnx"        # in a version folder: one ONNX model per serving signature
LITERT = "model.tflite"     # in a version folder: the LiteRT model holding the signatures
LITERT_INT8 = "model.int8.tflite"  # the same with int8 weights (dynamic-range quantised)
INT8_FOLDER = "int8"        # in the ONNX folder: each signature with int8 weights
MANIFEST = "manifest.json"  # in the ONNX folder: model class, config and each signature's files and inputs
PRECISIONS = ("float32", "int8")
MAX_PARTS = 8  # <name>/<N>/ and at most six levels inside a SavedModel


def keras_name(name: str, version: int) -> str:
    """The file name of version `version`'s Keras model, in the model's folder."""
    return f"{name}.v{version}.keras"


def keras_file(name: str, version: int) -> str:
    """The store-relative path of version `version`'s Keras model."""
    return f"{name}/{keras_name(name, version)}"


def version_folder(name: str, version: int) -> str:
    """The store-relative path of version `version`'s SavedModel folder."""
    return f"{name}/{version}"


def onnx_file(signature: str, precision: str = "float32") -> str:
    """The path, inside a version folder, of a serving signature's ONNX model (`precision`
    "int8": its dynamic-range quantised twin)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be {' or '.join(map(repr, PRECISIONS))}, got {precision!r}")
    return f"{ONNX_FOLDER}/{INT8_FOLDER}/{signature}.onnx" if precision == "int8" else f"{ONNX_FOLDER}/{signature}.onnx"


def manifest_file() -> str:
    """The path, inside a version folder, of the ONNX forms' manifest (`zoo.runtime` reads it)."""
    return f"{ONNX_FOLDER}/{MANIFEST}"


def format_of(path_in_version: str) -> str:
    """Which format a file of a version folder belongs to: "onnx", "litert" or "saved_model"."""
    if path_in_version.startswith(f"{ONNX_FOLDER}/"):
        return "onnx"
    return "litert" if path_in_version in (LITERT, LITERT_INT8) else "saved_model"


def card_name(version: int | None = None) -> str:
    """The file name of version `version`'s card (None: `card.json`, the newest's copy)."""
    return CARD if version is None else f"card.v{version}.json"


def _number(text: str) -> int | None:
    return int(text) if VERSION_KEY.match(text) else None


def version_of_card(filename: str) -> int | None:
    """The version a file name is the card of (`card.v3.json` -> 3), else None."""
    return _number(filename[len("card.v"):-len(".json")]) if filename.startswith("card.v") and \
        filename.endswith(".json") else None


def version_of_keras(name: str, filename: str) -> int | None:
    """The version a file name is the Keras model of (`vae-mnist.v3.keras` -> 3), else None."""
    head, tail = f"{name}.v", ".keras"
    return _number(filename[len(head):-len(tail)]) if filename.startswith(head) and filename.endswith(tail) else None


def version_folders(model_folder) -> list[int]:
    """The versions a model folder has a SavedModel folder for (published or not), ascending."""
    folder = Path(model_folder)
    found = (_number(p.name) for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else ()
    return sorted(v for v in found if v is not None)


def published_versions(model_folder) -> list[int]:
    """The published versions of a model folder, ascending: SavedModel folders whose card
    (the last thing an export writes) exists."""
    folder = Path(model_folder)
    return [v for v in version_folders(folder) if (folder / card_name(v)).is_file()]


def layout_problem(name: str, version: int, rel) -> str | None:
    """Why `rel` cannot be a file of version `version` of `name` in the store layout, or None
    when it can: `<name>/<name>.v<N>.keras` and `<name>/<N>/<path>`, each part of `<path>` a
    plain name (letters, digits, `._-`, not starting with a dot); never absolute, never `..`,
    never in another model's or another version's folder."""
    if not isinstance(rel, str) or not rel:
        return "not a file name"
    parts = rel.split("/")
    if rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
        return "an absolute path"
    if ".." in parts or "\\" in rel:
        return "outside the store's folder (.. or \\)"
    if parts[0] != name:
        return f"outside the store's {name}/ folder"
    if rel == keras_file(name, version):
        return None
    if 3 <= len(parts) <= MAX_PARTS and parts[1] == str(version) and all(PATH_PART.match(p) for p in parts[2:]):
        return None
    return f"not a file of the store layout ({keras_file(name, version)} or {version_folder(name, version)}/...)"
