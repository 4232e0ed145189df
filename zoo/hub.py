"""Loading trained models by name: `zoo.load("vae-mnist")`, from whichever store has them.

Stores are tried in order (`zoo.store.candidate_stores`): an explicit `store=`, `ZOO_STORE`, the
checkout's `artifacts/`, the cache. A remote store's files are downloaded into the cache once;
every file a load reads is checked against the store's index first.

Example:
    >>> import zoo
    >>> vae = zoo.load("vae-mnist")                           # the Keras model, with its methods
    >>> sm = zoo.load("vae-mnist", format="saved_model")      # what TF Serving serves
    >>> zoo.hub.card("vae-mnist").version == zoo.get_entry("vae-mnist").versions()[-1]
    True
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from . import models  # noqa: F401  (keras.saving.load_model finds the zoo's classes through it)
from .artifacts import ArtifactError, Card
from .layout import format_of, keras_file, version_folder
from .registry import get_entry
from .store import Store, locate

__all__ = ["ArtifactError", "Card", "card", "keras_path", "load", "pull", "resolve_version"]


def resolve_version(name: str, version: int | None = None, store: str | None = None) -> int:
    """The requested version, or the newest any store has; a clear error when there is none."""
    get_entry(name)
    return locate(name, version, store)[1]


def _checked(s: Store, name: str, version: int, which: str) -> Path:
    """A local folder with the `which` files ("keras", or a format of the version folder:
    "saved_model", "onnx", "litert") of a version held by store `s` (downloaded into the cache
    if `s` is remote), each checked against its index."""
    inside = f"{version_folder(name, version)}/"
    wanted = [keras_file(name, version)] if which == "keras" else [
        rel for rel in s.files(name, version) if rel.startswith(inside) and format_of(rel[len(inside):]) == which]
    return s.checked(name, version, only=wanted)


def keras_path(name: str, version: int | None = None, store: str | None = None) -> Path:
    """The (checked) Keras file of a version (default: the newest) of `name`."""
    s, version = locate(name, version, store)
    return _checked(s, name, version, "keras") / keras_file(name, version)


def load(name: str, version: int | None = None, format: str = "keras", store: str | None = None):
    """Load a trained model by registry name.

    format="keras" (default) returns the Keras model with its methods (`sample`, `encode`...),
    ready to fine-tune; format="saved_model" returns the raw `tf.saved_model.load` object of
    the numeric version folder that TF Serving would serve. `store` names a store to try first.
    """
    if format not in ("keras", "saved_model"):
        raise ValueError(f"format must be 'keras' or 'saved_model', got {format!r}")
    get_entry(name)
    s, version = locate(name, version, store)
    root = _checked(s, name, version, format)
    if format == "saved_model":
        return tf.saved_model.load(str(root / version_folder(name, version)))
    path = root / keras_file(name, version)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # a tampered zip with a matching index entry surfaces as many exception types
        raise ArtifactError(f"could not load {path}: the file is corrupt or incomplete ({type(e).__name__}: {e}). "
                            f"Restore it with `git checkout -- {path}` or re-export it.") from e


def pull(name: str, version: int | None = None, store: str | None = None) -> Path:
    """Download every file of a version into the cache (checked); returns the cache folder."""
    get_entry(name)
    s, version = locate(name, version, store)
    return s.checked(name, version)


def card(name: str, version: int | None = None) -> Card:
    """The model card of a version (default: the newest) of `name`'s artifact, in the local
    artifacts folder."""
    return Card.of_version(get_entry(name).artifact_dir, version)
