"""Classical opponents: random, a perfect tic-tac-toe player, depth-limited alpha-beta."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .core import ConnectFour, Game, State, TicTacToe


class RandomPlayer:
    def __init__(self, game: Game, seed: int = 0):
        self.game, self.rng = game, np.random.default_rng(seed)

    def move(self, s: State) -> int:
        return int(self.rng.choice(np.flatnonzero(self.game.legal(s))))


class PerfectTicTacToe:
    """Minimax over the whole game tree (memoised: 5,478 positions). Among equally good moves
    it picks at random (seeded), so games against it are not all alike; it never loses."""

    def __init__(self, seed: int = 0):
        self.game, self.rng = TicTacToe(), np.random.default_rng(seed)

    def values(self, s: State) -> np.ndarray:
        """Game value of each legal move for the mover (+1 win, 0 draw, -1 loss); -inf if illegal."""
        out = np.full(9, -np.inf)
        for a in np.flatnonzero(self.game.legal(s)):
            out[a] = -_negamax(self.game.play(s, int(a)))
        return out

    def move(self, s: State) -> int:
        v = self.values(s)
        return int(self.rng.choice(np.flatnonzero(v == v.max())))


@lru_cache(maxsize=None)
def _negamax(s: State) -> int:
    """Value for the player to move in s."""
    g = TicTacToe()
    w = g.winner(s)
    if w is not None:
        return w * s.player  # w is +1/-1/0 in absolute terms
    return max(-_negamax(g.play(s, int(a))) for a in np.flatnonzero(g.legal(s)))


class AlphaBeta:
    """Depth-limited alpha-beta search for Connect Four with a window heuristic.

    Windows of four cells are scored by how many of one player's discs they hold (and none of
    the other's); the centre column is preferred; wins are found at any depth within reach and
    quicker wins preferred. Moves are tried centre-first, which makes pruning effective."""

    ORDER = (3, 2, 4, 1, 5, 0, 6)
    WIN = 1_000_000

    def __init__(self, depth: int = 4, seed: int = 0):
        self.game, self.depth, self.rng = ConnectFour(), int(depth), np.random.default_rng(seed)

    MINE = np.array([0, 1, 4, 16, 0])      # a window with k of my discs and none of theirs
    THEIRS = np.array([0, 1, 5, 20, 0])    # ... k of theirs and none of mine (weighs a bit more)

    def evaluate(self, board: np.ndarray, player: int) -> float:
        score = 3.0 * float((board[:, 3] == player).sum() - (board[:, 3] == -player).sum())
        w = board.ravel()[self.game.lines] * player  # the 69 windows of four in one gather
        mine, theirs = (w == 1).sum(axis=1), (w == -1).sum(axis=1)
        return score + float(self.MINE[mine][theirs == 0].sum() - self.THEIRS[theirs][mine == 0].sum())

    def _search(self, s: State, depth: int, alpha: float, beta: float) -> float:
        w = self.game.winner(s)
        if w is not None:
            return 0.0 if w == 0 else (self.WIN + depth) * w * s.player
        if depth == 0:
            return self.evaluate(s.board, s.player)
        legal = self.game.legal(s)
        best = -np.inf
        for a in self.ORDER:
            if legal[a]:
                v = -self._search(self.game.advance(s, a), depth - 1, -beta, -alpha)  # legal by construction
                best = max(best, v)
                alpha = max(alpha, v)
                if alpha >= beta:
                    break
        return best

    def values(self, s: State) -> np.ndarray:
        out = np.full(7, -np.inf)
        legal = self.game.legal(s)
        for a in self.ORDER:
            if legal[a]:
                out[a] = -self._search(self.game.advance(s, a), self.depth - 1, -np.inf, np.inf)
        return out

    def move(self, s: State) -> int:
        v = self.values(s)
        return int(self.rng.choice(np.flatnonzero(v == v.max())))


def play_match(game: Game, first, second, games: int = 10, finals: list | None = None, starts: list | None = None) -> dict:
    """Play `games` games, alternating who starts. `first`/`second` have .move(state), and
    may have .move_many(states): then all games run side by side and each player is asked
    once per turn for all the games where it is to move (a search player batches its network
    calls). Returns wins/draws/losses from `first`'s point of view; `finals`, if given, gets
    every game's final state (to count how many different games were played); `starts`, if
    given, the position each game begins from (an opening book), else the initial one."""
    states = list(starts) if starts is not None else [game.initial() for _ in range(games)]
    if len(states) != games:
        raise ValueError(f"{len(states)} start positions for {games} games")
    seats = [(first, second) if i % 2 == 0 else (second, first) for i in range(games)]
    while True:
        moved = False
        for player in (first, second):
            mine = [i for i, s in enumerate(states)
                    if game.winner(s) is None and seats[i][0 if s.player == 1 else 1] is player]
            if not mine:
                continue
            if hasattr(player, "move_many"):
                actions = player.move_many([states[i] for i in mine])
            else:
                actions = [player.move(states[i]) for i in mine]
            for i, a in zip(mine, actions):
                states[i] = game.play(states[i], a)
            moved = True
        if not moved:
            break
    if finals is not None:
        finals.extend(states)
    out = {"wins": 0, "draws": 0, "losses": 0}
    for i, s in enumerate(states):
        w, me = game.winner(s), (1 if i % 2 == 0 else -1)
        out["wins" if w == me else "draws" if w == 0 else "losses"] += 1
    return out
