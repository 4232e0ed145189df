"""The zoo's model classes and their registry entries."""

from .autoencoders import VAE, AutoEncoder
from .base import ZooModel, check_images

__all__ = ["AutoEncoder", "VAE", "ZooModel", "check_images"]
