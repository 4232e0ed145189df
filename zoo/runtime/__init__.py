"""The zoo without TensorFlow: load a published model's ONNX forms by name and call the same
inference methods as the Keras model, run by ONNX Runtime.

    >>> import zoo.runtime
    >>> vae = zoo.runtime.load("vae-mnist")                     # doctest: +SKIP
    >>> vae.sample(16).shape, vae.encode(vae.sample(2))[0].shape  # doctest: +SKIP
    ((16, 28, 28, 1), (2, 32))
    >>> cnn = zoo.runtime.load("cnn-mnist", precision="int8")  # doctest: +SKIP

Stores are the ones `zoo.load` uses, in the same order (`store=`, `ZOO_STORE`, the checkout's
`artifacts/`, the cache; `ZOO_OFFLINE=1` for the cache alone): a version's `onnx/manifest.json`
and the ONNX files it names are fetched into the cache, checked against the store's index,
and used offline from there. Only the files of the precision asked for are fetched.

This package imports numpy, onnxruntime and the zoo's store, layout and games code, never
TensorFlow or Keras: it is what the `zoo-runtime` distribution installs (`make runtime-wheel`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..layout import NAME_PATTERN, PRECISIONS, layout_problem, manifest_file, version_folder
from ..store import ArtifactError, Store, locate
from .models import (RUNTIMES, AutoEncoderRuntime, ClassifierRuntime, ConditionalGANRuntime, GANRuntime,
                     PolicyValueRuntime, QAgentRuntime, RuntimeModel, Signature, VAEGANRuntime, VAERuntime,
                     check_input, register_runtime)

MANIFEST_FORMAT = 1
DTYPES = ("float32", "int32")  # the input dtypes of the zoo's signatures

__all__ = ["RUNTIMES", "AutoEncoderRuntime", "ClassifierRuntime", "ConditionalGANRuntime", "GANRuntime",
           "ManifestError", "PolicyValueRuntime", "QAgentRuntime", "RuntimeModel", "Signature", "VAEGANRuntime",
           "VAERuntime", "check_input", "check_manifest", "check_precision", "fetch", "load", "load_folder", "read_manifest", "register_runtime",
           "versions_with_onnx"]


class ManifestError(ArtifactError):
    """A version's onnx/manifest.json that cannot be trusted: refused before a file it names is read."""


def _fail(where: str, field: str, why: str):
    raise ManifestError(f"{where}: {field} {why}; the version's ONNX forms were not loaded")


def _check_input_record(where: str, field: str, record):
    if not isinstance(record, dict) or not isinstance(record.get("name"), str) or not record["name"].isidentifier():
        _fail(where, field, "is not an input with a name")
    if record.get("dtype") not in DTYPES:
        _fail(where, f"{field}.dtype", f"is {record.get('dtype')!r}, not one of {', '.join(DTYPES)}")
    shape = record.get("shape")
    if not isinstance(shape, list) or not shape or shape[0] is not None or not all(
            d is None or type(d) is int and d > 0 for d in shape):
        _fail(where, f"{field}.shape", f"is {shape!r}, not a list of sizes starting with the batch (null)")
    bounds = record.get("range")
    if bounds is not None and not (isinstance(bounds, list) and len(bounds) == 2 and all(
            type(b) in (int, float) for b in bounds) and bounds[0] <= bounds[1]):
        _fail(where, f"{field}.range", f"is {bounds!r}, not null or [low, high]")


