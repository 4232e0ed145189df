"""zoo: a Keras 3 / TensorFlow model zoo of autoencoders, VAEs, GANs and RL agents.

    >>> import zoo
    >>> zoo.list_models()
    ['ae-mnist', 'alphazero-connect4', 'alphazero-tictactoe', 'cgan-fashion-mnist', 'cgan-mnist', 'cnn-fashion-mnist', 'cnn-mnist', 'dcgan-mnist', 'snake-dqn', 'vae-mnist', 'vaegan-mnist']
    >>> vae = zoo.load("vae-mnist")
    >>> vae.sample(16).shape
    TensorShape([16, 28, 28, 1])

The package is layered; a module imports only from its own layer or below (tests/test_layers.py):

1. `files`, `layout`: atomic writes, checksums, PNG and image tiles; the store layout (what
   every file of a store is called, and what makes a version published).
2. `data`, `metrics`, `registry`, `envs`, `games`: datasets, the judge's mathematics, the
   registry, the Snake environment, board games with their search and opponents.
3. `models`: each family with everything specific to it (see `zoo.models.base.ZooModel`).
4. `recipes`, `runs`, `training`, `rl`: recipes, the training run, the trainers.
5. `serving`, `artifacts`, `hub`, `evaluate`, `reporting`: SavedModels and cards, loading,
   evaluation, describe and the README table.
6. `sweep`, `cli`, `play`, `demo`, and this package's `__init__`: the user's entry points
   (`sweep` trains and evaluates a recipe at several values of one key).

`zoo.runtime` (layer 5) loads the same models' ONNX forms without TensorFlow or Keras. So that
it can, `import zoo` imports nothing: the first use of a name of the full zoo (`zoo.load`,
`zoo.models`, ...) imports TensorFlow and the model families (PEP 562 `__getattr__`), and
`zoo.runtime` never does.
"""

import importlib as _importlib
import os as _os
import sys as _sys

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
__all__ = ["data", "describe", "envs", "games", "get_entry", "list_models", "load", "models", "registry", "training"]
_FUNCTIONS = {"load": "hub", "describe": "reporting", "get_entry": "registry", "list_models": "registry"}
_ALONE = {"files", "layout", "limits", "store", "runtime"}  # TensorFlow-free modules that need no models registered
_RUNTIME = {"games", "registry"}  # also in zoo-runtime, which has no models: there they come alone


def _importing_zoo() -> bool:
    """Whether a zoo module is being imported right now (its `from . import x` reaches here)."""
    return any(getattr(getattr(m, "__spec__", None), "_initializing", False)
               for k, m in list(_sys.modules.items()) if k.startswith(__name__ + "."))


def _full_zoo():
    """Import what `import zoo` imported before it was lazy: the model families (registering
    the registry's entries), the Snake environment, the trainers, loading and reports."""
    try:
        for module in ("data", "envs", "games", "models", "registry", "training", "rl.alphazero", "rl.dqn", "hub",
                       "reporting"):
            _importlib.import_module(f"{__name__}.{module}")
    except ImportError as e:
        if e.name in ("tensorflow", "keras") or (e.name or "").startswith(f"{__name__}."):  # zoo-runtime: no models
            raise ImportError(f"this is the zoo's runtime without TensorFlow ({e.name} is not installed): load a model "
                              "with zoo.runtime.load(name), or install the full zoo (pip install zoo)",
                              name=e.name) from e
        raise


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in _ALONE and not _importing_zoo():  # a user's first touch: the zoo as `import zoo` gave it
        try:
            _full_zoo()
        except ImportError:
            if name not in _RUNTIME:  # zoo-runtime has these modules, and no models
                raise
        if name in _FUNCTIONS:
            value = getattr(_sys.modules[f"{__name__}.{_FUNCTIONS[name]}"], name)
            globals()[name] = value
            return value
    try:
        return _importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise


def __dir__():
    return sorted(set(globals()) | set(__all__))
