"""Environments; importing zoo registers `zoo/Snake-v0` with Gymnasium."""

from .snake import N_FEATURES, SnakeEnv, SnakeVecEnv, episode, episode_frames, evaluate_policy, register

register()

__all__ = ["N_FEATURES", "SnakeEnv", "SnakeVecEnv", "episode", "episode_frames", "evaluate_policy"]
