"""Loading trained models by name: `zoo.load("vae-mnist")`.

Example:
    >>> import zoo
    >>> vae = zoo.load("vae-mnist")                           # the Keras model, with its methods
    >>> sm = zoo.load("vae-mnist", format="saved_model")      # what TF Serving serves
    >>> zoo.hub.card("vae-mnist").version
    1
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from . import models  # noqa: F401  (keras.saving.load_model finds the zoo's classes through it)
from .artifacts import ArtifactError, Card
from .registry import get_entry

__all__ = ["ArtifactError", "Card", "card", "keras_path", "load", "resolve_version"]


def resolve_version(name: str, version: int | None = None) -> int:
    """The requested version, or the newest; a clear error when there is none."""
    entry = get_entry(name)
    versions = entry.versions()
    if not versions:
        raise ArtifactError(
            f"no trained artifact for {name!r} in {entry.artifact_dir}. Train one with "
            f"`zoo train {name} --out runs/{name}` and export it with `zoo export {name} --run runs/{name}`."
        )
    if version is None:
        return versions[-1]
    if version not in versions:
        raise ArtifactError(f"{name!r} has no version {version}; available: {versions}")
    return version


def keras_path(name: str, version: int | None = None) -> Path:
    """The Keras file of a version (default: the newest) of `name`."""
    return get_entry(name).artifact_dir / f"{name}.v{resolve_version(name, version)}.keras"


def load(name: str, version: int | None = None, format: str = "keras"):
    """Load a trained model by registry name.

    format="keras" (default) returns the Keras model with its methods (`sample`, `encode`...),
    ready to fine-tune; format="saved_model" returns the raw `tf.saved_model.load` object of
    the numeric version folder that TF Serving would serve.
    """
    if format not in ("keras", "saved_model"):
        raise ValueError(f"format must be 'keras' or 'saved_model', got {format!r}")
    version = resolve_version(name, version)
    if format == "saved_model":
        folder = get_entry(name).artifact_dir / str(version)
        if not (folder / "saved_model.pb").is_file():
            raise ArtifactError(f"{folder} holds no saved_model.pb; re-export with `zoo export {name}`")
        return tf.saved_model.load(str(folder))
    path = keras_path(name, version)
    if not path.is_file():
        raise ArtifactError(f"missing Keras file {path}; re-export with `zoo export {name}`")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # a truncated or tampered zip surfaces as many exception types
        raise ArtifactError(f"could not load {path}: the file is corrupt or incomplete ({type(e).__name__}: {e}). "
                            f"Restore it with `git checkout -- {path}` or re-export it.") from e


def card(name: str) -> Card:
    """The model card of `name`'s artifact."""
    return Card.read(get_entry(name).artifact_dir / "card.json")
