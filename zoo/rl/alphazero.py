"""AlphaZero-style self-play, top to bottom: only the rules, a network, and search.

    zoo train alphazero-tictactoe --out runs/az-ttt

Each iteration:
1. Self-play: the best network so far plays itself; every move is chosen by MCTS (PUCT, with
   Dirichlet noise at the root), sampling from the visit counts for the first `temperature_moves`
   moves and playing the most-visited move after. Each position is stored with the search's
   visit distribution π and, once the game ends, the result z from the mover's side, in all of
   the board's symmetries. With `value_from_search` = λ > 0 the value target is
   (1-λ)·z + λ·q, q the root's search value: far less noisy than z alone early in training.
2. Training: the candidate network learns π (cross-entropy) and z (squared error) from a window
   of recent iterations, with the zoo's `train_step` run by `strategy.run`.
3. Arena: candidate against best, both colours, greedy search without noise; the candidate
   becomes the best only if it scores at least `accept_score` (wins + half the draws).
   `arena_games = 0` drops the gate (as AlphaZero itself did): every candidate plays next.
4. Checkpoint (networks, optimiser, iteration, examples, the self-play random stream): a
   killed run resumes and plays on exactly as if it had never stopped.
"""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

from ..files import atomic_save_npz
from ..games import MCTS, RandomPlayer, SearchPlayer, play_match, policy_from_visits, reference_opponent
from ..models import family_of
from ..recipes import Key
from ..runs import Run, make_optimizer, register_trainer


def self_play(game, predict, games: int, simulations: int, temperature_moves: int, rng, c_puct: float = 1.5,
              value_from_search: float = 0.0):
    """`games` games of the network against itself, side by side (one batched network call per
    simulation round). The value target is (1 - value_from_search)·z + value_from_search·q, z
    the result and q the root's search value, both from the mover's side. Returns
    ([(planes, pi, z)] for every position in every symmetry, {first-player wins, draws,
    second-player wins})."""
    mcts = MCTS(game, predict, simulations=simulations, c_puct=c_puct, seed=int(rng.integers(2**31)))
    states = [game.initial() for _ in range(games)]
    histories = [[] for _ in range(games)]
    active = list(range(games))
    while active:
        visits = mcts.run_many([states[i] for i in active], noise=True)
        for i, v, root_value in zip(active, visits, mcts.root_values):
            s = states[i]
            pi = policy_from_visits(v, 1.0)
            histories[i].append((game.encode(s), pi, s.player, root_value))
            a = int(rng.choice(game.n_actions, p=pi)) if s.moves < temperature_moves else int(np.argmax(v))
            states[i] = game.play(s, a)
        active = [i for i in active if game.winner(states[i]) is None]
    out, results = [], {"first": 0, "draws": 0, "second": 0}
    for s, history in zip(states, histories):
        w = game.winner(s)
        results["first" if w == 1 else "draws" if w == 0 else "second"] += 1
        for planes, pi, player, root_value in history:
            z = 0.0 if w == 0 else (1.0 if w == player else -1.0)
            z = (1.0 - value_from_search) * z + value_from_search * root_value
            out += [(p, q, z) for p, q in game.symmetries(planes, pi.astype(np.float32))]
    return out, results


def score(result: dict) -> float:
    """Match score in [0, 1]: wins plus half the draws, per game."""
    n = sum(result.values())
    return (result["wins"] + 0.5 * result["draws"]) / max(1, n)


class ExampleWindow:
    """The training positions of the last `window` iterations, saved with the checkpoints."""

    def __init__(self, window: int):
        self.window, self.chunks = int(window), []

    def add(self, chunk: list):
        """Add one iteration's (planes, pi, z) examples, dropping the oldest beyond the window."""
        self.chunks = (self.chunks + [chunk])[-self.window:]

    def arrays(self):
        """(planes, pis, zs) float32 arrays of every example in the window."""
        flat = [e for chunk in self.chunks for e in chunk]
        return (np.stack([e[0] for e in flat]).astype(np.float32), np.stack([e[1] for e in flat]).astype(np.float32),
                np.array([e[2] for e in flat], np.float32))

    def save(self, path):
        """Write every chunk atomically (npz)."""
        save = {"n": len(self.chunks)}
        for i, chunk in enumerate(self.chunks):
            save[f"p{i}"] = np.stack([e[0] for e in chunk])
            save[f"pi{i}"] = np.stack([e[1] for e in chunk])
            save[f"z{i}"] = np.array([e[2] for e in chunk], np.float32)
        atomic_save_npz(path, **save)

    def load(self, path):
        """Restore what `save` wrote."""
        d = np.load(path)
        self.chunks = [list(zip(d[f"p{i}"], d[f"pi{i}"], d[f"z{i}"])) for i in range(int(d["n"]))]


def learn(run: Run, net, step, examples: ExampleWindow, t: dict, seed: int, it: int) -> dict:
    """Train the candidate on the window: `epochs_per_iteration` shuffled passes."""
    planes, pis, zs = examples.arrays()
    ds = tf.data.Dataset.from_tensor_slices((planes, pis, zs)).shuffle(len(zs), seed=seed + it)
    ds = ds.repeat(int(t.get("epochs_per_iteration", 2))).batch(run.global_batch, drop_remainder=True)
    for m in net.metrics:
        m.reset_state()
    for batch in run.strategy.experimental_distribute_dataset(ds):
        step(batch)
    return {"positions": len(zs), **{m.name: round(float(m.result()), 4) for m in net.metrics}}