def check_manifest(manifest, name: str, version: int, where: str) -> dict:
    """`manifest` if it is a well-formed ONNX manifest of `name` version `version`: every file
    it names inside the version's `onnx/` folder (a plain name of the store layout), every input
    a name, dtype, shape and range; else `ManifestError` naming `where` and the field."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        _fail(where, "the manifest", f"is not format {MANIFEST_FORMAT} (a newer one needs a newer zoo)")
    for key, kind in (("model_class", str), ("config", dict), ("signatures", dict)):
        if not isinstance(manifest.get(key), kind):
            _fail(where, key, f"is missing or not {'a string' if kind is str else 'an object'}")
    if not manifest["signatures"]:
        _fail(where, "signatures", "is empty")
    folder = version_folder(name, version)
    for sig, record in manifest["signatures"].items():
        field = f"signatures[{sig!r}]"
        if not isinstance(sig, str) or not sig.isidentifier() or not isinstance(record, dict):
            _fail(where, field, "is not a signature")
        files = record.get("files")
        if not isinstance(files, dict) or set(files) != set(PRECISIONS):
            _fail(where, f"{field}.files", f"must name one file per precision ({', '.join(PRECISIONS)})")
        for precision, rel in files.items():
            problem = layout_problem(name, version, f"{folder}/{rel}") if isinstance(rel, str) else "not a file name"
            if problem or not rel.startswith("onnx/") or not rel.endswith(".onnx"):
                _fail(where, f"{field}.files.{precision}", f"is {rel!r}: {problem or 'not an .onnx file in onnx/'}")
        inputs = record.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            _fail(where, f"{field}.inputs", "is missing or empty")
        for i, rec in enumerate(inputs):
            _check_input_record(where, f"{field}.inputs[{i}]", rec)
        outputs = record.get("outputs")
        if not isinstance(outputs, dict) or not outputs or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in outputs.items()):
            _fail(where, f"{field}.outputs", "is not an object of output names")
    return manifest


def versions_with_onnx(s: Store, name: str) -> list[int]:
    """The versions of `name` in store `s` that have ONNX forms (a manifest), ascending."""
    return [v for v in s.versions(name) if f"{version_folder(name, v)}/{manifest_file()}" in s.files(name, v)]


def load(name: str, version: int | None = None, store: str | None = None, precision: str = "float32",
         threads: int | None = None, seed: int | None = None) -> RuntimeModel:
    """A published model's ONNX forms as a runtime model with the Keras model's inference
    methods (`RUNTIMES` by the kind its manifest names; `RuntimeModel` otherwise).

    Args:
        name: the model's name (`zoo.list_models()` in the full zoo; a store's index lists them).
        version: the version (default: the newest that has ONNX forms).
        store: a store to try first (a folder, http(s)://...), as for `zoo.load`.
        precision: "float32", or "int8" for the dynamic-range quantised files (their cost in
            quality is in the card: `formats.int8.quality`).
        threads: ONNX Runtime's threads per call (default: its own choice, one per core).
        seed: the seed of the generator that `sample` draws from (default: fresh entropy).
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"{name!r} is not a model name (lowercase letters and digits joined by '-')")
    check_precision(precision)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number from 1 (or None: ONNX Runtime's choice), got {threads!r}")
    folder, version = fetch(name, version, store, (precision,))
    return load_folder(folder, name, version, precision, threads, seed)


def check_precision(precision: str) -> str:
    """`precision` if it is one the versions have files of ("float32", "int8"), else a clear error."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be {' or '.join(map(repr, PRECISIONS))}, got {precision!r}")
    return precision


def fetch(name: str, version: int | None = None, store: str | None = None, precisions=PRECISIONS) -> tuple[Path, int]:
    """(the local version folder, the version) of `name`'s ONNX forms (version None: the newest
    that has them), its manifest and the ONNX files of `precisions` fetched from the first store
    holding it and checked against that store's index, as `load` reads them."""
    s, _ = locate(name, version, store)
    if version is None:
        with_onnx = versions_with_onnx(s, name)
        if not with_onnx:
            raise ArtifactError(f"no version of {name} in {s.location} has ONNX forms (versions {s.versions(name)} were "
                                "published before them); use zoo.load with TensorFlow, or republish it")
        version = with_onnx[-1]
    folder = version_folder(name, version)
    rel = f"{folder}/{manifest_file()}"
    if rel not in s.files(name, version):
        raise ArtifactError(f"{name} version {version} has no ONNX forms (published before them); versions with them: "
                            f"{versions_with_onnx(s, name) or 'none'}")
    manifest = read_manifest(s.checked(name, version, only=[rel]) / folder, name, version)
    wanted = sorted({f"{folder}/{rec['files'][p]}" for rec in manifest["signatures"].values() for p in precisions})
    return s.checked(name, version, only=wanted) / folder, version


def read_manifest(folder, name: str, version: int) -> dict:
    """The checked manifest of a version folder (`check_manifest`)."""
    path = Path(folder) / manifest_file()
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise ManifestError(f"{path} cannot be read as JSON ({type(e).__name__}: {e}); the version's ONNX forms were "
                            "not loaded") from None
    return check_manifest(manifest, name, version, str(path))


def load_folder(folder, name: str, version: int, precision: str = "float32", threads: int | None = None,
                seed: int | None = None) -> RuntimeModel:
    """The ONNX forms in version folder `folder` of `name` version `version`, read as they are
    (no store, no index: a version being published, or files checked by the caller)."""
    check_precision(precision)
    manifest = read_manifest(folder, name, version)
    cls = RUNTIMES.get(manifest.get("runtime"), RuntimeModel)
    return cls(name, version, manifest, Path(folder), precision=precision, threads=threads, seed=seed)
