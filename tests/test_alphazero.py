"""AlphaZero-style self-play: batched search, the policy-value network, the trainer."""

import json

import keras
import numpy as np
import pytest

import zoo
from zoo import recipes, runs, training
from zoo.games import ConnectFour, RandomPlayer, TicTacToe, play_match
from zoo.games.mcts import MCTS
from zoo.models import PolicyValueNet

TINY = ["model.filters=16", "model.blocks=1", "games_per_iteration=32", "train.simulations=16", "arena_games=8",
        "eval_games=8", "reference_games=0", "batch_size=64"]


def _noisy(game, seed=0):
    """A fixed, non-uniform evaluator: the search result depends on every call's answer."""
    def predict(planes):
        h = (planes * np.arange(1, planes[0].size + 1).reshape(planes.shape[1:])).sum(axis=(1, 2, 3))
        p = np.abs(np.sin(h[:, None] * np.arange(1, game.n_actions + 1) + seed)) + 0.1
        return p / p.sum(axis=1, keepdims=True), np.tanh(np.cos(h))
    return predict


@pytest.mark.parametrize("game", [TicTacToe(), ConnectFour()])
def test_batched_search_equals_one_search_per_position(game):
    rng = np.random.default_rng(0)
    states = []
    for i in range(5):
        s = game.initial()
        for _ in range(i + 1):
            s = game.play(s, int(rng.choice(np.flatnonzero(game.legal(s)))))
        states.append(s)
    search = MCTS(game, _noisy(game), simulations=60)
    together = search.run_many(states)
    alone = np.stack([MCTS(game, _noisy(game), simulations=60).run(s) for s in states])
    assert together.shape == (5, game.n_actions) and (together.sum(axis=1) == 60).all()
    np.testing.assert_array_equal(together, alone)


def test_side_by_side_matches_count_every_game():
    g = TicTacToe()

    class Counting(RandomPlayer):
        calls = 0

        def move_many(self, states):
            Counting.calls += 1
            return [self.move(s) for s in states]

    r = play_match(g, Counting(g, seed=0), RandomPlayer(g, seed=1), games=30)
    assert sum(r.values()) == 30 and Counting.calls <= 9  # one call per turn for all 30 games


def test_network_config_save_reload_and_errors(tmp_path):
    keras.utils.set_random_seed(0)
    net = zoo.get_entry("alphazero-connect4").build(filters=8, blocks=1)
    net.build()
    assert (net.rows, net.cols, net.n_actions) == (6, 7, 7) and net.game().name == "connect4"
    game = net.game()
    boards = np.stack([game.encode(game.initial()), game.encode(game.play(game.initial(), 3))])
    p, v = (np.asarray(t) for t in net.predict_board(boards))
    assert p.shape == (2, 7) and np.allclose(p.sum(axis=1), 1, atol=1e-5) and (np.abs(v) <= 1).all()
    net.save(tmp_path / "az.keras")
    back = keras.saving.load_model(tmp_path / "az.keras")
    np.testing.assert_allclose(np.asarray(back.predict_board(boards)[0]), p, atol=1e-6)
    assert back.get_config()["game"] == "connect4"
    with pytest.raises(ValueError, match=r"board must have shape \(batch, 6, 7, 2\)"):
        net.predict_board(np.zeros((1, 3, 3, 2), "float32"))
    with pytest.raises(ValueError, match="unknown game 'chess'"):
        PolicyValueNet(game="chess")


def _vs_random_raw(net, games=40):
    """Win rate of the network's raw policy (one simulation: the prior's best legal move)."""
    g = net.game()
    r = play_match(g, net.player(simulations=1, seed=0), RandomPlayer(g, seed=3), games=games)
    return (r["wins"] + 0.5 * r["draws"]) / games


def test_short_training_improves_against_random(tmp_path):
    r = recipes.apply_overrides(recipes.load("alphazero-tictactoe"), TINY + ["iterations=3"])
    keras.utils.set_random_seed(0)
    untrained = runs.build_model(zoo.get_entry("alphazero-tictactoe"), r)
    untrained.build()
    s = training.train(r, tmp_path, verbose=0)
    before, after = _vs_random_raw(untrained), _vs_random_raw(s["model"])
    assert after >= before + 0.15, f"raw policy vs random: {before:.2f} untrained, {after:.2f} after training"
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [row["iteration"] for row in rows] == [1, 2, 3]
    assert rows[-1]["policy_loss"] < rows[0]["policy_loss"]


def test_stopped_run_resumes_where_it_left_off(tmp_path):
    r = recipes.apply_overrides(recipes.load("alphazero-tictactoe"), TINY + ["iterations=2", "games_per_iteration=4"])
    first = training.train(r, tmp_path, verbose=0, max_iterations=1)
    assert not first["finished"] and (tmp_path / "examples.npz").exists()
    second = training.train(r, tmp_path, verbose=0)
    assert second["finished"] and second["resumed_from"]
    assert [row["iteration"] for row in second["history"]] == [1, 2]
    assert (tmp_path / "model.keras").exists()
    # ... and exactly as if it had never stopped: same self-play games, same losses
    whole = training.train(r, tmp_path / "whole", verbose=0)
    strip = lambda rows: [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]
    assert strip(second["history"]) == strip(whole["history"])


