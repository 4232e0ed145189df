"""The zoo's model classes; importing them registers their entries."""

from .alphazero import PolicyValueNet
from .autoencoders import VAE, AutoEncoder
from .base import ZooModel, check_images
from .classifier import DigitClassifier
from .gans import DCGAN, ConditionalGAN
from .snake import SnakeQNetwork

__all__ = ["AutoEncoder", "VAE", "DigitClassifier", "DCGAN", "ConditionalGAN", "SnakeQNetwork", "PolicyValueNet", "ZooModel", "check_images"]
