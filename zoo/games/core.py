"""The game interface and its two games.

A `State` is immutable: a board of +1 (first player), -1 (second player) and 0 (empty), the
player to move and the number of moves made. Networks see the *canonical* board (from the
mover's side: own stones +1), so one network plays both colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


class IllegalMove(ValueError):
    """A move that the rules do not allow here; the message says why and what is legal."""


class InvalidState(ValueError):
    """A position that cannot arise in the game (a state built by hand); the message says why."""


@dataclass(frozen=True)
class State:
    """An immutable position: the board, who moves next, how many moves were made, the last move."""

    board: np.ndarray  # (rows, cols) int8
    player: int        # +1 or -1: who moves next
    moves: int = 0
    last: int | None = None

    def __hash__(self):
        return hash((self.board.tobytes(), self.player))

    def __eq__(self, other):
        return isinstance(other, State) and self.player == other.player and np.array_equal(self.board, other.board)


class Game:
    """The rules of a two-player board game, with encodings for networks and renderings for people.

    `move_prompt` names a move for a human player; `reference_name` is how the classical
    opponent of `zoo.games.reference_opponent` is written in metric names and
    `reference_title` how it is written for people.
    """

    name = ""
    rows = cols = n_actions = connect = 0
    move_prompt = "move"
    reference_name = reference_title = ""
    opening_book_plies = 0  # random opening moves for an extra match when the reference opponent rarely varies

    def initial(self) -> State:
        """The empty board, first player to move."""
        return State(np.zeros((self.rows, self.cols), np.int8), 1)

    def legal(self, s: State) -> np.ndarray:
        """A boolean mask over actions: which moves are legal in `s`."""
        raise NotImplementedError

    def _place(self, s: State, action: int) -> tuple[int, int]:
        raise NotImplementedError

    def validate(self, s) -> State:
        """`s` if it is a position the game can reach, else `InvalidState` saying why: the board's
        shape and values, the stone counts (the first player, +1, moves first and turns
        alternate), the player to move, the last move's stone, stones that float (Connect
        Four), and two winners at once. Call it where states come from outside the zoo."""
        if not isinstance(s, State):
            raise InvalidState(f"a {self.name} position is a zoo.games.State, got {type(s).__name__}")
        board = np.asarray(s.board)
        if board.shape != (self.rows, self.cols):
            raise InvalidState(f"a {self.name} board has shape ({self.rows}, {self.cols}), got {board.shape}")
        if not np.isin(board, (-1, 0, 1)).all():
            raise InvalidState(f"board cells hold +1, -1 or 0, got values {sorted(set(np.unique(board).tolist()))}")
        first, second = int((board == 1).sum()), int((board == -1).sum())
        if first - second not in (0, 1):
            raise InvalidState(f"{first} stones of +1 and {second} of -1 cannot arise: +1 moves first and turns "
                               "alternate, so +1 has as many stones as -1 or one more")
        to_move = 1 if first == second else -1
        if s.player != to_move:
            raise InvalidState(f"player {s.player:+d} cannot be to move with {first} stones of +1 and {second} of -1 "
                               f"(it is {to_move:+d}'s turn)")
        if s.moves not in (0, first + second):
            raise InvalidState(f"moves={s.moves} but the board holds {first + second} stones")
        if s.last is not None:
            if not 0 <= s.last < self.n_actions:
                raise InvalidState(f"last move {s.last} is outside 0..{self.n_actions - 1}")
            r, c = self._last_cell(s)
            if not (0 <= r < self.rows) or board[r, c] != -s.player:
                raise InvalidState(f"the last move {s.last} has no stone of the player who made it")
        self._check_shape(board)
        wins = {int(np.sign(board.ravel()[line].sum()))
                for line in self.lines if abs(int(board.ravel()[line].sum())) == self.connect}
        if len(wins) > 1:
            raise InvalidState("both players have a line: a game stops at the first")
        return s

    def _check_shape(self, board: np.ndarray):
        """Rules on where stones may lie, beyond their counts (none for tic-tac-toe)."""

    def check_playable(self, s) -> State:
        """`validate(s)`, and refuse a finished game (`IllegalMove`): where a player is asked to move."""
        self.validate(s)
        if self.winner(s) is not None:
            w = self.winner(s)
            raise IllegalMove(f"the game is over ({'a draw' if w == 0 else f'{w:+d} has won'}); no move is allowed")
        return s

    def play(self, s: State, action) -> State:
        """The state after the player to move takes `action`; refuses illegal moves clearly."""
        self.validate(s)
        if self.winner(s) is not None:
            raise IllegalMove(f"the game is over; no move is allowed (board:\n{self.render(s)})")
        try:
            a = int(action)
        except (TypeError, ValueError):
            raise IllegalMove(f"an action is an integer 0..{self.n_actions - 1}, got {action!r}") from None
        if not 0 <= a < self.n_actions:
            raise IllegalMove(f"action {a} is outside 0..{self.n_actions - 1} for {self.name}")
        if not self.legal(s)[a]:
            raise IllegalMove(f"action {a} is not legal here ({self._why_illegal(a)}); legal: "
                              f"{np.flatnonzero(self.legal(s)).tolist()}")
        return self.advance(s, a)

    def advance(self, s: State, a: int) -> State:
        """`play` without its checks, for search and engines whose moves are legal by
        construction (the checks cost as much as the move)."""
        r, c = self._place(s, a)
        board = s.board.copy()
        board[r, c] = s.player
        return State(board, -s.player, s.moves + 1, a)

    def _why_illegal(self, a: int) -> str:
        return "occupied"

    def winner(self, s: State) -> int | None:
        """+1 or -1 for the winner, 0 for a draw, None while the game goes on."""
        if s.last is not None:
            w = self._line_through_last(s)
            if w:
                return w
        elif s.moves == 0 and not s.board.any():
            return None
        else:  # a state built by hand: scan everything
            w = self._scan(s.board)
            if w:
                return w
        return 0 if not self.legal(s).any() else None

    def _last_cell(self, s: State) -> tuple[int, int]:
        raise NotImplementedError

    @cached_property
    def lines(self) -> np.ndarray:
        """Every `connect`-long line of the board as flat cell indices, (lines, connect), in
        row, column, direction order: win checks and alpha-beta's heuristic are one gather."""
        k, out = self.connect, []
        for r in range(self.rows):
            for c in range(self.cols):
                for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    cells = [(r + i * dr, c + i * dc) for i in range(k)]
                    if all(0 <= rr < self.rows and 0 <= cc < self.cols for rr, cc in cells):
                        out.append([rr * self.cols + cc for rr, cc in cells])
        return np.array(out, np.intp)

    @cached_property
    def _lines_through(self) -> list[np.ndarray]:
        """For each cell (flat index), the lines that pass through it."""
        return [self.lines[(self.lines == i).any(axis=1)] for i in range(self.rows * self.cols)]

    def _line_through_last(self, s: State) -> int:
        r, c = self._last_cell(s)
        flat = s.board.ravel()
        i = r * self.cols + c
        p = flat[i]
        return int(p) if (flat[self._lines_through[i]] == p).all(axis=1).any() else 0

    def _scan(self, board) -> int:
        """The owner of the first complete line (0 if none): for states built by hand."""
        v = board.ravel()[self.lines]
        full = (v[:, 0] != 0) & (v == v[:, :1]).all(axis=1)
        return int(v[full][0, 0]) if full.any() else 0

    def canonical(self, s: State) -> np.ndarray:
        """The board from the mover's side: own stones +1, the opponent's -1."""
        return (s.board * s.player).astype(np.int8)

    def encode(self, s: State) -> np.ndarray:
        """Network input (rows, cols, 2) float32: the mover's stones, the opponent's."""
        b = self.canonical(s)
        return np.stack([b == 1, b == -1], axis=-1).astype(np.float32)

    def encode_many(self, states) -> np.ndarray:
        """`encode` for a list of states at once: (n, rows, cols, 2)."""
        b = np.stack([s.board for s in states]) * np.array([s.player for s in states], np.int8)[:, None, None]
        return np.stack([b == 1, b == -1], axis=-1).astype(np.float32)

    def symmetries(self, planes: np.ndarray, policy: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The board's symmetric copies with their policies: [(planes, policy)]."""
        raise NotImplementedError

    def render(self, s: State) -> str:
        """The board as text (X first player, O second, . empty)."""
        marks = {1: "X", -1: "O", 0: "."}
        return "\n".join(" ".join(marks[int(v)] for v in row) for row in s.board)

    def render_rgb(self, s: State, cell: int = 40) -> np.ndarray:
        """The board as an RGB image (rows*cell, cols*cell, 3): first player red, second
        yellow, the last move ringed in white."""
        from PIL import Image, ImageDraw

        img = Image.new("RGB", (self.cols * cell, self.rows * cell), (30, 60, 160))
        draw = ImageDraw.Draw(img)
        colours = {1: (220, 40, 40), -1: (240, 200, 40), 0: (235, 235, 235)}
        last = self._last_cell(s) if s.last is not None else None
        for r in range(self.rows):
            for c in range(self.cols):
                box = [c * cell + 4, r * cell + 4, (c + 1) * cell - 4, (r + 1) * cell - 4]
                draw.ellipse(box, fill=colours[int(s.board[r, c])],
                             outline=(255, 255, 255) if (r, c) == last else None, width=3)
        return np.asarray(img)


class TicTacToe(Game):
    """Noughts and crosses on 3x3: actions 0-8 are the cells, row by row."""

    name, rows, cols, n_actions, connect = "tictactoe", 3, 3, 9, 3
    move_prompt = "cell (0-8, row by row)"
    reference_name = reference_title = "perfect"

    def legal(self, s):
        """Empty cells."""
        return s.board.ravel() == 0

    def _place(self, s, a):
        return divmod(a, 3)

    def _last_cell(self, s):
        return divmod(s.last, 3)

    def symmetries(self, planes, policy):
        """The eight rotations and reflections of the board."""
        out = []
        p = policy.reshape(3, 3)
        for k in range(4):
            for flip in (False, True):
                b, q = np.rot90(planes, k), np.rot90(p, k)
                if flip:
                    b, q = np.fliplr(b), np.fliplr(q)
                out.append((np.ascontiguousarray(b), np.ascontiguousarray(q).ravel()))
        return out


class ConnectFour(Game):
    """Connect Four on 6x7: actions 0-6 drop a disc in that column."""

    name, rows, cols, n_actions, connect = "connect4", 6, 7, 7, 4
    move_prompt = "column"
    reference_name, reference_title = "alphabeta4", "alpha-beta d4"
    opening_book_plies = 2  # depth-4 alpha-beta rarely has ties to break: 100 games hold ~18 different ones

    def legal(self, s):
        """Columns that are not full."""
        return s.board[0] == 0

    def _why_illegal(self, a):
        return f"column {a} is full"

    def _check_shape(self, board):
        floating = (board[:-1] != 0) & (board[1:] == 0)
        if floating.any():
            r, c = map(int, np.argwhere(floating)[0])
            raise InvalidState(f"the disc in row {r}, column {c} floats over an empty cell: discs stack from the bottom")

    def _place(self, s, a):
        # discs stack from the bottom: the lowest empty row is one above the column's discs
        return self.rows - 1 - int(np.count_nonzero(s.board[:, a])), a

    def _last_cell(self, s):
        return self.rows - int(np.count_nonzero(s.board[:, s.last])), s.last

    def symmetries(self, planes, policy):
        """The board and its mirror image."""
        return [(planes, policy), (np.ascontiguousarray(planes[:, ::-1]), policy[::-1].copy())]

    def render(self, s):
        """The board as text, with the column numbers underneath."""
        return super().render(s) + "\n" + " ".join(str(c) for c in range(self.cols))
