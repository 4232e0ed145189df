"""zoo: a Keras 3 / TensorFlow model zoo of autoencoders, VAEs, GANs and RL agents.

    >>> import zoo
    >>> zoo.list_models()
    ['ae-mnist', 'vae-mnist']
    >>> vae = zoo.load("vae-mnist")
    >>> imgs = vae.sample(16)
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from . import data, envs, models, registry  # noqa: E402,F401  (envs registers zoo/Snake-v0)
from .hub import describe, load  # noqa: E402
from .registry import get_entry, list_models  # noqa: E402

__version__ = "0.1.0"
__all__ = ["data", "describe", "get_entry", "list_models", "load", "models", "registry"]
