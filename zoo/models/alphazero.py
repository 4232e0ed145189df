"""AlphaZero's policy-value network: a residual conv tower with a policy and a value head.

Input: the canonical board as planes (rows, cols, 2): the mover's stones, the opponent's.
Output: a distribution over moves (illegal moves are masked by the search) and the expected
result for the mover in [-1, 1].

Example:
    >>> net = zoo.load("alphazero-connect4")
    >>> game = net.game()
    >>> policy, value = net.predict_board(game.encode(game.initial())[None])
    >>> player = net.player(simulations=200)      # MCTS with this network: .move(state)
    >>> player.move(game.initial())               # a column, 0-6
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from ..registry import register
from .base import ZooModel


@keras.saving.register_keras_serializable(package="zoo")
class ResidualBlock(layers.Layer):
    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.c1 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.b1 = layers.BatchNormalization(synchronized=True)
        self.c2 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.b2 = layers.BatchNormalization(synchronized=True)

    def call(self, x, training=False):
        h = ops.relu(self.b1(self.c1(x), training=training))
        return ops.relu(x + self.b2(self.c2(h), training=training))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="zoo")
class PolicyValueNet(ZooModel):
    serving_default = "predict"

    def __init__(self, game="tictactoe", filters=64, blocks=3, simulations=100, **kwargs):
        from ..games import get_game

        super().__init__(**kwargs)
        g = get_game(game)
        self.game_name = game
        self.rows, self.cols, self.n_actions = g.rows, g.cols, g.n_actions
        self.filters, self.blocks, self.simulations = int(filters), int(blocks), int(simulations)
        self.stem = keras.Sequential([keras.Input((self.rows, self.cols, 2)),
                                      layers.Conv2D(self.filters, 3, padding="same", use_bias=False),
                                      layers.BatchNormalization(synchronized=True), layers.ReLU()]
                                     + [ResidualBlock(self.filters) for _ in range(self.blocks)], name="tower")
        self.policy_head = keras.Sequential([keras.Input((self.rows, self.cols, self.filters)),
                                             layers.Conv2D(2, 1, use_bias=False), layers.BatchNormalization(synchronized=True),
                                             layers.ReLU(), layers.Flatten(),
                                             layers.Dense(self.n_actions, dtype="float32")], name="policy")
        self.value_head = keras.Sequential([keras.Input((self.rows, self.cols, self.filters)),
                                            layers.Conv2D(1, 1, use_bias=False), layers.BatchNormalization(synchronized=True),
                                            layers.ReLU(), layers.Flatten(), layers.Dense(64, activation="relu"),
                                            layers.Dense(1, activation="tanh", dtype="float32")], name="value")
        self._make_trackers(["loss", "policy_loss", "value_loss"])

    def get_config(self):
        return {**super().get_config(), "game": self.game_name, "filters": self.filters, "blocks": self.blocks,
                "simulations": self.simulations}

    def game(self):
        """The game this network plays (rules, encoding, rendering)."""
        from ..games import get_game

        return get_game(self.game_name)

    def build(self, input_shape=None):
        self.stem.build((None, self.rows, self.cols, 2))
        self.policy_head.build((None, self.rows, self.cols, self.filters))
        self.value_head.build((None, self.rows, self.cols, self.filters))
        self.built = True

    def call(self, planes, training=False):
        h = self.stem(planes, training=training)
        return self.policy_head(h, training=training), self.value_head(h, training=training)[:, 0]

    def predictor(self):
        """The search's evaluator: planes (n, rows, cols, 2) numpy -> (policies, values) numpy,
        one compiled graph for every batch size."""
        spec = tf.TensorSpec((None, self.rows, self.cols, 2), tf.float32)
        fn = tf.function(lambda x: self.call(x), input_signature=[spec])

        def predict(planes):
            logits, value = fn(tf.constant(planes, tf.float32))
            return tf.nn.softmax(logits).numpy(), value.numpy()

        return predict

    def predict_board(self, board):
        """(policy (n, actions), value (n,)) for boards (n, rows, cols, 2) from the mover's side."""
        from .base import check_images

        board = check_images(board, "board", (self.rows, self.cols, 2))
        logits, value = self.call(board)
        return tf.nn.softmax(logits), value

    def player(self, simulations: int | None = None, seed: int = 0, opening_moves: int = 0):
        """A player that moves by MCTS with this network (`.move(state)`, `.move_many(states)`)."""
        from ..rl.alphazero import SearchPlayer

        return SearchPlayer(self.game(), self, simulations or self.simulations, seed=seed,
                            opening_moves=opening_moves)

    def loss_terms(self, batch, training=False):
        planes, pi, z = batch
        logits, v = self.call(planes, training=training)
        policy = tf.nn.softmax_cross_entropy_with_logits(labels=pi, logits=logits)
        value = tf.square(tf.cast(z, tf.float32) - v)
        return {"loss": policy + value, "policy_loss": policy, "value_loss": value}

    def serving_signatures(self):
        spec = [tf.TensorSpec((None, self.rows, self.cols, 2), tf.float32, name="board")]

        def predict(board):
            logits, value = self.call(board)
            return {"policy": tf.nn.softmax(logits), "value": value}

        return {"predict": (predict, spec)}


@register("alphazero-tictactoe", model_class=PolicyValueNet, task="game-playing", dataset="self-play",
          description="AlphaZero-style self-play on tic-tac-toe: residual policy-value net + MCTS, from the rules alone.",
          paper="Silver et al. 2018, https://doi.org/10.1126/science.aar6404", trainer="zoo.rl.alphazero:train")
def alphazero_tictactoe(**config):
    return PolicyValueNet(**{"game": "tictactoe", **config})


@register("alphazero-connect4", model_class=PolicyValueNet, task="game-playing", dataset="self-play",
          description="AlphaZero-style self-play on Connect Four: residual policy-value net + MCTS, from the rules alone.",
          paper="Silver et al. 2018, https://doi.org/10.1126/science.aar6404", trainer="zoo.rl.alphazero:train")
def alphazero_connect4(**config):
    return PolicyValueNet(**{"game": "connect4", **config})
