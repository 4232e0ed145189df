"""`zoo play NAME`: watch or play against a game-playing model.

    zoo play snake-dqn [--gif out.gif] [--compare-untrained] [--ansi]
    zoo play alphazero-connect4                  # you against the network, in the terminal
    zoo play alphazero-connect4 --gif game.gif   # the network against depth-4 alpha-beta
"""

from __future__ import annotations

import sys
import time

import numpy as np


def _game(model, seed: int, size: int, max_steps: int, render_mode: str):
    """One greedy game: yields (rendering, info) for the start and after every move."""
    from .envs import SnakeEnv
    from .rl.dqn import greedy_policy

    env = SnakeEnv(size=size, render_mode=render_mode)
    obs, info = env.reset(seed=seed)
    policy = greedy_policy(model)
    yield env.render(), info
    for _ in range(max_steps):
        obs, _, term, trunc, info = env.step(int(policy(obs[None])[0]))
        yield env.render(), info
        if term or trunc:
            return


def _frames(model, seed: int, size: int, max_steps: int):
    frames, info = [], {}
    for frame, info in _game(model, seed, size, max_steps, "rgb_array"):
        frames.append(frame)
    return frames, info["score"]


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.pad(img, ((0, 16), (0, 0), (0, 0))))
    ImageDraw.Draw(pil).text((4, img.shape[0] + 2), text, fill=(255, 255, 255))
    return np.asarray(pil)


def write_gif(path, frame_sets, labels, scores, fps: int = 15):
    """Frames of one or more games side by side; a finished game holds its last frame."""
    from PIL import Image

    n = max(len(f) for f in frame_sets)
    images = []
    for i in range(n):
        row = []
        for frames, label, score in zip(frame_sets, labels, scores):
            k = min(i, len(frames) - 1)
            row.append(_caption(frames[k], f"{label}: {score if k == len(frames) - 1 else ''}"))
        images.append(Image.fromarray(np.concatenate(row, axis=1)))
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0, optimize=True)


def play_ansi(model, seed: int, size: int, delay: float, max_steps: int):
    for text, info in _game(model, seed, size, max_steps, "ansi"):
        sys.stdout.write("\x1b[H\x1b[2J" + text)
        sys.stdout.flush()
        time.sleep(delay)
    print(f"game over: {info['score']} apples in {info['steps']} moves")
    return info["score"]


# --- board games ---------------------------------------------------------------------------
def board_game(game, players: dict):
    """Play one game; `players` maps +1/-1 to objects with .move(state). Returns the final
    state and the list of states from the start."""
    s = game.initial()
    states = [s]
    while game.winner(s) is None:
        s = game.play(s, players[s.player].move(s))
        states.append(s)
    return s, states


class HumanPlayer:
    """Reads moves from the terminal; explains a bad entry and asks again."""

    def __init__(self, game, read=input, write=print):
        self.game, self.read, self.write = game, read, write

    def move(self, s):
        from .games import IllegalMove

        self.write(self.game.render(s))
        legal = np.flatnonzero(self.game.legal(s)).tolist()
        what = "column" if self.game.name == "connect4" else "cell (0-8, row by row)"
        while True:
            text = self.read(f"your move, {what} {legal}: ").strip()
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


def play_board(model, args, read=input, write=print):
    from .rl.alphazero import reference_opponent

    game = model.game()
    sims = args.simulations or model.simulations
    net = model.player(sims, seed=args.seed)
    if args.gif:
        opp = reference_opponent(game, seed=args.seed)
        opp_name = "perfect" if game.name == "tictactoe" else "alpha-beta d4"
        first = args.seed % 2 == 0
        players = {1: net, -1: opp} if first else {1: opp, -1: net}
        names = {1: "network" if first else opp_name, -1: opp_name if first else "network"}
        s, states = board_game(game, players)
        frames = [game.render_rgb(x) for x in states]
        caption = f"{names[1]} (red) v {names[-1]}: {_result_text(game, s, names)}"
        write_gif(args.gif, [frames], [caption], [""], fps=2)
        write(f"wrote {args.gif}: {caption}, {len(states) - 1} moves")
        return game.winner(s)
    human = HumanPlayer(game, read=read, write=write)
    players = {1: human, -1: net} if not args.second else {1: net, -1: human}
    names = {1: "you" if not args.second else "the network", -1: "the network" if not args.second else "you"}
    write(f"{game.name}: you are {'X (red)' if not args.second else 'O (yellow)'}; the network searches {sims} "
          "simulations per move. q quits.")
    s, _ = board_game(game, players)
    write(game.render(s))
    write(f"game over: {_result_text(game, s, names)}")
    return game.winner(s)


def main(args):
    import zoo
    from .models import PolicyValueNet, SnakeQNetwork

    entry = zoo.get_entry(args.name)
    if not issubclass(entry.model_class, (SnakeQNetwork, PolicyValueNet)):
        raise ValueError(f"{args.name!r} is not a game-playing model; zoo play knows "
                         + ", ".join(n for n in zoo.list_models()
                                     if issubclass(zoo.get_entry(n).model_class, (SnakeQNetwork, PolicyValueNet))))
    model = zoo.load(args.name)
    if isinstance(model, PolicyValueNet):
        play_board(model, args)
        return
    if args.ansi:
        play_ansi(model, args.seed, args.size, args.delay, args.max_steps)
        return
    frames, score = _frames(model, args.seed, args.size, args.max_steps)
    sets, labels, scores = [frames], ["trained"], [score]
    if args.compare_untrained:
        f0, s0 = _frames(model.untrained_copy(seed=0), args.seed, args.size, args.max_steps)
        sets, labels, scores = [f0, frames], ["untrained", "trained"], [s0, score]
    gif = args.gif or "snake.gif"
    write_gif(gif, sets, labels, scores)
    print(f"wrote {gif}: " + ", ".join(f"{label} {s} apples" for label, s in zip(labels, scores)))
