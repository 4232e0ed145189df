"""`zoo play snake-dqn [--gif out.gif] [--compare-untrained] [--ansi]`: watch the agent play."""

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


def main(args):
    import zoo

    if args.name != "snake-dqn":
        raise ValueError(f"zoo play knows snake-dqn; {args.name!r} is not a game-playing model")
    model = zoo.load(args.name)
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
