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
from collections import deque

import numpy as np
import tensorflow as tf

from ..envs import SnakeVecEnv
from ..files import atomic_save_npz
from ..models.base import minimize
from ..recipes import Key
from ..runs import Run, make_optimizer, register_trainer


class ReplayBuffer:
    """A ring of the last `capacity` transitions (numpy), saved with the checkpoints."""

    def __init__(self, capacity: int, obs_dim: int):
        self.capacity, self.size, self.pos = int(capacity), 0, 0
        self.obs = np.zeros((self.capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((self.capacity, obs_dim), np.float32)
        self.actions = np.zeros(self.capacity, np.int32)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.dones = np.zeros(self.capacity, np.float32)

    def add(self, obs, actions, rewards, next_obs, dones):
        """Append a batch of transitions, overwriting the oldest once full."""
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.dones[idx] = next_obs, dones
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample(self, rng, batch: int):
        """`batch` transitions drawn uniformly with replacement."""
        i = rng.integers(self.size, size=batch)
        return self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.dones[i]

    def save(self, path):
        """Write the filled part atomically (npz)."""
        atomic_save_npz(path, obs=self.obs[: self.size], next_obs=self.next_obs[: self.size],
                        actions=self.actions[: self.size], rewards=self.rewards[: self.size],
                        dones=self.dones[: self.size], pos=self.pos)

    def load(self, path):
        """Restore what `save` wrote."""
        d = np.load(path)
        n = len(d["actions"])
        self.obs[:n], self.next_obs[:n], self.actions[:n] = d["obs"], d["next_obs"], d["actions"]
        self.rewards[:n], self.dones[:n] = d["rewards"], d["dones"]
        self.size, self.pos = n, int(d["pos"])


def double_dqn_learner(run: Run, q, target, optimizer, gamma: float):
    """The learner step: Double-DQN target, Huber loss, one step per replica, the loss divided
    by the global batch. Returns `learn(obs, actions, rewards, next_obs, dones) -> (loss, mean Q)`
    taking numpy arrays of the global batch."""

    @tf.function
    def replica_step(obs, actions, rewards, next_obs, dones):
        best = tf.argmax(q(next_obs), axis=-1, output_type=tf.int32)                      # online picks
        next_v = tf.gather(target(next_obs), best, axis=1, batch_dims=1)                # target rates
        y = tf.stop_gradient(rewards + gamma * (1.0 - dones) * next_v)
        with tf.GradientTape() as tape:
            qa = tf.gather(q(obs, training=True), actions, axis=1, batch_dims=1)
            err = y - qa
            huber = tf.where(tf.abs(err) <= 1.0, 0.5 * tf.square(err), tf.abs(err) - 0.5)
            loss = tf.nn.compute_average_loss(huber, global_batch_size=run.global_batch)
            scaled = optimizer.scale_loss(loss)
        minimize(optimizer, tape, scaled, q.trainable_variables)
        return loss, tf.reduce_mean(qa)

    strat = run.strategy

    @tf.function
    def step(*batch):
        loss, q_mean = strat.run(replica_step, args=batch)
        return strat.reduce("SUM", loss, axis=None), strat.reduce("MEAN", q_mean, axis=None)

    per_replica = run.global_batch // run.replicas

    def distribute(arrays):
        if run.replicas == 1:
            return [tf.constant(a) for a in arrays]
        return [strat.experimental_distribute_values_from_function(
            lambda ctx, a=a: tf.constant(a[ctx.replica_id_in_sync_group * per_replica:(ctx.replica_id_in_sync_group + 1) * per_replica]))
            for a in arrays]

    return lambda *arrays: tuple(float(v) for v in step(*distribute(arrays)))


def _log_row(run, step, eps, loss, q_mean, recent) -> dict:
    """A history row, also written to TensorBoard."""
    row = {"step": step, "epsilon": round(eps, 4), "loss": loss, "q_mean": q_mean,
           "mean_score_recent": round(float(np.mean(recent)), 2) if recent else None,
           "episodes_recent": len(recent), "elapsed_s": round(run.elapsed_s(), 1)}
    with run.writer.as_default():
        for k in ("epsilon", "loss", "q_mean", "mean_score_recent"):
            if row[k] is not None and np.isfinite(row[k]):
                tf.summary.scalar(k, row[k], step=step)
    return row


@register_trainer("dqn", unit="env_steps", data={
    "dataset": Key(str, "zoo/Snake-v0", choices=("zoo/Snake-v0",)),
    "size": Key(int, 20, low=5, high=200, help="board side"),
    "num_envs": Key(int, 64, low=1, high=4096, help="boards stepped together"),
    "step_cost": Key(float, 0.0, low=-1.0, high=1.0, help="reward added at every move"),
}, train={
    "total_steps": Key(int, 40000, low=1, help="vector-environment steps"),
    "learning_starts": Key(int, 500, low=0, help="steps before the first update"),
    "train_every": Key(int, 1, low=1),
    "gamma": Key(float, 0.99, low=0.0, high=1.0, help="discount"),
    "target_update": Key(int, 500, low=1, help="steps between target-network copies"),
    "buffer_size": Key(int, 200000, low=1),
    "eps_start": Key(float, 1.0, low=0.0, high=1.0),
    "eps_end": Key(float, 0.02, low=0.0, high=1.0),
    "exploration_fraction": Key(float, 0.3, low=0.0, high=1.0),
    "checkpoint_every": Key(int, 5000, low=0),
    "log_every": Key(int, 1000, low=1),
})
def train(recipe: dict, out_dir, strategy=None, verbose: int = 1, command=None, judge=None,
          max_env_steps: int | None = None) -> dict:
    """Train the recipe's Q-network for `train.total_steps` vector-environment steps (each
    steps every board once); `max_env_steps` stops this call early, resumably."""
    t, env_cfg, seed = recipe["train"], recipe["data"], int(recipe["seed"])
    run = Run(recipe, out_dir, strategy)
    total, gamma = int(t["total_steps"]), float(t.get("gamma", 0.99))

    # --- networks, optimiser, checkpoint, replay buffer ------------------------------------------
    with run.strategy.scope():
        q, target = run.build_models(2)
        optimizer = make_optimizer(recipe["optimizer"], run.replicas, total // int(t["train_every"]),
                                   loss_scale=run.loss_scale)
        optimizer.build(q.trainable_variables)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    target.set_weights(q.get_weights())
    run.open(model=q, target=target, optimizer=optimizer, step=step_var)
    buffer = ReplayBuffer(int(t["buffer_size"]), q.obs_dim)
    if run.state("replay.npz"):
        buffer.load(run.state("replay.npz"))
    start = int(step_var.numpy())
    history = run.load_history(lambda h: h["step"] <= start)
    if run.restored_from:
        run.say(f"resuming from {run.restored_from} at step {start}", verbose)
    learn = double_dqn_learner(run, q, target, optimizer, gamma)

    # --- acting: epsilon-greedy on many boards, learning every `train_every` steps ---------------
    rng = np.random.default_rng(seed + 1000 * start + 17)  # a resumed run draws fresh, still seeded, numbers
    envs = SnakeVecEnv(int(env_cfg.get("num_envs", 64)), size=int(env_cfg.get("size", 20)),
                       step_cost=float(env_cfg.get("step_cost", 0.0)), seed=seed + start)
    obs, _ = envs.reset()
    greedy = q.greedy_policy("tensorflow")  # the live weights: the network learns between calls
    eps_start, eps_end = float(t.get("eps_start", 1.0)), float(t.get("eps_end", 0.02))
    explore = max(1, int(float(t.get("exploration_fraction", 0.3)) * total))
    recent = deque(maxlen=200)
    every, log_every = int(t.get("checkpoint_every", 5000)), int(t.get("log_every", 1000))
    loss, q_mean, step = float("nan"), float("nan"), start
    run.start_clock()
    for step in range(start + 1, total + 1):
        eps = max(eps_end, eps_start - (eps_start - eps_end) * step / explore)
        actions = greedy(obs)
        explore_mask = rng.random(envs.n) < eps
        actions[explore_mask] = rng.integers(3, size=int(explore_mask.sum()))
        next_obs, rewards, term, trunc, info = envs.step(actions)
        ended = term | trunc
        real_next = np.where(ended[:, None], info["final_observation"], next_obs)  # a truncation still bootstraps
        buffer.add(obs, actions, rewards, real_next, term.astype(np.float32))
        recent.extend(info["final_score"][ended].tolist())
        obs = next_obs

        if step >= int(t["learning_starts"]) and step % int(t["train_every"]) == 0:
            loss, q_mean = learn(*buffer.sample(rng, run.global_batch))
            if not np.isfinite(loss):
                raise run.diverged(f"the TD loss became {loss}", f"step {step}")
        if step % int(t["target_update"]) == 0:
            for tv, v in zip(target.weights, q.weights):
                tv.assign(v)
        if step % log_every == 0 or step == total:
            history.append(_log_row(run, step, eps, loss, q_mean, recent))
            run.say("  ".join(f"{k}={v}" for k, v in history[-1].items()), verbose)
        stop = bool(max_env_steps) and step - start >= max_env_steps
        if step % every == 0 or step == total or stop:
            step_var.assign(step)
            run.save({"replay.npz": buffer.save, "history.json": json.dumps(history, indent=1)})
        if stop:
            break

    finished = step >= total
    run.finish(q, finished, {
        "command": command, "strategy": run.strategy_name, "replicas": run.replicas, "global_batch": run.global_batch,
        "steps": step, "env_steps": step * envs.n, "updates": int(optimizer.iterations.numpy()),
        "elapsed_s": round(run.saved_elapsed_s(), 1)})
    return run.result(q, finished, step, history)
