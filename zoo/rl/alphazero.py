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
import time
from pathlib import Path

import numpy as np

from ..games.mcts import MCTS, policy_from_visits


class SearchPlayer:
    """A player that moves by MCTS with a network: the most-visited move, except that the first
    `opening_moves` moves of a game are sampled from the visit counts, so that a match between
    two deterministic searchers is not the same two games over and over. `move_many` searches
    several games' positions with batched network calls (see `play_match`)."""

    def __init__(self, game, net, simulations: int, seed: int = 0, opening_moves: int = 2):
        self.mcts = MCTS(game, net.predictor(), simulations=simulations, seed=seed)
        self.opening, self.rng = int(opening_moves), np.random.default_rng(seed)

    def _choose(self, s, visits):
        if s.moves < self.opening:
            return int(self.rng.choice(len(visits), p=policy_from_visits(visits, 1.0)))
        return int(np.argmax(visits))

    def move(self, s):
        return self._choose(s, self.mcts.run(s))

    def move_many(self, states):
        return [self._choose(s, v) for s, v in zip(states, self.mcts.run_many(states))]


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


def reference_opponent(game, seed: int = 0, depth: int = 4):
    """The classical opponent a trained network is judged against: perfect minimax for
    tic-tac-toe, depth-`depth` alpha-beta for Connect Four."""
    from ..games import AlphaBeta, PerfectTicTacToe

    return PerfectTicTacToe(seed=seed) if game.name == "tictactoe" else AlphaBeta(depth=depth, seed=seed)


def score(result: dict) -> float:
    n = sum(result.values())
    return (result["wins"] + 0.5 * result["draws"]) / max(1, n)


def train(recipe: dict, out_dir, strategy=None, verbose: int = 1, max_steps=None, command=None) -> dict:
    import tensorflow as tf

    from ..games import RandomPlayer, play_match
    from ..registry import get_entry
    from ..training import _atomic_write_text, build_model, finish_run, make_optimizer, open_run, start_run

    t, seed = recipe["train"], int(recipe["seed"])
    strat, strategy_name, chief = start_run(recipe, strategy)
    out = Path(out_dir)
    iterations, replicas = int(t["iterations"]), strat.num_replicas_in_sync
    global_batch = int(t["batch_size"]) * replicas
    entry = get_entry(recipe["name"])
    with strat.scope():
        net = build_model(entry, recipe)
        best = build_model(entry, recipe)
        net.build(), best.build()
        optimizers = net.make_optimizers(lambda **kw: make_optimizer(recipe["optimizer"], replicas, 1, **kw))
        iteration = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
        elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_s")
    best.set_weights(net.get_weights())
    game = net.game()
    ckpt = tf.train.Checkpoint(model=net, best=best, iteration=iteration, elapsed=elapsed, **optimizers)
    manager, ckpt_dir, latest = open_run(out, recipe, ckpt, chief)
    examples, history = [], []
    if latest and (out / "examples.npz").exists():
        d = np.load(out / "examples.npz")
        examples = [list(zip(d[f"p{i}"], d[f"pi{i}"], d[f"z{i}"])) for i in range(int(d["n"]))]
    if latest and (out / "history.json").exists():
        history = json.loads((out / "history.json").read_text())
    start = int(iteration.numpy())
    if verbose and chief and latest:
        print(f"resuming from {latest} at iteration {start + 1}")

    @tf.function
    def step(batch):
        return strat.run(net.train_step, args=(batch,))

    rng = np.random.default_rng(seed + 7919 * start)
    if latest and (out / "rng.json").exists():  # the self-play stream exactly where it stopped
        state = json.loads((out / "rng.json").read_text())
        if state.pop("iteration", None) == start:
            rng.bit_generator.state = state
    sims, window = int(t["simulations"]), int(t.get("window", 5))
    t0, base = time.time(), float(elapsed.numpy())
    it = start
    for it in range(start + 1, iterations + 1):
        new, selfplay_results = self_play(game, best.predictor(), int(t["games_per_iteration"]), sims,
                                          int(t.get("temperature_moves", 4)), rng, c_puct=float(t.get("c_puct", 1.5)),
                                          value_from_search=float(t.get("value_from_search", 0.0)))
        examples = (examples + [new])[-window:]
        flat = [e for chunk in examples for e in chunk]
        planes = np.stack([e[0] for e in flat]).astype(np.float32)
        pis = np.stack([e[1] for e in flat]).astype(np.float32)
        zs = np.array([e[2] for e in flat], np.float32)
        ds = tf.data.Dataset.from_tensor_slices((planes, pis, zs)).shuffle(len(zs), seed=seed + it)
        ds = ds.repeat(int(t.get("epochs_per_iteration", 2))).batch(global_batch, drop_remainder=True)
        for m in net.metrics:
            m.reset_state()
        for batch in strat.experimental_distribute_dataset(ds):
            step(batch)
        losses = {m.name: round(float(m.result()), 4) for m in net.metrics}
        row = {"iteration": it, "positions": len(zs), "self_play": selfplay_results, **losses}
        if int(t.get("arena_games", 20)):
            row["arena"] = play_match(game, SearchPlayer(game, net, sims, seed=it), SearchPlayer(game, best, sims, seed=it + 1),
                                      games=int(t.get("arena_games", 20)))
            row["accepted"] = score(row["arena"]) >= float(t.get("accept_score", 0.55))
        else:  # no gate: the newest network always plays next
            row["accepted"] = True
        if row["accepted"]:
            best.set_weights(net.get_weights())
        evaluating = it % int(t.get("eval_every", 1)) == 0 or it == iterations
        if int(t.get("eval_games", 20)) and evaluating:
            row["best_vs_random"] = play_match(game, SearchPlayer(game, best, sims, seed=it), RandomPlayer(game, seed=it),
                                               games=int(t.get("eval_games", 20)))
        if int(t.get("reference_games", 0)) and evaluating:  # the floor's opponent
            row["best_vs_reference"] = play_match(game, SearchPlayer(game, best, sims, seed=it, opening_moves=0),
                                                  reference_opponent(game, seed=it), games=int(t["reference_games"]))
        row["elapsed_s"] = round(base + time.time() - t0, 1)
        history.append(row)
        if verbose and chief:
            print(json.dumps(row), flush=True)
        iteration.assign(it)
        elapsed.assign(base + time.time() - t0)
        manager.save()
        if chief:
            save = {"n": len(examples)}
            for i, chunk in enumerate(examples):
                save[f"p{i}"] = np.stack([e[0] for e in chunk])
                save[f"pi{i}"] = np.stack([e[1] for e in chunk])
                save[f"z{i}"] = np.array([e[2] for e in chunk], np.float32)
            tmp = out / ".examples.tmp.npz"
            np.savez(tmp, **save)
            tmp.replace(out / "examples.npz")
            _atomic_write_text(out / "rng.json", json.dumps({**rng.bit_generator.state, "iteration": it}))
            _atomic_write_text(out / "history.json", json.dumps(history, indent=1))
        if max_steps and it - start >= max_steps:
            break
    finished = it >= iterations
    finish_run(best, out, chief, ckpt_dir, finished, {
        "command": command, "strategy": strategy_name, "replicas": replicas, "global_batch": global_batch,
        "iterations": it, "elapsed_s": round(float(elapsed.numpy()), 1)})
    return {"model": best, "candidate": net, "finished": finished, "steps": it, "history": history,
            "elapsed_s": float(elapsed.numpy()), "replicas": replicas, "global_batch": global_batch, "chief": chief,
            "strategy": strategy_name, "resumed_from": latest}
