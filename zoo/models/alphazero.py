"""AlphaZero's policy-value network: a residual conv tower with a policy and a value head.

Input: the canonical board as planes (rows, cols, 2): the mover's stones, the opponent's.
Output: a distribution over moves (illegal moves are masked by the search) and the expected
result for the mover in [-1, 1].

Example:
    >>> net = zoo.load("alphazero-connect4")
    >>> game = net.game()
    >>> policy, value = net.predict_board(game.encode(game.initial())[None])
    >>> player = net.player(simulations=200)      # MCTS with this network: .move(state)
    >>> player.move(game.initial()) in range(7)   # a column, 0-6
    True
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ..games import RandomPlayer, SearchPlayer, get_game, play_game, play_match, random_openings, reference_opponent
from ..registry import register
from .base import Family, ZooModel, check_board, empty_batch_safe, numpy_function, register_family, weights_fingerprint


@keras.saving.register_keras_serializable(package="zoo")
class ResidualBlock(layers.Layer):
    """Two 3x3 conv + batch-norm layers with a skip connection (He et al. 2016)."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.c1 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.b1 = layers.BatchNormalization(synchronized=True)
        self.c2 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.b2 = layers.BatchNormalization(synchronized=True)

    def call(self, x, training=False):
        """relu(x + BN(conv(relu(BN(conv(x))))))."""
        h = ops.relu(self.b1(self.c1(x), training=training))
        return ops.relu(x + self.b2(self.c2(h), training=training))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="zoo")
class PolicyValueNet(ZooModel):
    """AlphaZero's network for one board game (`game`: a `zoo.games` name): a residual tower of
    `blocks` blocks of `filters` channels, a policy head and a value head. `simulations` is
    how many MCTS simulations its player searches per move by default."""

    def __init__(self, game="tictactoe", filters=64, blocks=3, simulations=100, **kwargs):
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
        self.make_trackers(["loss", "policy_loss", "value_loss"])

    def get_config(self):
        return {**super().get_config(), "game": self.game_name, "filters": self.filters, "blocks": self.blocks,
                "simulations": self.simulations}

    def game(self):
        """The game this network plays (rules, encoding, rendering)."""
        return get_game(self.game_name)

    def build(self, input_shape=None):
        """Create the tower's and heads' weights."""
        self.stem.build((None, self.rows, self.cols, 2))
        self.policy_head.build((None, self.rows, self.cols, self.filters))
        self.value_head.build((None, self.rows, self.cols, self.filters))
        self.built = True

    def call(self, planes, training=False):
        """(policy logits (n, actions), value (n,)) of canonical boards (n, rows, cols, 2)."""
        h = self.stem(planes, training=training)
        return self.policy_head(h, training=training), self.value_head(h, training=training)[:, 0]

    def predictor(self, runtime: str = "onnxruntime"):
        """The search's evaluator: planes (n, rows, cols, 2) numpy -> (policies, values) numpy.

        runtime="onnxruntime" (the default): the network converted to ONNX from its weights as
        they are now (a predictor made before an update keeps the old weights; one conversion
        per set of weights, about a second) and run by ONNX Runtime, which evaluates the
        search's batches of 1 to 32 positions 3 to 17 times faster than TensorFlow on a 2-core
        host; runtime="tensorflow": the Keras model in one compiled graph. Both give the same
        policies and values within float32 round-off (a network trained under mixed_bfloat16
        runs in ONNX Runtime as its float32 twin: closer to its float32 weights, not further)."""
        spec = tf.TensorSpec((None, self.rows, self.cols, 2), tf.float32)

        def values_of(net):
            def policy_value(planes):
                logits, value = net.call(planes)
                return {"policy": tf.nn.softmax(logits), "value": value}

            return policy_value

        if runtime != "onnxruntime":
            run = numpy_function(self, values_of, [spec], runtime)
        else:  # one conversion per set of weights
            fingerprint = weights_fingerprint(self)
            if getattr(self, "_onnx_predictor", (None,))[0] != fingerprint:
                self._onnx_predictor = (fingerprint, numpy_function(self, values_of, [spec]))
            run = self._onnx_predictor[1]

        def predict(planes):
            out = run(planes)
            return out["policy"], out["value"]

        return predict

    @empty_batch_safe
    def predict_board(self, board):
        """(policy (n, actions), value (n,)) for boards (n, rows, cols, 2) from the mover's side."""
        board = check_board(board, (self.rows, self.cols, 2))
        logits, value = self.call(board)
        return tf.nn.softmax(logits), value

    def player(self, simulations: int | None = None, seed: int = 0, opening_moves: int = 0):
        """A player that moves by MCTS with this network (`.move(state)`, `.move_many(states)`)."""
        return SearchPlayer(self.game(), self, simulations or self.simulations, seed=seed,
                            opening_moves=opening_moves)

    def loss_terms(self, batch, training=False):
        planes, pi, z = batch
        logits, v = self.call(planes, training=training)
        policy = tf.nn.softmax_cross_entropy_with_logits(labels=pi, logits=logits)
        value = tf.square(tf.cast(z, tf.float32) - v)
        return {"loss": policy + value, "policy_loss": policy, "value_loss": value}


