"""The zoo's model families, one module each; importing the package imports every module in
this folder, which registers its entries (`@register`) and its Keras classes, so a new family
is one new file here (plus its recipe): nothing else to edit."""

import importlib as _importlib
import pkgutil as _pkgutil

from .alphazero import PolicyValueNet
from .autoencoders import VAE, AutoEncoder
from .base import ZooModel, check_images
from .classifier import DigitClassifier
from .gans import DCGAN, ConditionalGAN
from .snake import SnakeQNetwork

for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["AutoEncoder", "VAE", "DigitClassifier", "DCGAN", "ConditionalGAN", "SnakeQNetwork", "PolicyValueNet", "ZooModel", "check_images"]
