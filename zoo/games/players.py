"""Players and matches: random, perfect tic-tac-toe, depth-limited alpha-beta, a network's
search; one game (`play_game`) and a match of many side by side (`play_match`).

Every player has `.move(state) -> action`; a player may also have `.move_many(states)`, which
`play_match` uses to move in many games at once (a search player batches its network calls).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .core import ConnectFour, Game, State, TicTacToe
from .mcts import MCTS, policy_from_visits


class RandomPlayer:
    """Moves uniformly at random among the legal moves (seeded)."""

    def __init__(self, game: Game, seed: int = 0):
        self.game, self.rng = game, np.random.default_rng(seed)

    def move(self, s: State) -> int:
        """A random legal move."""
        self.game.check_playable(s)
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
        """One of the best moves, chosen at random among equals."""
        self.game.check_playable(s)
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
        """Heuristic value of a board for `player`: centre discs and open windows."""
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
        """Searched value of each legal move for the mover; -inf where illegal."""
        out = np.full(7, -np.inf)
        legal = self.game.legal(s)
        for a in self.ORDER:
            if legal[a]:
                out[a] = -self._search(self.game.advance(s, a), self.depth - 1, -np.inf, np.inf)
        return out

    def move(self, s: State) -> int:
        """One of the best moves, chosen at random among equals."""
        self.game.check_playable(s)
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


class SearchPlayer:
    """A player that moves by MCTS with a network: the most-visited move, except that the first
    `opening_moves` moves of a game are sampled from the visit counts, so that a match between
    two deterministic searchers is not the same two games over and over. `move_many` searches
    several games' positions with batched network calls (see `play_match`).

    `net` is anything with `predictor()` returning `planes -> (policies, values)`, such as
    `zoo.models.PolicyValueNet`.
    """

    def __init__(self, game, net, simulations: int, seed: int = 0, opening_moves: int = 2):
        self.mcts = MCTS(game, net.predictor(), simulations=simulations, seed=seed)
        self.opening, self.rng = int(opening_moves), np.random.default_rng(seed)

    def _choose(self, s, visits):
        if s.moves < self.opening:
            return int(self.rng.choice(len(visits), p=policy_from_visits(visits, 1.0)))
        return int(np.argmax(visits))

    def move(self, s):
        """The searched move in `s`."""
        self.mcts.game.check_playable(s)
        return self._choose(s, self.mcts.run(s))

    def move_many(self, states):
        """The searched move in each of `states`, with one network call per simulation round."""
        return [self._choose(s, v) for s, v in zip(states, self.mcts.run_many(states))]


def reference_opponent(game, seed: int = 0, depth: int = 4):
    """The classical opponent a trained network is judged against: perfect minimax for
    tic-tac-toe, depth-`depth` alpha-beta for Connect Four (`game.reference_name` names it)."""
    return PerfectTicTacToe(seed=seed) if isinstance(game, TicTacToe) else AlphaBeta(depth=depth, seed=seed)


def play_game(game, players: dict):
    """Play one game; `players` maps +1/-1 to objects with .move(state). Returns the final
    state and the list of states from the start."""
    s = game.initial()
    states = [s]
    while game.winner(s) is None:
        s = game.play(s, players[s.player].move(s))
        states.append(s)
    return s, states


def random_openings(game, games: int, plies: int = 2, seed: int = 3) -> list:
    """`games` start positions, each `plies` uniformly random moves from the empty board (an
    opening book that makes matches between near-deterministic players differ)."""
    rng = np.random.default_rng(seed)
    starts = []
    for _ in range(games):
        s = game.initial()
        for _ in range(plies):
            s = game.play(s, int(rng.integers(game.n_actions)))
        starts.append(s)
    return starts
