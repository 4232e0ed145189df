"""Monte-Carlo tree search with PUCT (AlphaZero's variant).

Each node keeps, per legal move, a prior P from the network, a visit count N and a total value
W. A simulation walks down by argmax Q + c·P·sqrt(ΣN)/(1+N), asks the network for (P, v) at the
leaf (or uses the game result at a terminal state), and backs v up with alternating signs. At
the root, Dirichlet noise mixed into P makes self-play explore.

    >>> search = MCTS(game, predict, simulations=100)
    >>> visits = search.run(state)            # visit counts per action: the improved policy
"""

from __future__ import annotations

import math

import numpy as np

from .core import Game, State


class Node:
    __slots__ = ("prior", "children", "n", "w", "legal")

    def __init__(self, prior: np.ndarray, legal: np.ndarray):
        self.prior, self.legal = prior, legal
        self.children: dict[int, tuple[State, Node | None]] = {}
        self.n = np.zeros_like(prior)
        self.w = np.zeros_like(prior)


class MCTS:
    def __init__(self, game: Game, predict, simulations: int = 100, c_puct: float = 1.5,
                 dirichlet_alpha: float = 0.3, noise_fraction: float = 0.25, seed: int = 0):
        """`predict(planes (rows, cols, 2)) -> (policy over actions, value for the mover in [-1, 1])`."""
        self.game, self.predict, self.simulations = game, predict, int(simulations)
        self.c_puct, self.alpha, self.eps = c_puct, dirichlet_alpha, noise_fraction
        self.rng = np.random.default_rng(seed)

    def _expand(self, s: State) -> tuple[Node, float]:
        legal = self.game.legal(s)
        policy, value = self.predict(self.game.encode(s))
        p = np.where(legal, np.asarray(policy, np.float64), 0.0)
        total = p.sum()
        p = p / total if total > 0 else legal / legal.sum()
        return Node(p, legal), float(value)

    def run(self, s: State, noise: bool = False) -> np.ndarray:
        """Visit counts per action after `simulations` simulations from `s`."""
        if self.game.winner(s) is not None:
            raise ValueError("the game is over: there is nothing to search")
        root, _ = self._expand(s)
        if noise:
            k = int(root.legal.sum())
            eta = np.zeros_like(root.prior)
            eta[root.legal] = self.rng.dirichlet([self.alpha] * k)
            root.prior = (1 - self.eps) * root.prior + self.eps * eta
        for _ in range(self.simulations):
            self._simulate(s, root)
        return root.n.copy()

    def _simulate(self, s: State, node: Node) -> float:
        """Returns the value of `s` for the player to move there."""
        sqrt_n = math.sqrt(node.n.sum() + 1)
        q = np.divide(node.w, node.n, out=np.zeros_like(node.w), where=node.n > 0)
        score = np.where(node.legal, q + self.c_puct * node.prior * sqrt_n / (1 + node.n), -np.inf)
        a = int(np.argmax(score))
        if a not in node.children:
            child_state = self.game.play(s, a)
            w = self.game.winner(child_state)
            if w is not None:
                node.children[a] = (child_state, None)
                value = 0.0 if w == 0 else (1.0 if w == s.player else -1.0)  # terminal: exact
            else:
                child, v = self._expand(child_state)
                node.children[a] = (child_state, child)
                value = -v  # the child's value is for the opponent
        else:
            child_state, child = node.children[a]
            if child is None:
                w = self.game.winner(child_state)
                value = 0.0 if w == 0 else (1.0 if w == s.player else -1.0)
            else:
                value = -self._simulate(child_state, child)
        node.n[a] += 1
        node.w[a] += value
        return value


def policy_from_visits(visits: np.ndarray, temperature: float) -> np.ndarray:
    if temperature <= 1e-3:
        out = np.zeros_like(visits, dtype=np.float64)
        out[np.argmax(visits)] = 1.0
        return out
    v = np.asarray(visits, np.float64) ** (1.0 / temperature)
    return v / v.sum()
