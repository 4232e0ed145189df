import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import zoo  # also registers zoo/Snake-v0
from zoo.envs import SnakeEnv, SnakeVecEnv


@pytest.mark.parametrize("kwargs", [{}, {"obs_mode": "board"}, {"action_mode": "absolute", "walls": False, "size": 8}])
def test_env_checker(kwargs):
    check_env(gym.make("zoo/Snake-v0", **kwargs).unwrapped, skip_render_check=True)


def _rollout(env, seed, steps=300, policy_seed=0):
    rng = np.random.default_rng(policy_seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(int(rng.integers(env.action_space.n)))
        trace += [obs, r, term, trunc, info["score"]]
        if term or trunc:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def test_seeded_episodes_repeat_exactly():
    a, b = _rollout(SnakeEnv(size=10), 3), _rollout(SnakeEnv(size=10), 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = _rollout(SnakeEnv(size=10), 4)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_rules_apple_growth_wall_and_self():
    env = SnakeEnv(size=8)
    env.reset(seed=0)
    env.heading, env.body = 1, __import__("collections").deque([(4, 4), (4, 3), (4, 2)])
    env.apple = (4, 5)
    _, r, term, _, info = env.step(0)
    assert r == 1.0 and not term and info["score"] == 1 and info["length"] == 4
    env.apple = (0, 0)
    env.step(0)
    _, r, term, _, _ = env.step(0)  # (4, 7): the last column
    assert r == 0.0 and not term
    _, r, term, _, _ = env.step(0)  # into the wall
    assert r == -1.0 and term
    env.reset(seed=0)
    env.heading, env.body = 1, __import__("collections").deque([(4, 4), (4, 3), (3, 3), (3, 4), (3, 5)])
    env.apple = (0, 0)
    _, r, term, _, _ = env.step(1)  # left turn = up, into its own body at (3, 4)
    assert r == -1.0 and term


def test_moving_into_the_vacating_tail_is_safe():
    env = SnakeEnv(size=8)
    env.reset(seed=0)
    env.heading, env.body = 0, __import__("collections").deque([(4, 4), (5, 4), (5, 5), (4, 5)])
    env.apple = (0, 0)
    _, r, term, _, _ = env.step(2)  # right turn = right, onto (4, 5), the tail, which moves away
    assert not term and r == 0.0


def test_truncation_after_idle_steps_and_step_cost():
    env = SnakeEnv(size=10, walls=False, max_idle_steps=7, step_cost=0.01)
    env.reset(seed=1)
    env.apple = (0, 0) if env.body[0] != (0, 0) else (1, 1)
    for k in range(7):
        obs, r, term, trunc, _ = env.step(0)
        if env.body[0] == env.apple:
            break
    assert trunc and not term and r == pytest.approx(-0.01)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="action_mode"):
        SnakeEnv(action_mode="diagonal")
    env = SnakeEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in Discrete"):
        env.step(3)


def test_render_modes():
    env = SnakeEnv(size=6, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert text.endswith("score 0\n")
    text = text.rsplit("score", 1)[0]
    assert text.count("@") == 1 and text.count("*") == 1 and text.count("o") == 2
    env = SnakeEnv(size=6, render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.dtype == np.uint8 and img.shape == (6 * 12 + 4, 6 * 12 + 4, 3)


@pytest.mark.parametrize("obs_mode,walls", [("features", True), ("board", False)])
def test_vectorised_env_agrees_with_single_env(obs_mode, walls):
    n, steps = 6, 400
    vec = SnakeVecEnv(n, size=8, walls=walls, obs_mode=obs_mode, seed=10)
    singles = [SnakeEnv(size=8, walls=walls, obs_mode=obs_mode) for _ in range(n)]
    obs = [e.reset(seed=10 + i)[0] for i, e in enumerate(singles)]
    vobs, _ = vec.reset()
    np.testing.assert_array_equal(vobs, np.stack(obs))
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(steps):
        actions = rng.integers(3, size=n)
        vobs, vr, vterm, vtrunc, info = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, inf = env.step(int(actions[i]))
            assert (r, term, trunc) == (vr[i], vterm[i], vtrunc[i])
            if term or trunc:
                ends += 1
                np.testing.assert_array_equal(info["final_observation"][i], o)
                assert info["final_score"][i] == inf["score"]
                o, _ = env.reset()
            np.testing.assert_array_equal(vobs[i], o)
    assert ends > 5  # the comparison went through several resets


def _random_policy_mean(games=64):
    vec = SnakeVecEnv(32, seed=0)
    rng = np.random.default_rng(0)
    scores = []
    while len(scores) < games:
        _, _, term, trunc, info = vec.step(rng.integers(3, size=32))
        scores += info["final_score"][term | trunc].tolist()
    return float(np.mean(scores))


def test_random_policy_scores_little():
    assert _random_policy_mean() < 1.0


def test_short_dqn_run_beats_random_play(tmp_path):
    from zoo import recipes, training
    from zoo.envs import evaluate_policy

    r = recipes.apply_overrides(recipes.load("snake-dqn"), [
        "total_steps=3000", "learning_starts=300", "log_every=1000", "checkpoint_every=1000",
        "data.num_envs=32", "target_update=250"])
    s = training.train(r, tmp_path, verbose=0)
    assert s["finished"] and (tmp_path / "model.keras").is_file()
    trained, random_mean = evaluate_policy(s["model"].greedy_policy(), games=30), _random_policy_mean()
    assert trained["mean"] > random_mean + 2.0, (trained, random_mean)


def test_dqn_resumes_after_interruption(tmp_path):
    from zoo import recipes, training

    r = recipes.apply_overrides(recipes.load("snake-dqn"), [
        "total_steps=600", "learning_starts=100", "checkpoint_every=200", "log_every=200", "data.num_envs=8"])
    first = training.train(r, tmp_path, verbose=0, max_env_steps=300)
    assert not first["finished"] and (tmp_path / "replay.npz").exists()
    again = training.train(r, tmp_path, verbose=0)
    assert again["finished"] and again["steps"] == 600 and again["resumed_from"]
    assert [h["step"] for h in again["history"]] == [200, 400, 600]


def test_greedy_games_run_in_onnx_runtime_with_tensorflows_results():
    """Issue 36, part 4: the agent's evaluation games act through ONNX Runtime by default and
    play exactly the games TensorFlow plays; the trainer acts with the live weights."""
    from zoo.envs import evaluate_policy

    agent = zoo.load("snake-dqn")
    assert evaluate_policy(agent.greedy_policy(), games=10) == evaluate_policy(agent.greedy_policy("tensorflow"), games=10)
    with pytest.raises(ValueError, match="runtime must be"):
        agent.greedy_policy("jax")
