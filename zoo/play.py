"""`zoo play NAME`: watch or play against a game-playing model.

    zoo play snake-dqn [--gif out.gif] [--compare-untrained] [--ansi]
    zoo play alphazero-connect4                  # you against the network, in the terminal
    zoo play alphazero-connect4 --gif game.gif   # the network against depth-4 alpha-beta

What a model can play is its family's `play_kind`: "agent" (it acts in an environment: `frames()`,
`greedy_policy()`) or "board" (a board game against a person or the reference opponent:
`game()`, `player()`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .envs import episode
from .games import IllegalMove, play_game, reference_opponent
from .hub import load
from .models import family_of
from .registry import get_entry, list_models


@dataclass
class PlayOptions:
    """What `zoo play` was asked for (the command line's flags)."""

    gif: str | None = None
    compare_untrained: bool = False
    ansi: bool = False
    seed: int = 0
    size: int = 20
    delay: float = 0.05
    max_steps: int = 3000
    second: bool = False
    simulations: int | None = None

    def __post_init__(self):
        whole = {"seed": (self.seed, 0, 2 ** 32 - 1), "size": (self.size, 5, 1000), "max_steps": (self.max_steps, 1, None),
                 "simulations": (self.simulations, 1, None)}
        for flag, (value, low, high) in whole.items():
            if value is None and flag == "simulations":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
                upto = f" to {high:,}" if high else ""
                raise ValueError(f"--{flag.replace('_', '-')} must be a whole number from {low}{upto}, got {value!r}")
        if isinstance(self.delay, bool) or not isinstance(self.delay, (int, float)) or not 0 <= self.delay <= 60:
            raise ValueError(f"--delay must be a number of seconds from 0 to 60, got {self.delay!r}")


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    pil = Image.fromarray(np.pad(img, ((0, 16), (0, 0), (0, 0))))
    ImageDraw.Draw(pil).text((4, img.shape[0] + 2), text, fill=(255, 255, 255))
    return np.asarray(pil)


def write_gif(path, frame_sets, labels, scores, fps: int = 15):
    """Frames of one or more games side by side; a finished game holds its last frame."""
    n = max(len(f) for f in frame_sets)
    images = []
    for i in range(n):
        row = []
        for frames, label, score in zip(frame_sets, labels, scores):
            k = min(i, len(frames) - 1)
            row.append(_caption(frames[k], f"{label}: {score if k == len(frames) - 1 else ''}"))
        images.append(Image.fromarray(np.concatenate(row, axis=1)))
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0, optimize=True)


# --- agents in an environment ------------------------------------------------------------------
def play_ansi(model, seed: int, size: int, delay: float, max_steps: int):
    """Show a greedy game in the terminal; returns its score."""
    info = {}
    for text, info in episode(model.greedy_policy(), seed, size, max_steps, "ansi"):
        sys.stdout.write("\x1b[H\x1b[2J" + text)
        sys.stdout.flush()
        time.sleep(delay)
    print(f"game over: {info['score']} apples in {info['steps']} moves")
    return info["score"]


def play_agent(model, opts: PlayOptions, write=print):
    """A greedy game as a GIF (beside an untrained twin with `compare_untrained`) or in the terminal."""
    if opts.ansi:
        return play_ansi(model, opts.seed, opts.size, opts.delay, opts.max_steps)
    frames, score = model.frames(opts.seed, opts.size, opts.max_steps)
    sets, labels, scores = [frames], ["trained"], [score]
    if opts.compare_untrained:
        f0, s0 = model.untrained_copy(seed=0).frames(opts.seed, opts.size, opts.max_steps)
        sets, labels, scores = [f0, frames], ["untrained", "trained"], [s0, score]
    gif = opts.gif or "snake.gif"
    write_gif(gif, sets, labels, scores)
    write(f"wrote {gif}: " + ", ".join(f"{label} {s} apples" for label, s in zip(labels, scores)))
    return score


# --- board games ---------------------------------------------------------------------------------
class HumanPlayer:
    """Reads moves from the terminal; explains a bad entry and asks again."""

    def __init__(self, game, read=input, write=print):
        self.game, self.read, self.write = game, read, write

    def move(self, s):
        """Show the board, ask for a move until a legal one is given ('q' leaves)."""
        self.write(self.game.render(s))
        legal = np.flatnonzero(self.game.legal(s)).tolist()
        while True:
            text = self.read(f"your move, {self.game.move_prompt} {legal}: ").strip()
            if text in ("q", "quit"):
                raise SystemExit("you left the game")
            try:
                self.game.play(s, text)  # validates: out of range, full column, occupied cell
                return int(text)
            except IllegalMove as e:
                self.write(f"  {e}")


def _result_text(game, s, names: dict) -> str:
    w = game.winner(s)
    return "a draw" if w == 0 else f"{names[w]} wins"


def play_board(model, opts: PlayOptions, read=input, write=print):
    """The network against its reference opponent as a GIF (`opts.gif`), or against you in the terminal."""
    game = model.game()
    sims = opts.simulations or model.simulations
    net = model.player(sims, seed=opts.seed)
    if opts.gif:
        opp, opp_name = reference_opponent(game, seed=opts.seed), game.reference_title
        first = opts.seed % 2 == 0
        players = {1: net, -1: opp} if first else {1: opp, -1: net}
        names = {1: "network" if first else opp_name, -1: opp_name if first else "network"}
        s, states = play_game(game, players)
        caption = f"{names[1]} (red) v {names[-1]}: {_result_text(game, s, names)}"
        write_gif(opts.gif, [[game.render_rgb(x) for x in states]], [caption], [""], fps=2)
        write(f"wrote {opts.gif}: {caption}, {len(states) - 1} moves")
        return game.winner(s)
    human = HumanPlayer(game, read=read, write=write)
    players = {1: human, -1: net} if not opts.second else {1: net, -1: human}
    names = {1: "you" if not opts.second else "the network", -1: "the network" if not opts.second else "you"}
    write(f"{game.name}: you are {'X (red)' if not opts.second else 'O (yellow)'}; the network searches {sims} "
          "simulations per move. q quits.")
    s, _ = play_game(game, players)
    write(game.render(s))
    write(f"game over: {_result_text(game, s, names)}")
    return game.winner(s)


PLAYERS = {"agent": play_agent, "board": play_board}


def play(name: str, opts: PlayOptions):
    """Load `name` and play it the way its `play_kind` says."""
    kind = family_of(get_entry(name).model_class).play_kind
    if kind not in PLAYERS:
        playable = [n for n in list_models() if family_of(get_entry(n).model_class).play_kind in PLAYERS]
        raise ValueError(f"{name!r} is not a game-playing model; zoo play knows {', '.join(playable)}")
    return PLAYERS[kind](load(name), opts)