@register_family(PolicyValueNet)
class PolicyValueFamily(Family):
    """A policy-value network is trained by self-play (the AlphaZero loop), served for its
    policy and value, measured in games of its search player and played by `zoo play`."""

    serving_default = "predict"
    runtime_kind = "policy_value"
    exact_integer_inputs = ("board",)
    int8_allowed = {"vs_": ("min", 0, "abs"), "openings_vs_": ("min", 0, "abs")}

    def gallery_data(self, dataset: str) -> dict:
        """The board a page draws: its size, the line to connect, whether discs fall, the marks."""
        game = self.model.game()
        return {"game": {"name": game.name, "rows": game.rows, "cols": game.cols, "connect": game.connect,
                         "gravity": game.n_actions == game.cols, "marks": ["X", "O"] if game.n_actions > game.cols
                         else ["●", "○"]},
                "chooses": "the policy head alone: the legal move it gives the highest probability (no search)"}

    @classmethod
    def runtime_metrics(cls, runtime_model, judge=None, limit: int | None = None) -> dict:
        """Losses of the search player (the card's simulations) against the game's reference
        opponent in the card's matches: from the empty board and, for Connect Four, from its
        random two-move openings (`limit`: games per match)."""
        game, games = runtime_model.game(), min(100, limit or 100)
        sims, ref, name = runtime_model.simulations, reference_opponent(game, seed=1), game.reference_name
        out = {f"vs_{name}_losses": play_match(game, runtime_model.player(sims, seed=0), ref, games=games)["losses"]}
        if game.opening_book_plies:
            starts = random_openings(game, games, game.opening_book_plies, seed=3)
            out[f"openings_vs_{name}_losses"] = play_match(game, runtime_model.player(sims, seed=0), ref, games=games,
                                                           starts=starts)["losses"]
        return {**out, "games_each": games, "simulations_per_move": sims}
    trainer = "alphazero"
    play_kind = "board"
    picture_scale = 1
    recipe_bounds = {"filters": {"low": 1}, "simulations": {"low": 1}}

    def serving_signatures(self):
        spec = [tf.TensorSpec((None, self.model.rows, self.model.cols, 2), tf.float32, name="board")]

        def predict(board):
            logits, value = self.model.call(board)
            return {"policy": tf.nn.softmax(logits), "value": value}

        return {"predict": (predict, spec)}

    def serving_examples(self, specs, batch: int = 2, seed: int = 0) -> dict:
        """Positions from seeded random play (0-4 moves in)."""
        game = self.model.game()
        boards = []
        for i in range(batch):
            s, mover = game.initial(), RandomPlayer(game, seed=seed + i)
            for _ in range(i % 5):
                s = game.play(s, mover.move(s))
            boards.append(game.encode(s))
        return {spec.name: np.stack(boards) for spec in specs}

    def card_metrics(self, judge=None, samples: int = 1000, limit: int | None = None, verbose: bool = True,
                     games: int = 100, simulations: int | None = None) -> dict:
        """Games of the network's search player (no noise, no sampled openings) against the
        game's reference opponent and a random mover, colours alternating; for Connect Four
        also from random two-move openings (depth-4 alpha-beta rarely ties, so few games differ
        otherwise), the way engines are tested with a book. `limit`: at most that many games of
        each match (a reduced evaluation)."""
        games = min(games, limit) if limit else games
        game = self.model.game()
        sims = simulations or self.model.simulations
        ref = reference_opponent(game, seed=1)
        t0 = time.time()
        finals = []  # the search plays without noise: the opponent's random tie-breaks vary the games
        vs_ref = play_match(game, self.model.player(sims, seed=0), ref, games=games, finals=finals)
        vs_random = play_match(game, self.model.player(sims, seed=0), RandomPlayer(game, seed=2), games=games)
        name = game.reference_name

        def outcome(prefix, result, ends):
            return {**{f"{prefix}_{k}": v for k, v in result.items()}, f"{prefix}_win_rate": round(result["wins"] / games, 3),
                    f"{prefix}_distinct_games": len({s.board.tobytes() for s in ends})}

        extra = {}
        if game.opening_book_plies:
            book_finals = []
            book = play_match(game, self.model.player(sims, seed=0), ref, games=games, finals=book_finals,
                              starts=random_openings(game, games, game.opening_book_plies, seed=3))
            extra = outcome(f"openings_vs_{name}", book, book_finals)
        return {**extra, **outcome(f"vs_{name}", vs_ref, finals),
                "vs_random_wins": vs_random["wins"], "vs_random_draws": vs_random["draws"],
                "vs_random_losses": vs_random["losses"], "vs_random_win_rate": round(vs_random["wins"] / games, 3),
                "games_each": games, "simulations_per_move": sims, "eval_seconds": round(time.time() - t0, 1)}

    @classmethod
    def test_set(cls, config):
        if config.get("game") == "connect4":
            return ("100 games each against depth-4 alpha-beta (window heuristic, random among equal moves, seed 1) and "
                    "a random mover (seed 2), colours alternating; MCTS with the card's simulations per move, no noise; "
                    "openings_*: 100 more games against the same alpha-beta, each from a random two-move opening (one "
                    "move per side, seed 3); distinct_games counts different final positions")
        return ("100 games each against perfect minimax (random among its best moves, seed 1) and a random mover "
                "(seed 2), colours alternating; MCTS with the card's simulations per move, no noise")

    @classmethod
    def headline_metric(cls, metrics):
        lost = [k for k in metrics if k.startswith("vs_") and k.endswith("_losses") and not k.startswith("vs_random")]
        return (lost[0], "min") if lost else None  # games lost to the game's reference opponent

    @classmethod
    def headline(cls, m, config):
        if config.get("game") == "connect4":
            return (f"v depth-4 alpha-beta: **{m['vs_alphabeta4_win_rate'] * 100:.0f}% wins** "
                    f"({m['vs_alphabeta4_draws']} draws, {m['vs_alphabeta4_losses']} losses) in {m['games_each']} games; "
                    f"from random two-move openings {m['openings_vs_alphabeta4_win_rate'] * 100:.0f}% wins "
                    f"({m['openings_vs_alphabeta4_losses']} losses); v random {m['vs_random_win_rate'] * 100:.0f}% "
                    f"({m['simulations_per_move']} simulations/move)")
        return (f"v perfect play: **{m['vs_perfect_losses']} losses** ({m['vs_perfect_draws']} draws) in {m['games_each']} "
                f"games; v random: **{m['vs_random_win_rate'] * 100:.0f}% wins**, {m['vs_random_losses']} losses "
                f"({m['simulations_per_move']} simulations/move)")

    def picture(self, seed: int = 0):
        """The final boards of two games against the reference player: the network first (red), then second."""
        game, boards = self.model.game(), []
        for net_first in (True, False):
            net, ref = self.model.player(seed=seed), reference_opponent(game, seed=seed)
            final, _ = play_game(game, {1: net, -1: ref} if net_first else {1: ref, -1: net})
            boards.append(np.pad(game.render_rgb(final), ((4, 4), (4, 4), (0, 0))))
        return np.concatenate(boards, axis=1)

    def demo(self, x) -> str:
        game = self.model.game()
        policy, value = self.model.predict_board(game.encode(game.initial())[None])
        r = play_match(game, self.model.player(), RandomPlayer(game, seed=0), games=10)
        return (f"opening policy argmax {int(np.argmax(policy[0]))}, value {float(value[0]):+.2f}; "
                f"10 games v random: {r['wins']} wins, {r['draws']} draws, {r['losses']} losses")


@register("alphazero-tictactoe", model_class=PolicyValueNet, task="game-playing", dataset="self-play",
          description="AlphaZero-style self-play on tic-tac-toe: residual policy-value net + MCTS, from the rules alone.",
          paper="Silver et al. 2018, https://doi.org/10.1126/science.aar6404")
def alphazero_tictactoe(**config):
    """The registered `alphazero-tictactoe` builder."""
    return PolicyValueNet(**{"game": "tictactoe", **config})


@register("alphazero-connect4", model_class=PolicyValueNet, task="game-playing", dataset="self-play",
          description="AlphaZero-style self-play on Connect Four: residual policy-value net + MCTS, from the rules alone.",
          paper="Silver et al. 2018, https://doi.org/10.1126/science.aar6404")
def alphazero_connect4(**config):
    """The registered `alphazero-connect4` builder."""
    return PolicyValueNet(**{"game": "connect4", **config})
