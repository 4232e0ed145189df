"""The Snake agent's Q-network: features in, one Q-value per relative action out.

Example:
    >>> agent = zoo.load("snake-dqn")
    >>> env = gymnasium.make("zoo/Snake-v0")
    >>> obs, _ = env.reset(seed=0)
    >>> action = int(agent.act(obs[None])[0])        # greedy: 0 straight, 1 left, 2 right
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from ..envs.snake import N_FEATURES
from ..registry import register
from .base import ZooModel, check_vectors


@keras.saving.register_keras_serializable(package="zoo")
class SnakeQNetwork(ZooModel):
    """An MLP Q-network with a dueling head (Wang et al. 2016): Q = V + A - mean(A)."""

    serving_default = "act"

    def __init__(self, obs_dim=N_FEATURES, n_actions=3, hidden=(256, 256), **kwargs):
        super().__init__(**kwargs)
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        self.hidden = tuple(int(h) for h in hidden)
        self.body = keras.Sequential([keras.Input((self.obs_dim,))] + [layers.Dense(h, activation="relu") for h in self.hidden],
                                     name="body")
        self.value = layers.Dense(1, dtype="float32", name="value")
        self.advantage = layers.Dense(self.n_actions, dtype="float32", name="advantage")

    def get_config(self):
        return {**super().get_config(), "obs_dim": self.obs_dim, "n_actions": self.n_actions, "hidden": list(self.hidden)}

    def untrained_copy(self, seed: int = 0) -> "SnakeQNetwork":
        """A fresh, seeded network of the same shape: the baseline a trained agent is compared to."""
        keras.utils.set_random_seed(seed)
        twin = SnakeQNetwork(obs_dim=self.obs_dim, n_actions=self.n_actions, hidden=self.hidden)
        twin.build()
        return twin

    def build(self, input_shape=None):
        self.body.build((None, self.obs_dim))
        self.value.build((None, self.hidden[-1]))
        self.advantage.build((None, self.hidden[-1]))
        self.built = True

    def call(self, obs, training=False):
        h = self.body(obs, training=training)
        a = self.advantage(h)
        return self.value(h) + a - ops.mean(a, axis=-1, keepdims=True)

    def q_values(self, obs):
        """Q-values (batch, n_actions) for observations (batch, obs_dim)."""
        return self.call(check_vectors(obs, self.obs_dim, "observations"))

    def act(self, obs):
        """Greedy actions (batch,) int32."""
        return ops.cast(ops.argmax(self.q_values(obs), axis=-1), "int32")

    def serving_signatures(self):
        spec = [tf.TensorSpec((None, self.obs_dim), tf.float32, name="observations")]
        return {
            "act": (lambda observations: {"action": ops.cast(ops.argmax(self.call(observations), axis=-1), "int32")}, spec),
            "q_values": (lambda observations: {"q_values": self.call(observations)}, spec),
        }


@register("snake-dqn", model_class=SnakeQNetwork, task="reinforcement-learning", dataset="zoo/Snake-v0",
          description="Double DQN agent for 20x20 Snake, learnt from the score alone.",
          paper="Mnih et al. 2015; van Hasselt et al. 2016, https://arxiv.org/abs/1509.06461",
          trainer="zoo.rl.dqn:train")
def snake_dqn(**config):
    return SnakeQNetwork(**config)
