"""Board games for self-play: one small interface, two games, classical opponents.

    >>> from zoo.games import TicTacToe, ConnectFour, PerfectTicTacToe, AlphaBeta
    >>> g = ConnectFour()
    >>> s = g.initial()
    >>> s = g.play(s, 3)                  # drop a disc in column 3
    >>> g.winner(s)                       # None: the game goes on
"""

from .core import ConnectFour, Game, IllegalMove, InvalidState, State, TicTacToe
from .mcts import MCTS, policy_from_visits
from .players import (AlphaBeta, PerfectTicTacToe, RandomPlayer, SearchPlayer, play_game, play_match,
                      random_openings, reference_opponent)

GAMES = {"tictactoe": TicTacToe, "connect4": ConnectFour}


def get_game(name: str) -> Game:
    """A fresh game by name (`tictactoe`, `connect4`); a clear error for any other name."""
    if name not in GAMES:
        raise ValueError(f"unknown game {name!r}; the zoo has {', '.join(GAMES)}")
    return GAMES[name]()

__all__ = ["GAMES", "MCTS", "AlphaBeta", "ConnectFour", "Game", "get_game", "IllegalMove", "InvalidState", "PerfectTicTacToe",
           "RandomPlayer", "SearchPlayer", "State", "TicTacToe", "play_game", "play_match", "policy_from_visits",
           "random_openings", "reference_opponent"]
