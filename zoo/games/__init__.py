"""Board games for self-play: one small interface, two games, classical opponents.

    >>> from zoo.games import TicTacToe, ConnectFour, PerfectTicTacToe, AlphaBeta
    >>> g = ConnectFour()
    >>> s = g.initial()
    >>> s = g.play(s, 3)                  # drop a disc in column 3
    >>> g.winner(s)                       # None: the game goes on
"""

from .core import ConnectFour, Game, IllegalMove, State, TicTacToe
from .players import AlphaBeta, PerfectTicTacToe, RandomPlayer, play_match

GAMES = {"tictactoe": TicTacToe, "connect4": ConnectFour}


def get_game(name: str) -> Game:
    if name not in GAMES:
        raise ValueError(f"unknown game {name!r}; the zoo has {', '.join(GAMES)}")
    return GAMES[name]()

__all__ = ["GAMES", "AlphaBeta", "ConnectFour", "Game", "get_game", "IllegalMove", "PerfectTicTacToe", "RandomPlayer", "State",
           "TicTacToe", "play_match"]
