"""The zoo's model classes; importing them registers their entries."""

from .autoencoders import VAE, AutoEncoder
from .base import ZooModel, check_images
from .classifier import DigitClassifier
from .gans import DCGAN, ConditionalGAN

__all__ = ["AutoEncoder", "VAE", "DigitClassifier", "DCGAN", "ConditionalGAN", "ZooModel", "check_images"]