def judge_iteration(game, net, best, row: dict, t: dict, sims: int, it: int, evaluating: bool):
    """Arena (candidate v best: accept or not), then the best network against random and
    against the reference opponent when `evaluating`; results go into `row`."""
    if int(t.get("arena_games", 20)):
        row["arena"] = play_match(game, SearchPlayer(game, net, sims, seed=it), SearchPlayer(game, best, sims, seed=it + 1),
                                  games=int(t.get("arena_games", 20)))
        row["accepted"] = score(row["arena"]) >= float(t.get("accept_score", 0.55))
    else:  # no gate: the newest network always plays next
        row["accepted"] = True
    if row["accepted"]:
        best.set_weights(net.get_weights())
    if int(t.get("eval_games", 20)) and evaluating:
        row["best_vs_random"] = play_match(game, SearchPlayer(game, best, sims, seed=it), RandomPlayer(game, seed=it),
                                           games=int(t.get("eval_games", 20)))
    if int(t.get("reference_games", 0)) and evaluating:  # the floor's opponent
        row["best_vs_reference"] = play_match(game, SearchPlayer(game, best, sims, seed=it, opening_moves=0),
                                              reference_opponent(game, seed=it), games=int(t["reference_games"]))


@register_trainer("alphazero", unit="iterations", data={
    "dataset": Key(str, "self-play", choices=("self-play",)),
}, train={
    "iterations": Key(int, 10, low=1, help="self-play, training and arena rounds"),
    "games_per_iteration": Key(int, 64, low=1),
    "simulations": Key(int, 50, low=1, help="searches per move in self-play"),
    "temperature_moves": Key(int, 4, low=0, help="opening moves sampled from the visit counts"),
    "c_puct": Key(float, 1.5, low=0.0),
    "value_from_search": Key(float, 0.0, low=0.0, high=1.0),
    "window": Key(int, 5, low=1, help="iterations of games trained on"),
    "epochs_per_iteration": Key(int, 2, low=1),
    "arena_games": Key(int, 20, low=0),
    "accept_score": Key(float, 0.55, low=0.0, high=1.0),
    "eval_games": Key(int, 20, low=0),
    "eval_every": Key(int, 1, low=1),
    "reference_games": Key(int, 0, low=0),
})
def train(recipe: dict, out_dir, strategy=None, verbose: int = 1, command=None, judge=None,
          max_iterations: int | None = None) -> dict:
    """Run `train.iterations` self-play iterations; `max_iterations` stops this call early, resumably."""
    t, seed = recipe["train"], int(recipe["seed"])
    run = Run(recipe, out_dir, strategy)
    iterations = int(t["iterations"])
    with run.strategy.scope():
        net, best = run.build_models(2)
        optimizers = family_of(net).make_optimizers(lambda **kw: make_optimizer(recipe["optimizer"], run.replicas, 1, loss_scale=run.loss_scale,
                                                                     **kw))
        iteration = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
    best.set_weights(net.get_weights())
    game = net.game()
    run.open(model=net, best=best, iteration=iteration, **optimizers)
    examples = ExampleWindow(int(t.get("window", 5)))
    if run.state("examples.npz"):
        examples.load(run.state("examples.npz"))
    start = int(iteration.numpy())
    history = run.load_history(lambda h: h["iteration"] <= start)  # a resume from an older checkpoint drops later rows
    if run.restored_from:
        run.say(f"resuming from {run.restored_from} at iteration {start + 1}", verbose)
    step = tf.function(lambda batch: run.strategy.run(net.train_step, args=(batch,)))
    rng = np.random.default_rng(seed + 7919 * start)
    if run.state("rng.json"):  # the self-play stream exactly where it stopped
        state = json.loads(run.state("rng.json").read_text())
        if state.pop("iteration", None) == start:
            rng.bit_generator.state = state
    sims = int(t["simulations"])
    run.start_clock()
    it = start
    for it in range(start + 1, iterations + 1):
        new, selfplay_results = self_play(game, best.predictor(), int(t["games_per_iteration"]), sims,
                                          int(t.get("temperature_moves", 4)), rng, c_puct=float(t.get("c_puct", 1.5)),
                                          value_from_search=float(t.get("value_from_search", 0.0)))
        examples.add(new)
        losses = learn(run, net, step, examples, t, seed, it)
        row = {"iteration": it, "positions": losses.pop("positions"), "self_play": selfplay_results, **losses}
        evaluating = it % int(t.get("eval_every", 1)) == 0 or it == iterations
        judge_iteration(game, net, best, row, t, sims, it, evaluating)
        row["elapsed_s"] = round(run.elapsed_s(), 1)
        history.append(row)
        run.say(json.dumps(row), verbose)
        iteration.assign(it)
        run.save({"examples.npz": examples.save,
                  "rng.json": json.dumps({**rng.bit_generator.state, "iteration": it}),
                  "history.json": json.dumps(history, indent=1)})
        if max_iterations and it - start >= max_iterations:
            break
    finished = it >= iterations
    run.finish(best, finished, {
        "command": command, "strategy": run.strategy_name, "replicas": run.replicas, "global_batch": run.global_batch,
        "iterations": it, "updates": max(int(o.iterations.numpy()) for o in optimizers.values()),
        "elapsed_s": round(run.saved_elapsed_s(), 1)})
    return run.result(best, finished, it, history, candidate=net)
