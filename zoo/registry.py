"""The registry: one decorator registers a model builder by name, with typed metadata.

Example:
    >>> import zoo
    >>> zoo.list_models("vae*")
    ['vae-mnist', 'vaegan-mnist']
    >>> zoo.get_entry("vae-mnist").recipe_path.name
    'vae-mnist.toml'
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib.resources
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .layout import NAME_PATTERN, published_versions

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_ENV = "ZOO_ARTIFACTS_DIR"


def recipes_root() -> Path:
    """Where the recipes are: the installed package's data (`zoo/train/*.toml` in a wheel, read
    through `importlib.resources`, wherever pip put the package: a venv, `--target`, `--user`,
    `--prefix`), else the checkout's `train/` (a source tree or an editable install)."""
    installed = Path(str(importlib.resources.files(__package__) / "train"))
    return installed if installed.is_dir() else ROOT / "train"


def artifacts_root() -> Path:
    """Where trained artifacts live: `$ZOO_ARTIFACTS_DIR`, else the repository's `artifacts/`."""
    value = os.environ.get(ARTIFACTS_ENV, "").strip()
    return Path(value).expanduser() if value else ROOT / "artifacts"


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder and class, what it does and on what, its paper and recipe."""

    name: str
    builder: Callable = field(repr=False)
    model_class: type = field(repr=False)
    task: str = ""
    dataset: str = ""
    description: str = ""
    paper: str = ""
    recipe: str = ""  # file name under train/ (the model's family names its trainer: Family.trainer)

    @property
    def recipe_path(self) -> Path:
        """The recipe file under train/."""
        return recipes_root() / self.recipe

    @property
    def artifact_dir(self) -> Path:
        """The model's folder in the artifacts store."""
        return artifacts_root() / self.name

    def versions(self) -> list[int]:
        """The published versions, ascending: numeric SavedModel folders whose card
        (`card.v<N>.json`, the last thing an export writes) exists. A folder a killed export
        left without its card is not a version: loaders, `describe` and `serving-config`
        never see it, and the next export removes it."""
        return published_versions(self.artifact_dir)

    def build(self, **config):
        """A fresh, untrained model from the builder with `config`."""
        return self.builder(**config)


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, *, model_class: type, task: str, dataset: str, description: str,
             paper: str = "", recipe: str | None = None):
    """Decorator: register `builder(**model_config) -> model` under `name`."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"model names are lowercase words joined by '-', got {name!r}")

    def wrap(builder):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelEntry(name, builder, model_class, task, dataset, description, paper,
                                     recipe or f"{name}.toml")
        return builder

    return wrap


class UnknownModelError(KeyError):
    def __str__(self):
        return str(self.args[0])


def get_entry(name) -> ModelEntry:
    """The registry entry of `name`; a clear error with suggestions for unknown or path-like names."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a model name must be a non-empty string such as 'vae-mnist', got {name!r}")
    if "/" in name or "\\" in name or name.startswith(".") or name != name.strip():
        raise ValueError(
            f"{name!r} looks like a path; zoo.load takes a registered name ({', '.join(list_models())}). "
            "To load a Keras file use keras.saving.load_model(path)."
        )
    if name not in _REGISTRY:
        close = [n for n in _REGISTRY if n.lower() == name.lower()] or difflib.get_close_matches(
            name.lower(), list(_REGISTRY), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownModelError(f"unknown model {name!r}.{hint} Known models: {', '.join(list_models())}.")
    return _REGISTRY[name]


def judge_for(dataset: str) -> str | None:
    """The classifier that judges generated images of `dataset` (FID, score, label accuracy):
    the model registered with task "classification" on that dataset, or None. The judge is
    chosen by the dataset, never by a model's name.

    Example:
        >>> judge_for("mnist")
        'cnn-mnist'
    """
    judges = list_models(task="classification", dataset=dataset)
    return judges[0] if judges else None


def list_models(pattern: str = "*", task: str | None = None, dataset: str | None = None) -> list[str]:
    """Registered names matching a shell-style wildcard, and the task and dataset if given, sorted.

    Example:
        >>> zoo.list_models(task="generation")
        ['dcgan-mnist', 'vae-mnist', 'vaegan-mnist']
    """
    return sorted(n for n, e in _REGISTRY.items() if fnmatch.fnmatchcase(n, pattern)
                  and (task is None or e.task == task) and (dataset is None or e.dataset == dataset))