def test_value_target_mixes_result_and_search_value():
    from zoo.rl.alphazero import self_play

    game = TicTacToe()
    runs = {lam: self_play(game, _noisy(game), 6, 24, 2, np.random.default_rng(1), value_from_search=lam)[0]
            for lam in (0.0, 0.5, 1.0)}
    z = np.array([e[2] for e in runs[0.0]])
    q = np.array([e[2] for e in runs[1.0]])
    assert set(np.unique(z)) <= {-1.0, 0.0, 1.0} and len(runs[0.0]) == len(runs[1.0])
    assert np.abs(q).max() <= 1.0 and len(np.unique(q)) > 3  # search values, not results
    np.testing.assert_allclose([e[2] for e in runs[0.5]], 0.5 * z + 0.5 * q, atol=1e-12)


def test_search_value_of_a_won_position_is_near_one():
    game = ConnectFour()
    s = game.initial()
    for a in (0, 6, 1, 6, 2, 5):  # X to move: 3 wins at once
        s = game.play(s, a)
    search = MCTS(game, _noisy(game), simulations=200)
    search.run(s)
    assert search.root_values[0] > 0.8


def test_training_without_the_gate_always_promotes_the_candidate(tmp_path):
    r = recipes.apply_overrides(recipes.load("alphazero-tictactoe"),
                                TINY + ["iterations=2", "games_per_iteration=4", "arena_games=0", "train.eval_every=2",
                                        "train.value_from_search=0.5"])
    s = training.train(r, tmp_path, verbose=0)
    rows = s["history"]
    assert all(row["accepted"] and "arena" not in row for row in rows)
    assert "best_vs_random" not in rows[0] and "best_vs_random" in rows[1]
    for a, b in zip(s["model"].get_weights(), s["candidate"].get_weights()):
        np.testing.assert_array_equal(a, b)


def _tiny_net(game):
    keras.utils.set_random_seed(0)
    net = PolicyValueNet(game=game, filters=8, blocks=1, simulations=8)
    net.build()
    return net


def test_human_play_explains_bad_moves_and_finishes_the_game():
    from zoo.play import PlayOptions, play_board

    net = _tiny_net("connect4")
    typed = iter(["9", "x", "3"] + [str(c) for c in range(7) for _ in range(6)])
    said = []

    def read(prompt):
        said.append(prompt)
        return next(typed)

    winner = play_board(net, PlayOptions(), read=read, write=lambda *a: said.append(" ".join(map(str, a))))
    text = "\n".join(said)
    assert "action 9 is outside 0..6" in text and "an action is an integer" in text
    assert winner in (-1, 0, 1) and "game over:" in text


def test_play_gif_records_a_game_against_the_reference_player(tmp_path):
    from PIL import Image

    from zoo.play import PlayOptions, play_board

    net = _tiny_net("tictactoe")
    gif = tmp_path / "game.gif"
    play_board(net, PlayOptions(gif=str(gif)), write=lambda *a: None)
    frames = Image.open(gif).n_frames
    assert frames >= 6  # the empty board and at least five moves


class _OnRuntime:
    """A network whose search evaluates with one runtime's predictor."""

    def __init__(self, net, runtime):
        self.net, self.runtime = net, runtime

    def predictor(self):
        return self.net.predictor(self.runtime)


@pytest.mark.parametrize("name", ["alphazero-tictactoe", "alphazero-connect4"])
def test_the_search_runs_in_onnx_runtime_with_tensorflows_results(name):
    """Issue 36, part 4: the search evaluates positions in ONNX Runtime by default, with the
    policies and values TensorFlow computes (float32 round-off) and the same games."""
    from zoo.games import SearchPlayer, reference_opponent

    net = zoo.load(name)
    game = net.game()
    planes = np.random.default_rng(0).integers(0, 2, (64, game.rows, game.cols, 2)).astype("float32")
    for got, want in zip(net.predictor()(planes), net.predictor("tensorflow")(planes)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    finals = {}
    for runtime in ("onnxruntime", "tensorflow"):
        ends = []
        play_match(game, SearchPlayer(game, _OnRuntime(net, runtime), 32, seed=0), reference_opponent(game, seed=1),
                   games=4, finals=ends)
        finals[runtime] = [s.board.tobytes() for s in ends]
    assert finals["onnxruntime"] == finals["tensorflow"], "the same seeded games in both runtimes"
    with pytest.raises(ValueError, match="runtime must be"):
        net.predictor("torch")


def test_a_predictor_keeps_the_weights_it_was_made_with():
    net = PolicyValueNet(game="tictactoe", filters=8, blocks=1)
    net.build()
    planes = np.zeros((1, 3, 3, 2), "float32")
    before = net.predictor()
    old = before(planes)[1]
    net.value_head.layers[-1].bias.assign([1.0])  # an update
    after = net.predictor()
    np.testing.assert_allclose(before(planes)[1], old)
    np.testing.assert_allclose(after(planes)[1], net.predictor("tensorflow")(planes)[1], atol=1e-6)
    assert not np.allclose(after(planes)[1], old)
