"""The zoo's model families, one module each; importing the package imports every module in
this folder, which registers its entries (`@register`), its Keras classes and their families
(`@register_family`: what the zoo needs of a model beyond the network, `family_of(model)`), so
a new family is one new file here (plus its recipe): nothing else to edit."""

import importlib as _importlib
import pkgutil as _pkgutil

from .alphazero import PolicyValueNet
from .autoencoders import VAE, AutoEncoder
from .base import Family, ZooModel, check_images, family_of, register_family
from .classifier import DigitClassifier
from .gans import DCGAN, ConditionalGAN
from .snake import SnakeQNetwork

for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["AutoEncoder", "VAE", "DigitClassifier", "DCGAN", "ConditionalGAN", "SnakeQNetwork", "PolicyValueNet", "ZooModel",
           "Family", "family_of", "register_family", "check_images"]
