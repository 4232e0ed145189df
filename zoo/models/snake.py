"""The Snake agent's Q-network: features in, one Q-value per relative action out.

Example:
    >>> import gymnasium
    >>> agent = zoo.load("snake-dqn")
    >>> env = gymnasium.make("zoo/Snake-v0")
    >>> obs, _ = env.reset(seed=0)
    >>> action = int(agent.act(obs[None])[0])        # greedy: 0 straight, 1 left, 2 right
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ..envs import N_FEATURES, SnakeEnv, episode_frames, evaluate_policy
from ..registry import register
from .base import Family, ZooModel, argmax, check_vectors, empty_batch_safe, numpy_function, register_family


@keras.saving.register_keras_serializable(package="zoo")
class SnakeQNetwork(ZooModel):
    """An MLP Q-network with a dueling head (Wang et al. 2016): Q = V + A - mean(A)."""

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
        """Create the body's and heads' weights."""
        self.body.build((None, self.obs_dim))
        self.value.build((None, self.hidden[-1]))
        self.advantage.build((None, self.hidden[-1]))
        self.built = True

    def call(self, obs, training=False):
        """Q-values (batch, n_actions): V + A - mean(A)."""
        h = self.body(obs, training=training)
        a = self.advantage(h)
        return self.value(h) + a - ops.mean(a, axis=-1, keepdims=True)

    @empty_batch_safe
    def q_values(self, obs):
        """Q-values (batch, n_actions) for observations (batch, obs_dim)."""
        return self.call(check_vectors(obs, self.obs_dim, "observations"))

    def _greedy(self, obs):
        # the one Q-argmax: act(), the served `act` signature and greedy_policy() all use it
        return argmax(self.call(obs))

    @empty_batch_safe
    def act(self, obs):
        """Greedy actions (batch,) int32."""
        return self._greedy(check_vectors(obs, self.obs_dim, "observations"))

    def greedy_policy(self, runtime: str = "onnxruntime"):
        """numpy observations (batch, obs_dim) -> greedy actions (batch,).

        runtime="onnxruntime" (the default): the network converted to ONNX from its weights as
        they are now and run by ONNX Runtime, an order of magnitude faster than TensorFlow for
        one board's step; runtime="tensorflow": one tf.function reading the live weights, which
        the DQN trainer acts with while the network learns."""
        run = numpy_function(self, lambda net: lambda obs: {"action": net._greedy(obs)},
                             [tf.TensorSpec((None, self.obs_dim), tf.float32)], runtime)
        return lambda obs: run(obs)["action"]

    def frames(self, seed: int = 0, size: int = 20, max_steps: int = 5000) -> tuple[list, int]:
        """RGB frames of one greedy game on a `size` board, and its score."""
        return episode_frames(self.greedy_policy(), seed, size, max_steps)


@register_family(SnakeQNetwork)
class SnakeFamily(Family):
    """A Snake agent is trained by the DQN loop, served for its actions and Q-values, measured
    in apples over seeded greedy games and played by `zoo play`."""

    serving_default = "act"
    runtime_kind = "q_agent"
    int8_allowed = {"apples_mean": ("max", 0.05, "rel")}

    def gallery_data(self, dataset: str) -> dict:
        """The board the page's games are played on (the card's: 20x20 with walls)."""
        return {"board": 20}

    def gallery_models(self) -> dict:
        """The untrained network (same architecture, seed 0) that plays beside the agent."""
        return {"untrained": self.model.untrained_copy(seed=0)}

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """Apples per game over the card's 100 seeded greedy games (the first `limit`)."""
        result = evaluate_policy(runtime_model.greedy_policy(), games=min(100, limit or 100))
        return {"apples_mean": result["mean"], "apples_max": result["max"], "games": result["games"]}
    trainer = "dqn"
    play_kind = "agent"
    picture_scale = 1
    recipe_bounds = {"obs_dim": {"low": 1}, "n_actions": {"low": 2}}

    def serving_signatures(self):
        spec = [tf.TensorSpec((None, self.model.obs_dim), tf.float32, name="observations")]
        return {
            "act": (lambda observations: {"action": self.model._greedy(observations)}, spec),
            "q_values": (lambda observations: {"q_values": self.model.call(observations)}, spec),
        }

    def serving_examples(self, specs, batch: int = 2, seed: int = 0) -> dict:
        """Real observations from seeded boards."""
        env = SnakeEnv()
        return {spec.name: np.stack([env.reset(seed=i)[0] for i in range(batch)]) for spec in specs}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True,
                     games: int = 100) -> dict:
        """Apples per game over `games` greedy games with fixed seeds (the first `limit` of them
        when given: a reduced evaluation), beside an untrained network."""
        games = min(games, limit) if limit else games
        trained = evaluate_policy(self.model.greedy_policy(), games=games)
        base = evaluate_policy(self.model.untrained_copy(seed=0).greedy_policy(), games=games)
        return {**{f"apples_{k}": v for k, v in trained.items() if k in ("mean", "median", "max", "min")},
                **{f"untrained_apples_{k}": v for k, v in base.items() if k in ("mean", "median", "max")},
                "games": trained["games"], "board": trained["board"], "seeds": trained["seeds"]}

    @classmethod
    def test_set(cls, config):
        return "100 greedy games on 20x20 Snake with walls, board seeds 10000-10099; untrained: same architecture, seed 0"

    @classmethod
    def headline_metric(cls, metrics):
        return "apples_mean", "max"

    @classmethod
    def headline(cls, m, config):
        return (f"**{m['apples_mean']}** apples/game (median {m['apples_median']}, max {m['apples_max']}) over "
                f"{m['games']} greedy games; untrained {m['untrained_apples_mean']}")

    def picture(self, seed: int = 0):
        """The board at the end of a greedy game, in colour."""
        return self.model.frames(seed, 20, 5000)[0][-1]

    def demo(self, x) -> str:
        r = evaluate_policy(self.model.greedy_policy(), games=10)
        return f"10 greedy games on 20x20: mean {r['mean']} apples, max {r['max']}"


@register("snake-dqn", model_class=SnakeQNetwork, task="reinforcement-learning", dataset="zoo/Snake-v0",
          description="Double DQN agent for 20x20 Snake, learnt from the score alone.",
          paper="Mnih et al. 2015; van Hasselt et al. 2016, https://arxiv.org/abs/1509.06461")
def snake_dqn(**config):
    """The registered `snake-dqn` builder."""
    return SnakeQNetwork(**config)
