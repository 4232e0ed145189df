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
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from . import data, envs, games, models, registry  # noqa: E402  (envs registers zoo/Snake-v0)
from . import training  # noqa: E402  (registers the supervised trainer)
from .rl import alphazero, dqn  # noqa: E402,F401  (register their trainers)
from .hub import load  # noqa: E402
from .registry import get_entry, list_models  # noqa: E402
from .reporting import describe  # noqa: E402

__version__ = "0.1.0"
__all__ = ["data", "describe", "envs", "games", "get_entry", "list_models", "load", "models", "registry", "training"]
