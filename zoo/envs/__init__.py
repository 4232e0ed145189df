"""Environments; importing zoo registers `zoo/Snake-v0` with Gymnasium."""

from .snake import SnakeEnv, SnakeVecEnv, register

register()

__all__ = ["SnakeEnv", "SnakeVecEnv"]
