"""Monte-Carlo tree search with PUCT (AlphaZero's variant), many trees at once.

Each node keeps, per legal move, a prior P from the network, a visit count N and a total value
W. A simulation walks down by argmax Q + c·P·sqrt(ΣN)/(1+N), asks the network for (P, v) at the
leaf (or uses the game result at a terminal state), and backs v up with alternating signs. At
the root, Dirichlet noise mixed into P makes self-play explore.

`run_many` searches several positions (one tree each) in lock-step: every round takes one leaf
from each tree and evaluates all of them in one network call. On a CPU a call costs about the
same for 1 position as for 64, so self-play and matches run their games side by side.

    >>> from zoo.games import ConnectFour
    >>> game = ConnectFour()
    >>> def predict(planes):  # planes (n, rows, cols, 2) -> (priors (n, actions), values (n,))
    ...     return np.full((len(planes), game.n_actions), 1 / game.n_actions), np.zeros(len(planes))
    >>> search = MCTS(game, predict, simulations=100)
    >>> visits = search.run(game.initial())             # visit counts per action: the improved policy
    >>> int(visits.sum())
    100
    >>> search.run_many([game.initial()] * 3).shape
    (3, 7)
"""

from __future__ import annotations

import math

import numpy as np

from .core import Game, State


class Node:
    """One searched position: per move its prior P, visit count N and total value W."""

    __slots__ = ("prior", "children", "n", "w", "legal")

    def __init__(self, prior: np.ndarray, legal: np.ndarray):
        self.prior, self.legal = prior, legal
        self.children: dict[int, tuple[State, Node | None]] = {}
        self.n = np.zeros_like(prior)
        self.w = np.zeros_like(prior)


def _result_for_mover(w: int, state_after: State) -> float:
    """Game result for the player who made the move that reached `state_after`."""
    return 0.0 if w == 0 else (1.0 if w == -state_after.player else -1.0)


class MCTS:
    """PUCT search with a network evaluator, for one position (`run`) or many side by side (`run_many`)."""

    def __init__(self, game: Game, predict, simulations: int = 100, c_puct: float = 1.5,
                 dirichlet_alpha: float = 0.3, noise_fraction: float = 0.25, seed: int = 0):
        """`predict(planes (n, rows, cols, 2)) -> (policies (n, actions), values (n,))`, values
        for the player to move in each position, in [-1, 1]."""
        self.game, self.predict, self.simulations = game, predict, int(simulations)
        if self.simulations < 1:
            raise ValueError(f"simulations must be at least 1, got {simulations}")
        self.c_puct, self.alpha, self.eps = c_puct, dirichlet_alpha, noise_fraction
        self.rng = np.random.default_rng(seed)

    def _expand(self, states: list[State]) -> tuple[list[Node], np.ndarray]:
        policies, values = self.predict(self.game.encode_many(states))
        nodes = []
        for s, policy in zip(states, np.asarray(policies, np.float64)):
            legal = self.game.legal(s)
            p = np.where(legal, policy, 0.0)
            total = p.sum()
            nodes.append(Node(p / total if total > 0 else legal / legal.sum(), legal))
        return nodes, np.asarray(values, np.float64).reshape(-1)

    def run(self, s: State, noise: bool = False) -> np.ndarray:
        """Visit counts per action after `simulations` simulations from `s`."""
        return self.run_many([s], noise)[0]

    def run_many(self, states: list[State], noise: bool = False) -> np.ndarray:
        """Visit counts (len(states), actions): one independent search per position."""
        for s in states:
            if self.game.winner(s) is not None:
                raise ValueError("the game is over: there is nothing to search")
        roots, _ = self._expand(list(states))
        if noise:
            for root in roots:
                eta = np.zeros_like(root.prior)
                eta[root.legal] = self.rng.dirichlet([self.alpha] * int(root.legal.sum()))
                root.prior = (1 - self.eps) * root.prior + self.eps * eta
        for _ in range(self.simulations):
            pending = []
            for s, root in zip(states, roots):
                path, leaf, value = self._select(s, root)
                if value is None:
                    pending.append((path, leaf))
                else:
                    self._backup(path, value)
            if pending:
                nodes, values = self._expand([leaf for _, leaf in pending])
                for (path, leaf), node, v in zip(pending, nodes, values):
                    parent, a = path[-1]
                    parent.children[a] = (leaf, node)
                    self._backup(path, -v)  # the leaf's value is for its mover's opponent
        # what the search thinks each root is worth to its mover: a lower-variance value target
        # than the game's result alone (self-play may mix the two)
        self.root_values = np.array([r.w.sum() / max(1.0, r.n.sum()) for r in roots])
        return np.stack([root.n.copy() for root in roots])

    def _select(self, s: State, node: Node):
        """Walk down to a leaf: (path of (node, action), leaf state, exact value or None)."""
        path = []
        while True:
            n = node.n
            # unvisited moves have w = 0, so w / max(n, 1) is Q with 0 for them; illegal moves
            # have prior 0 and are masked out
            score = node.w / np.maximum(n, 1.0) + (self.c_puct * math.sqrt(n.sum() + 1)) * node.prior / (1.0 + n)
            a = int(np.argmax(np.where(node.legal, score, -np.inf)))
            path.append((node, a))
            if a in node.children:
                s, child = node.children[a]
                if child is None:  # a finished game: the result is exact
                    return path, s, _result_for_mover(self.game.winner(s), s)
                node = child
                continue
            nxt = self.game.advance(s, a)  # legal by construction
            w = self.game.winner(nxt)
            if w is not None:
                node.children[a] = (nxt, None)
                return path, nxt, _result_for_mover(w, nxt)
            return path, nxt, None

    @staticmethod
    def _backup(path, value: float):
        for node, a in reversed(path):  # value is for the mover at each node, sign flips per ply
            node.n[a] += 1
            node.w[a] += value
            value = -value


def policy_from_visits(visits: np.ndarray, temperature: float) -> np.ndarray:
    """Visit counts as a distribution: N^(1/T) normalised; the argmax as one-hot when T is ~0."""
    if temperature <= 1e-3:
        out = np.zeros_like(visits, dtype=np.float64)
        out[np.argmax(visits)] = 1.0
        return out
    v = np.asarray(visits, np.float64) ** (1.0 / temperature)
    return v / v.sum()
