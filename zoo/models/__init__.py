"""The zoo's model classes; importing them registers their entries."""

from .autoencoders import VAE, AutoEncoder
from .base import ZooModel, check_images
from .classifier import DigitClassifier
from .gans import DCGAN, ConditionalGAN
from .snake import SnakeQNetwork

__all__ = ["AutoEncoder", "VAE", "DigitClassifier", "DCGAN", "ConditionalGAN", "SnakeQNetwork", "ZooModel", "check_images"]
