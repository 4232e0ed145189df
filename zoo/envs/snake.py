"""Snake as a Gymnasium environment, plus a numpy-vectorised twin for fast training.

    >>> import gymnasium, zoo
    >>> env = gymnasium.make("zoo/Snake-v0", size=20, obs_mode="features")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(0)   # 0 straight, 1 left, 2 right

Rules: the snake starts with length 3 in the middle of the board; +1 for an apple (the snake
grows), -1 for running into a wall or itself (the episode ends), an optional `step_cost` per
move, and truncation after `max_idle_steps` moves without an apple. With `walls=False` the
board wraps around. Actions are relative to the heading (straight/left/right) or, with
`action_mode="absolute"`, a direction (up/right/down/left; reversing onto the neck means
"straight").

Observations:
- "features": float32 vector of 16: danger one step straight/left/right; heading one-hot (4);
  apple up/down/left/right of the head (4); free space reachable after moving straight/left/
  right, as a fraction of the board (3, a flood fill: what lets an agent avoid boxing itself
  in); snake length / board cells; apple distance / board side.
- "board": float32 (size, size, 3): channels head, body, apple.
"""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

DIRS = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left (row, col)
N_FEATURES = 16


def _flood_fraction(blocked: np.ndarray, start, walls: bool) -> float:
    """Fraction of the board reachable from `start` through unblocked cells (start included)."""
    h, w = blocked.shape
    r, c = start
    if walls and not (0 <= r < h and 0 <= c < w):
        return 0.0
    r, c = r % h, c % w
    if blocked[r, c]:
        return 0.0
    seen = np.zeros_like(blocked)
    seen[r, c] = True
    stack, count = [(r, c)], 0
    while stack:
        r, c = stack.pop()
        count += 1
        for dr, dc in DIRS:
            nr, nc = r + dr, c + dc
            if walls and not (0 <= nr < h and 0 <= nc < w):
                continue
            nr, nc = nr % h, nc % w
            if not blocked[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                stack.append((nr, nc))
    return count / blocked.size


def features(size, walls, body, heading, apple) -> np.ndarray:
    """The feature vector for one board; `body` is head-first, `heading` 0-3."""
    head = body[0]
    blocked = np.zeros((size, size), bool)
    for r, c in list(body)[:-1]:  # the tail cell will have moved on by the next step
        blocked[r, c] = True
    out = np.zeros(N_FEATURES, np.float32)
    for i, turn in enumerate((0, -1, 1)):  # straight, left, right
        d = (heading + turn) % 4
        nxt = (head[0] + DIRS[d][0], head[1] + DIRS[d][1])
        out_of_board = not (0 <= nxt[0] < size and 0 <= nxt[1] < size)
        if walls and out_of_board:
            out[i] = 1.0
        else:
            out[i] = float(blocked[nxt[0] % size, nxt[1] % size])
        out[11 + i] = _flood_fraction(blocked, nxt, walls)
    out[3 + heading] = 1.0
    out[7] = apple[0] < head[0]
    out[8] = apple[0] > head[0]
    out[9] = apple[1] < head[1]
    out[10] = apple[1] > head[1]
    out[14] = len(body) / (size * size)
    out[15] = (abs(apple[0] - head[0]) + abs(apple[1] - head[1])) / size
    return out


def board(size, body, apple) -> np.ndarray:
    """The board as planes (size, size, 3): head, body, apple."""
    out = np.zeros((size, size, 3), np.float32)
    for r, c in list(body)[1:]:
        out[r, c, 1] = 1.0
    out[body[0][0], body[0][1], 0] = 1.0
    out[apple[0], apple[1], 2] = 1.0
    return out


class SnakeEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 10}

    def __init__(self, size: int = 20, walls: bool = True, action_mode: str = "relative",
                 obs_mode: str = "features", step_cost: float = 0.0, max_idle_steps: int | None = None,
                 render_mode: str | None = None):
        if int(size) < 5:
            raise ValueError(f"size must be at least 5, got {size}")
        if action_mode not in ("relative", "absolute"):
            raise ValueError(f"action_mode must be 'relative' or 'absolute', got {action_mode!r}")
        if obs_mode not in ("features", "board"):
            raise ValueError(f"obs_mode must be 'features' or 'board', got {obs_mode!r}")
        if render_mode not in (None, "rgb_array", "ansi"):
            raise ValueError(f"render_mode must be None, 'rgb_array' or 'ansi', got {render_mode!r}")
        self.size, self.walls, self.action_mode, self.obs_mode = int(size), bool(walls), action_mode, obs_mode
        self.step_cost = float(step_cost)
        self.max_idle_steps = int(max_idle_steps or 4 * self.size * self.size)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(3 if action_mode == "relative" else 4)
        if obs_mode == "features":
            self.observation_space = spaces.Box(0.0, float(self.size * 2), (N_FEATURES,), np.float32)
        else:
            self.observation_space = spaces.Box(0.0, 1.0, (self.size, self.size, 3), np.float32)
        self.body: deque = deque()
        self.heading = 1
        self.apple = (0, 0)
        self.ended: str | None = "not started"  # why step() needs a reset() first, or None

    # --- state --------------------------------------------------------------------------------
    def _place_apple(self):
        grid = np.zeros((self.size, self.size), bool)
        for r, c in self.body:
            grid[r, c] = True
        free = np.flatnonzero(~grid.ravel())
        if free.size == 0:
            return None
        k = int(free[self.np_random.integers(free.size)])
        return (k // self.size, k % self.size)

    def _obs(self):
        if self.obs_mode == "features":
            return features(self.size, self.walls, self.body, self.heading, self.apple)
        return board(self.size, self.body, self.apple)

    def _info(self):
        return {"score": self.score, "length": len(self.body), "steps": self.steps}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        mid = self.size // 2
        self.heading = int(self.np_random.integers(4))
        dr, dc = DIRS[self.heading]
        self.body = deque((mid - k * dr, mid - k * dc) for k in range(3))
        self.apple = self._place_apple()
        self.score, self.steps, self.idle = 0, 0, 0
        self.ended = None
        return self._obs(), self._info()

    def step(self, action):
        """One move; (obs, reward, terminated, truncated, info). Stepping an episode that has
        ended (terminated or truncated), or before the first `reset()`, is an error, as
        Gymnasium's contract says: call `reset()`."""
        if self.ended is not None:
            raise ResetNeeded(f"the episode is {self.ended}; call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        out = self._move(action)
        if out[2] or out[3]:
            self.ended = "terminated" if out[2] else "truncated"
        return out

    def _move(self, action):
        action = int(action)
        if self.action_mode == "relative":
            self.heading = (self.heading + (0, -1, 1)[action]) % 4
        elif (action + 2) % 4 != self.heading:  # reversing onto the neck means "keep going"
            self.heading = action
        dr, dc = DIRS[self.heading]
        r, c = self.body[0][0] + dr, self.body[0][1] + dc
        self.steps += 1
        self.idle += 1
        if self.walls and not (0 <= r < self.size and 0 <= c < self.size):
            return self._obs(), -1.0, True, False, self._info()
        head = (r % self.size, c % self.size)
        eating = head == self.apple
        tail = None if eating else self.body.pop()  # the tail moves on unless the snake grows
        if head in self.body:
            if tail is not None:
                self.body.append(tail)  # a dead snake does not move
            return self._obs(), -1.0, True, False, self._info()
        self.body.appendleft(head)
        reward = -self.step_cost
        if eating:
            self.score += 1
            self.idle = 0
            reward = 1.0
            self.apple = self._place_apple()
            if self.apple is None:  # the snake fills the board: a win
                self.apple = head
                return self._obs(), reward, True, False, self._info()
        truncated = self.idle >= self.max_idle_steps
        return self._obs(), reward, False, truncated, self._info()

    # --- rendering ------------------------------------------------------------------------------
    def render(self):
        if self.render_mode == "ansi":
            return self.ansi()
        if self.render_mode == "rgb_array":
            return self.rgb_array()
        return None

    def ansi(self) -> str:
        """The board as text: walls #, head @, body o, apple *."""
        rows = [["." for _ in range(self.size)] for _ in range(self.size)]
        rows[self.apple[0]][self.apple[1]] = "*"
        for r, c in list(self.body)[1:]:
            rows[r][c] = "o"
        rows[self.body[0][0]][self.body[0][1]] = "@"
        edge = "#" * (self.size + 2)
        return "\n".join([edge] + ["#" + "".join(r) + "#" for r in rows] + [edge, f"score {self.score}"]) + "\n"

    def rgb_array(self, cell: int = 12) -> np.ndarray:
        """The board as an RGB image, `cell` pixels per square."""
        img = np.full((self.size, self.size, 3), (20, 20, 30), np.uint8)
        img[self.apple[0], self.apple[1]] = (230, 60, 60)
        for r, c in list(self.body)[1:]:
            img[r, c] = (60, 180, 75)
        img[self.body[0][0], self.body[0][1]] = (170, 255, 120)
        img = img.repeat(cell, axis=0).repeat(cell, axis=1)
        return np.pad(img, ((2, 2), (2, 2), (0, 0)), constant_values=120)


class SnakeVecEnv:
    """`num_envs` boards stepped together with numpy, auto-resetting finished ones.

    Each board is a grid of time-to-live counters: a body cell holds how many more moves it
    stays, so moving is "decrement every counter" and growing is "skip the decrement", with no
    per-board Python lists. Board i uses the same random stream as `SnakeEnv` reset with
    `seed + i`, so the two agree step for step (tested).

    step() returns (obs, reward, terminated, truncated, info) for all boards; a board that ends
    is reset at once, its last observation in info["final_observation"][i] and its score in
    info["final_score"][i] (-1 where nothing ended).
    """

    def __init__(self, num_envs: int, size: int = 20, walls: bool = True, obs_mode: str = "features",
                 step_cost: float = 0.0, max_idle_steps: int | None = None, seed: int = 0):
        if obs_mode not in ("features", "board"):
            raise ValueError(f"obs_mode must be 'features' or 'board', got {obs_mode!r}")
        self.n, self.size, self.walls, self.obs_mode = int(num_envs), int(size), bool(walls), obs_mode
        self.step_cost = float(step_cost)
        self.max_idle_steps = int(max_idle_steps or 4 * self.size * self.size)
        self.single_action_space = spaces.Discrete(3)
        # Gymnasium seeds np_random through its own helper; use it so streams match SnakeEnv.
        from gymnasium.utils import seeding

        self.rngs = [seeding.np_random(seed + i)[0] for i in range(self.n)]
        s = self.size
        self.ttl = np.zeros((self.n, s, s), np.int32)
        self.head = np.zeros((self.n, 2), np.int64)
        self.heading = np.zeros(self.n, np.int64)
        self.length = np.zeros(self.n, np.int64)
        self.apple = np.zeros((self.n, 2), np.int64)
        self.score = np.zeros(self.n, np.int64)
        self.idle = np.zeros(self.n, np.int64)
        for i in range(self.n):
            self._reset_one(i)

    def _place_apple(self, i):
        free = np.flatnonzero(self.ttl[i].ravel() == 0)
        if free.size == 0:
            return False
        k = int(free[self.rngs[i].integers(free.size)])
        self.apple[i] = (k // self.size, k % self.size)
        return True

    def _reset_one(self, i):
        mid = self.size // 2
        self.heading[i] = int(self.rngs[i].integers(4))
        dr, dc = DIRS[self.heading[i]]
        self.ttl[i] = 0
        for k in range(3):
            self.ttl[i, mid - k * dr, mid - k * dc] = 3 - k
        self.head[i] = (mid, mid)
        self.length[i] = 3
        self.score[i] = 0
        self.idle[i] = 0
        self._place_apple(i)

    def _body(self, i):
        cells = np.argwhere(self.ttl[i] > 0)
        order = np.argsort(-self.ttl[i][cells[:, 0], cells[:, 1]])
        return [tuple(map(int, rc)) for rc in cells[order]]

    def observe(self):
        """Observations of every board, (num_envs, ...)."""
        if self.obs_mode == "features":
            if not self.walls:  # wrap-around flood fill: the reference implementation, per board
                return np.stack([features(self.size, self.walls, self._body(i), int(self.heading[i]),
                                          tuple(map(int, self.apple[i]))) for i in range(self.n)])
            return self._features_walled()
        out = np.zeros((self.n, self.size, self.size, 3), np.float32)
        out[..., 1] = self.ttl > 0
        idx = np.arange(self.n)
        out[idx, self.head[:, 0], self.head[:, 1], 1] = 0.0
        out[idx, self.head[:, 0], self.head[:, 1], 0] = 1.0
        out[idx, self.apple[:, 0], self.apple[:, 1], 2] = 1.0
        return out

    def _features_walled(self):
        """All boards' feature vectors at once; flood fills are connected-component labels
        (scipy.ndimage), one call for every board."""
        from scipy import ndimage

        s, n, idx = self.size, self.n, np.arange(self.n)
        blocked = self.ttl > 1                                   # the tail (ttl 1) moves on
        labels, _ = ndimage.label(~blocked, structure=np.array([[[0, 0, 0], [0, 0, 0], [0, 0, 0]],
                                                                 [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
                                                                 [[0, 0, 0], [0, 0, 0], [0, 0, 0]]]))
        sizes = np.bincount(labels.ravel())
        out = np.zeros((n, N_FEATURES), np.float32)
        for i, turn in enumerate((0, -1, 1)):
            d = (self.heading + turn) % 4
            nxt = self.head + DIRS[d]
            inside = ((nxt >= 0) & (nxt < s)).all(axis=1)
            r, c = np.clip(nxt[:, 0], 0, s - 1), np.clip(nxt[:, 1], 0, s - 1)
            free = inside & ~blocked[idx, r, c]
            out[:, i] = ~free
            out[:, 11 + i] = np.where(free, sizes[labels[idx, r, c]] / (s * s), 0.0)
        out[idx, 3 + self.heading] = 1.0
        out[:, 7] = self.apple[:, 0] < self.head[:, 0]
        out[:, 8] = self.apple[:, 0] > self.head[:, 0]
        out[:, 9] = self.apple[:, 1] < self.head[:, 1]
        out[:, 10] = self.apple[:, 1] > self.head[:, 1]
        out[:, 14] = self.length / (s * s)
        out[:, 15] = np.abs(self.apple - self.head).sum(axis=1) / s
        return out

    def reset(self):
        """Reset every board; (observations, info)."""
        return self.observe(), {"score": self.score.copy()}

    def step(self, actions):
        """Step every board with one action each; a finished board restarts at once and reports its final observation and score in `info`."""
        actions = np.asarray(actions, np.int64)
        if actions.shape != (self.n,) or actions.min() < 0 or actions.max() > 2:
            raise ValueError(f"actions must be {self.n} integers in 0..2, got {actions!r}")
        s, idx = self.size, np.arange(self.n)
        self.heading = (self.heading + np.array([0, -1, 1])[actions]) % 4
        new = self.head + DIRS[self.heading]
        wall = ((new < 0) | (new >= s)).any(axis=1) if self.walls else np.zeros(self.n, bool)
        new %= s
        eating = (new == self.apple).all(axis=1) & ~wall
        cell = self.ttl[idx, new[:, 0], new[:, 1]]
        # Moving into the tail is safe unless eating (then the tail stays where it is).
        hit = ~wall & (cell > np.where(eating, 0, 1))
        dead = wall | hit
        alive = ~dead
        # Advance living boards: decrement (unless eating), write the new head.
        dec = alive & ~eating
        self.ttl[dec] -= (self.ttl[dec] > 0).astype(np.int32)
        self.length[alive & eating] += 1
        self.ttl[idx[alive], new[alive, 0], new[alive, 1]] = self.length[alive]
        self.head[alive] = new[alive]
        self.idle += 1
        reward = np.where(dead, -1.0, np.where(eating, 1.0, -self.step_cost)).astype(np.float32)
        self.score[eating] += 1
        self.idle[eating] = 0
        won = np.zeros(self.n, bool)
        for i in np.flatnonzero(eating):
            won[i] = not self._place_apple(i)
        terminated = dead | won
        truncated = ~terminated & (self.idle >= self.max_idle_steps)
        obs = self.observe()
        final_obs = np.full_like(obs, np.nan)
        final_score = np.full(self.n, -1, np.int64)
        for i in np.flatnonzero(terminated | truncated):
            final_obs[i] = obs[i]
            final_score[i] = self.score[i]
            self._reset_one(i)
        if (terminated | truncated).any():
            obs = self.observe()
        return obs, reward, terminated, truncated, {"final_observation": final_obs, "final_score": final_score,
                                                    "score": self.score.copy()}


def evaluate_policy(policy, games: int = 100, size: int = 20, seed: int = 10_000, max_steps: int = 50_000) -> dict:
    """Score a policy: the first episode of each of `games` boards seeded seed, seed+1, ...

    `policy` maps observations (batch, 16) to actions (batch,), e.g. a Q-network's greedy
    policy; the evaluator never needs to know the network's class (as CleanRL's evaluators).
    """
    env = SnakeVecEnv(games, size=size, seed=seed)
    obs, _ = env.reset()
    scores = np.full(games, -1)
    for _ in range(max_steps):
        obs, _, term, trunc, info = env.step(policy(obs))
        first = (term | trunc) & (scores < 0)
        scores[first] = info["final_score"][first]
        if (scores >= 0).all():
            break
    scores = scores[scores >= 0]
    return {"mean": round(float(scores.mean()), 2), "median": float(np.median(scores)), "max": int(scores.max()),
            "min": int(scores.min()), "games": int(len(scores)), "board": f"{size}x{size}", "seeds": f"{seed}..{seed + games - 1}"}


def episode(policy, seed: int, size: int, max_steps: int, render_mode: str):
    """One game of `policy` (observations (1, 16) -> actions (1,)): yields (rendering, info) for
    the start and after every move, until the game ends or `max_steps` moves were made."""
    env = SnakeEnv(size=size, render_mode=render_mode)
    obs, info = env.reset(seed=seed)
    yield env.render(), info
    for _ in range(max_steps):
        obs, _, term, trunc, info = env.step(int(policy(obs[None])[0]))
        yield env.render(), info
        if term or trunc:
            return


def episode_frames(policy, seed: int, size: int, max_steps: int) -> tuple[list, int]:
    """The RGB frames of one game of `policy` and its final score."""
    frames, info = [], {}
    for frame, info in episode(policy, seed, size, max_steps, "rgb_array"):
        frames.append(frame)
    return frames, info["score"]


def register():
    """Register `zoo/Snake-v0` with Gymnasium (once)."""
    if "zoo/Snake-v0" not in gym.registry:
        gym.register(id="zoo/Snake-v0", entry_point="zoo.envs.snake:SnakeEnv")
