"""Double DQN for Snake, top to bottom (in the spirit of CleanRL's dqn.py).

    zoo train snake-dqn --out runs/snake-dqn           # recipe: train/snake-dqn.toml

1. Many boards at once (`SnakeVecEnv`) act epsilon-greedily with the online Q-network.
2. Transitions go to a replay buffer (numpy ring). A truncated episode (too long without an
   apple) still bootstraps from its last state; only a death ends the return.
3. Every `train_every` steps, a batch from the buffer trains the online network on the Huber
   loss against the Double-DQN target r + γ·Q_target(s', argmax_a Q_online(s', a)).
   The gradient step runs with `strategy.run`, so the learner uses every replica; the loss is
   divided by the global batch.
4. Every `target_update` steps the target network copies the online one.
5. Checkpoints (networks, optimiser, step, replay buffer) every `checkpoint_every` steps: a
   killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path

import numpy as np


class ReplayBuffer:
    def __init__(self, capacity: int, obs_dim: int):
        self.capacity, self.size, self.pos = int(capacity), 0, 0
        self.obs = np.zeros((self.capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((self.capacity, obs_dim), np.float32)
        self.actions = np.zeros(self.capacity, np.int32)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.dones = np.zeros(self.capacity, np.float32)

    def add(self, obs, actions, rewards, next_obs, dones):
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.dones[idx] = next_obs, dones
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample(self, rng, batch: int):
        i = rng.integers(self.size, size=batch)
        return self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.dones[i]

    def save(self, path: Path):
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez(tmp, obs=self.obs[: self.size], next_obs=self.next_obs[: self.size], actions=self.actions[: self.size],
                 rewards=self.rewards[: self.size], dones=self.dones[: self.size], pos=self.pos)
        os.replace(tmp, path)

    def load(self, path: Path):
        d = np.load(path)
        n = len(d["actions"])
        self.obs[:n], self.next_obs[:n], self.actions[:n] = d["obs"], d["next_obs"], d["actions"]
        self.rewards[:n], self.dones[:n] = d["rewards"], d["dones"]
        self.size, self.pos = n, int(d["pos"])


def evaluate(model, games: int = 100, size: int = 20, seed: int = 10_000, max_steps: int = 50_000) -> dict:
    """Greedy play: the first episode of each of `games` boards seeded seed, seed+1, ..."""
    from ..envs import SnakeVecEnv

    env = SnakeVecEnv(games, size=size, seed=seed)
    obs, _ = env.reset()
    scores = np.full(games, -1)
    act = greedy_policy(model)
    for _ in range(max_steps):
        obs, _, term, trunc, info = env.step(act(obs))
        first = (term | trunc) & (scores < 0)
        scores[first] = info["final_score"][first]
        if (scores >= 0).all():
            break
    scores = scores[scores >= 0]
    return {"mean": round(float(scores.mean()), 2), "median": float(np.median(scores)), "max": int(scores.max()),
            "min": int(scores.min()), "games": int(len(scores)), "board": f"{size}x{size}", "seeds": f"{seed}..{seed + games - 1}"}


def greedy_policy(model):
    """numpy observations (batch, obs_dim) -> greedy actions (batch,), through one tf.function."""
    import tensorflow as tf

    f = tf.function(lambda o: tf.argmax(model(o), axis=-1, output_type=tf.int32))
    return lambda obs: f(tf.constant(obs, tf.float32)).numpy()


def train(recipe: dict, out_dir, strategy=None, verbose: int = 1, max_steps=None, command=None) -> dict:
    import tensorflow as tf

    from ..envs import SnakeVecEnv
    from ..registry import get_entry
    from ..training import _atomic_write_text, build_model, finish_run, make_optimizer, open_run, start_run

    t, env_cfg, seed = recipe["train"], recipe["data"], int(recipe["seed"])
    strat, strategy_name, chief = start_run(recipe, strategy)
    out = Path(out_dir)
    total, replicas = int(t["total_steps"]), strat.num_replicas_in_sync
    global_batch = int(t["batch_size"]) * replicas
    gamma = float(t.get("gamma", 0.99))

    # --- networks, optimiser, checkpoint ---------------------------------------------------------
    entry = get_entry(recipe["name"])
    with strat.scope():
        q, target = build_model(entry, recipe), build_model(entry, recipe)
        q.build(), target.build()
        updates = total // int(t["train_every"])
        optimizer = make_optimizer(recipe["optimizer"], replicas, updates)
        optimizer.build(q.trainable_variables)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_s")
    target.set_weights(q.get_weights())
    ckpt = tf.train.Checkpoint(model=q, target=target, optimizer=optimizer, step=step_var, elapsed=elapsed)
    manager, ckpt_dir, latest = open_run(out, recipe, ckpt, chief)
    buffer = ReplayBuffer(int(t["buffer_size"]), q.obs_dim)
    history = []
    if latest:
        if (out / "replay.npz").exists():
            buffer.load(out / "replay.npz")
        if (out / "history.json").exists():
            history = [h for h in json.loads((out / "history.json").read_text()) if h["step"] <= int(step_var.numpy())]
    start = int(step_var.numpy())
    if verbose and chief and latest:
        print(f"resuming from {latest} at step {start}")

    # --- the learner step: Double DQN target, Huber loss, one step per replica ---------------------
    @tf.function
    def replica_step(obs, actions, rewards, next_obs, dones):
        best = tf.argmax(q(next_obs), axis=-1, output_type=tf.int32)                      # online picks
        next_v = tf.gather(target(next_obs), best, axis=1, batch_dims=1)                # target rates
        y = tf.stop_gradient(rewards + gamma * (1.0 - dones) * next_v)
        with tf.GradientTape() as tape:
            qa = tf.gather(q(obs, training=True), actions, axis=1, batch_dims=1)
            err = y - qa
            huber = tf.where(tf.abs(err) <= 1.0, 0.5 * tf.square(err), tf.abs(err) - 0.5)
            loss = tf.nn.compute_average_loss(huber, global_batch_size=global_batch)
        grads = tape.gradient(loss, q.trainable_variables)
        optimizer.apply_gradients(zip(grads, q.trainable_variables))
        return loss, tf.reduce_mean(qa)

    @tf.function
    def learn(*batch):
        loss, q_mean = strat.run(replica_step, args=batch)
        return strat.reduce("SUM", loss, axis=None), strat.reduce("MEAN", q_mean, axis=None)

    per_replica = int(t["batch_size"])

    def distribute(arrays):
        if replicas == 1:
            return [tf.constant(a) for a in arrays]
        return [strat.experimental_distribute_values_from_function(
            lambda ctx, a=a: tf.constant(a[ctx.replica_id_in_sync_group * per_replica:(ctx.replica_id_in_sync_group + 1) * per_replica]))
            for a in arrays]

    def sync_target():
        for tv, v in zip(target.weights, q.weights):
            tv.assign(v)

    # --- acting ------------------------------------------------------------------------------------
    rng = np.random.default_rng(seed + 1000 * start + 17)  # a resumed run draws fresh, still seeded, numbers
    envs = SnakeVecEnv(int(env_cfg.get("num_envs", 64)), size=int(env_cfg.get("size", 20)),
                       step_cost=float(env_cfg.get("step_cost", 0.0)), seed=seed + start)
    obs, _ = envs.reset()
    greedy = greedy_policy(q)
    eps_start, eps_end = float(t.get("eps_start", 1.0)), float(t.get("eps_end", 0.02))
    explore = max(1, int(float(t.get("exploration_fraction", 0.3)) * total))
    recent = deque(maxlen=200)
    writer = tf.summary.create_file_writer(str(out / "logs")) if chief else tf.summary.create_noop_writer()
    every, log_every = int(t.get("checkpoint_every", 5000)), int(t.get("log_every", 1000))
    t0, base_elapsed, loss, q_mean = time.time(), float(elapsed.numpy()), float("nan"), float("nan")
    step = start
    for step in range(start + 1, total + 1):
        eps = max(eps_end, eps_start - (eps_start - eps_end) * step / explore)
        actions = greedy(obs)
        explore_mask = rng.random(envs.n) < eps
        actions[explore_mask] = rng.integers(3, size=int(explore_mask.sum()))
        next_obs, rewards, term, trunc, info = envs.step(actions)
        ended = term | trunc
        real_next = np.where(ended[:, None], info["final_observation"], next_obs)
        buffer.add(obs, actions, rewards, real_next, term.astype(np.float32))
        recent.extend(info["final_score"][ended].tolist())
        obs = next_obs

        if step >= int(t["learning_starts"]) and step % int(t["train_every"]) == 0:
            loss, q_mean = (float(v) for v in learn(*distribute(buffer.sample(rng, global_batch))))
            if not np.isfinite(loss):
                from ..training import TrainingDiverged

                raise TrainingDiverged(f"the TD loss became {loss} at step {step}; last good checkpoint "
                                       f"{manager.latest_checkpoint}: lower the learning rate and run again")
        if step % int(t["target_update"]) == 0:
            sync_target()
        if step % log_every == 0 or step == total:
            row = {"step": step, "epsilon": round(eps, 4), "loss": loss, "q_mean": q_mean,
                   "mean_score_recent": round(float(np.mean(recent)), 2) if recent else None,
                   "episodes_recent": len(recent), "elapsed_s": round(base_elapsed + time.time() - t0, 1)}
            history.append(row)
            with writer.as_default():
                for k in ("epsilon", "loss", "q_mean", "mean_score_recent"):
                    if row[k] is not None and np.isfinite(row[k]):
                        tf.summary.scalar(k, row[k], step=step)
            if verbose and chief:
                print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        if step % every == 0 or step == total or (max_steps and step - start >= max_steps):
            step_var.assign(step)
            elapsed.assign(base_elapsed + time.time() - t0)
            manager.save()
            if chief:
                buffer.save(out / "replay.npz")
                _atomic_write_text(out / "history.json", json.dumps(history, indent=1))
        if max_steps and step - start >= max_steps:
            break

    finished = step >= total
    summary = {"model": q, "finished": finished, "steps": step, "history": history, "elapsed_s": float(elapsed.numpy()),
               "replicas": replicas, "global_batch": global_batch, "chief": chief, "strategy": strategy_name,
               "resumed_from": latest}
    finish_run(q, out, chief, ckpt_dir, finished, {
        "command": command, "strategy": strategy_name, "replicas": replicas, "global_batch": global_batch,
        "steps": step, "env_steps": step * envs.n, "elapsed_s": round(float(elapsed.numpy()), 1)})
    return summary
