"""Training: one loop for every `tf.distribute` strategy.

The model exposes its per-replica step (`ZooModel.train_step`, the same one `model.fit` uses);
the trainer runs it with `strategy.run` over a distributed dataset. This works on one device,
under `MirroredStrategy` and under `MultiWorkerMirroredStrategy`, where Keras 3's `model.fit`
fails. Checkpoints (model, optimiser, progress) are written every N steps and at each epoch's
end; starting again in the same folder resumes from the last one.

Example:
    >>> from zoo import recipes, training
    >>> r = recipes.apply_overrides(recipes.load("ae-mnist"), ["epochs=1"])
    >>> summary = training.train(r, "runs/ae")
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

STRATEGIES = ("default", "mirrored", "multi-worker")


def make_strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multi-worker needs TF_CONFIG describing the cluster (see docs/distributed.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                              and "chief" not in resolver.cluster_spec().as_dict())


def make_optimizer(cfg: dict, replicas: int, steps_total: int, ema_momentum: float | None = None):
    """The recipe's optimiser; `ema_momentum` (asked for by the model, e.g. a GAN's generator)
    makes it keep an exponential moving average of the weights it updates."""
    import keras

    lr = float(cfg["learning_rate"]) * (replicas if cfg.get("scale_learning_rate") else 1)
    if cfg.get("schedule", "constant") == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_total), alpha=cfg.get("alpha", 0.0))
    elif cfg.get("schedule", "constant") != "constant":
        raise ValueError(f"optimizer.schedule must be 'constant' or 'cosine', got {cfg['schedule']!r}")
    kwargs = {"learning_rate": lr}
    name = cfg.get("name", "adam").lower()
    if cfg.get("beta_1") is not None and name in ("adam", "adamw"):
        kwargs["beta_1"] = float(cfg["beta_1"])
    if cfg.get("clipnorm"):
        kwargs["clipnorm"] = float(cfg["clipnorm"])
    if ema_momentum:
        kwargs.update(use_ema=True, ema_momentum=float(ema_momentum))
    classes = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "sgd": keras.optimizers.SGD}
    if name not in classes:
        raise ValueError(f"optimizer.name must be one of {', '.join(classes)}, got {name!r}")
    return classes[name](**kwargs)


def _datasets(recipe, model, global_batch, epoch):
    from . import data

    d = recipe["data"]
    noise = model.noise_dim() if d.get("noise") else None
    common = dict(binarize=d.get("binarize", "none"), labels=d.get("labels", False), noise_dim=noise)
    seed = int(recipe["seed"]) * 1000 + epoch
    train = data.make_dataset(d["dataset"], "train", global_batch, shuffle=True, seed=seed,
                              augment=d.get("augment", "none"), **common)
    test = data.make_dataset(d["dataset"], "test", global_batch, shuffle=False, seed=int(recipe["seed"]), **common)
    return train, test


def _atomic_write_text(path: Path, text: str):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_keras_atomic(model, path: Path):
    """Write a .keras file next to its destination, then rename: never a half file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def build_model(entry, recipe: dict):
    """The recipe's model, under the recipe's dtype policy (call inside the strategy scope).

    Layers take the policy in force when they are made; it is restored afterwards so a bf16
    recipe does not change models built later in the same process."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(recipe["train"].get("mixed_precision") or "float32")
    try:
        return entry.build(**recipe["model"])
    finally:
        keras.mixed_precision.set_global_policy(previous)


def start_run(recipe: dict, strategy: str | None):
    """(strategy, its name, whether this worker is the chief), with op determinism (if the
    recipe asks for it) and every seed set from the recipe. Every trainer starts here."""
    import keras
    import tensorflow as tf

    name = strategy or recipe["train"].get("strategy", "default")
    strat = make_strategy(name)
    if recipe["train"].get("deterministic"):
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(int(recipe["seed"]))
    return strat, name, is_chief(strat)


def finish_run(model, out: Path, chief: bool, ckpt_dir: Path, finished: bool, summary: dict):
    """Drop a worker's scratch checkpoints; on the chief, once training is complete, write
    model.keras and summary.json (atomically). Every trainer ends here."""
    if not chief:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    elif finished:
        save_keras_atomic(model, out / "model.keras")
        _atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))


def open_run(out: Path, recipe: dict, ckpt, chief: bool):
    """Prepare a run folder and restore its newest checkpoint, if any.

    Returns (CheckpointManager, checkpoint folder, restored path or None). Workers other than
    the chief save their (identical) checkpoints to a scratch folder: every worker must take
    part in a save, but only the chief's copy is kept; every worker restores the chief's.
    """
    import tensorflow as tf

    from . import recipes as recipes_mod

    ckpt_dir = out / "checkpoints" if chief else Path(tempfile.mkdtemp(prefix="zoo-worker-ckpt-"))
    if chief:
        out.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(out / "recipe.toml", recipes_mod.dumps(recipe))
    manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=2)
    latest = tf.train.latest_checkpoint(str(out / "checkpoints"))
    if latest:
        ckpt.restore(latest).expect_partial()
    return manager, ckpt_dir, latest


class TrainingDiverged(RuntimeError):
    """Training produced NaN/inf or the model reports a collapse; the run stops cleanly."""


def _health(model, metrics: dict) -> str | None:
    bad = [k for k, v in metrics.items() if not np.isfinite(v)]
    if bad:
        return f"{', '.join(bad)} became {metrics[bad[0]]}"
    check = getattr(model, "health_check", None)
    return check(metrics) if check else None


def train(recipe: dict, out_dir, strategy: str | None = None, verbose: int = 1, max_steps: int | None = None,
          command: str | None = None) -> dict:
    """Train a recipe into `out_dir` (resuming from its checkpoints). Returns a summary dict.

    `max_steps` stops early after that many optimiser steps in this call (for tests and
    benchmarks); the checkpoint then lets a later call carry on.
    """
    import importlib

    import keras
    import tensorflow as tf

    from .registry import get_entry

    entry = get_entry(recipe["name"])
    if entry.trainer:  # RL and self-play models bring their own loop (same strategies, same resume)
        module, fn = entry.trainer.split(":")
        return getattr(importlib.import_module(module), fn)(recipe, out_dir, strategy=strategy, verbose=verbose,
                                                            max_steps=max_steps, command=command)
    out = Path(out_dir)
    t = recipe["train"]
    strat, strategy_name, chief = start_run(recipe, strategy)
    replicas = strat.num_replicas_in_sync
    global_batch = int(t["batch_size"]) * replicas
    from . import data as data_mod

    n_train = len(data_mod.load_arrays(recipe["data"]["dataset"], "train")[0])
    steps_per_epoch = int(t.get("steps_per_epoch") or n_train // global_batch)
    epochs = int(t["epochs"])

    with strat.scope():
        model = build_model(entry, recipe)
        model.build((None, 28, 28, 1))
        optimizers = model.make_optimizers(
            lambda **kw: make_optimizer(recipe["optimizer"], replicas, epochs * steps_per_epoch, **kw))
        progress = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="progress")  # epoch, step
        elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_s")
    ckpt = tf.train.Checkpoint(model=model, progress=progress, elapsed=elapsed, **optimizers)
    manager, ckpt_dir, restored_from = open_run(out, recipe, ckpt, chief)
    if restored_from is None and t.get("init_from"):
        # Fine-tuning: start from a trained model's weights (a run's model.keras or an artifact).
        src = keras.saving.load_model(t["init_from"], compile=False)
        if type(src) is not type(model):
            raise ValueError(f"train.init_from={t['init_from']} holds a {type(src).__name__}, not a {type(model).__name__}")
        model.set_weights(src.get_weights())
    start_epoch, start_step = (int(v) for v in progress.numpy())
    if verbose and restored_from and chief:
        print(f"resuming from {restored_from}: epoch {start_epoch + 1}, step {start_step}")

    writer = tf.summary.create_file_writer(str(out / "logs")) if chief else tf.summary.create_noop_writer()

    @tf.function
    def train_step(batch):
        return strat.run(model.train_step, args=(batch,))

    @tf.function
    def test_step(batch):
        return strat.run(model.test_step, args=(batch,))

    def read_metrics():
        return {m.name: float(m.result()) for m in model.metrics}

    def steps_of(p):
        e, st = (int(v) for v in p.numpy())
        return e * steps_per_epoch + st

    history = []
    hist_path = out / "history.json"
    if hist_path.exists():
        history = [h for h in json.loads(hist_path.read_text()) if h["epoch"] <= start_epoch]
    steps_done = 0
    every = int(t.get("checkpoint_every") or 0)
    t0 = time.time()
    base_elapsed = float(elapsed.numpy())
    stopped = False
    for epoch in range(start_epoch, epochs):
        train_ds, test_ds = _datasets(recipe, model, global_batch, epoch)
        first = start_step if epoch == start_epoch else 0
        train_ds = train_ds.take(steps_per_epoch).skip(first)
        for m in model.metrics:
            m.reset_state()
        bar = keras.utils.Progbar(steps_per_epoch, stateful_metrics=[m.name for m in model.metrics],
                                  verbose=verbose if chief else 0)
        if verbose and chief:
            print(f"Epoch {epoch + 1}/{epochs}")
        step = first
        for batch in strat.experimental_distribute_dataset(train_ds):
            train_step(batch)
            step += 1
            steps_done += 1
            if step % 20 == 0 or step == steps_per_epoch:
                current = read_metrics()
                bar.update(step, list(current.items()))
                problem = _health(model, current)
                if problem:
                    raise TrainingDiverged(
                        f"stopped at epoch {epoch + 1}, step {step}: {problem}. The last good checkpoint is in "
                        f"{ckpt_dir} ({manager.latest_checkpoint}); lower the learning rate or change the seed, "
                        "then run again to resume from it, or start a fresh --out folder.")
            if every and step % every == 0 and step < steps_per_epoch:
                progress.assign([epoch, step])
                elapsed.assign(base_elapsed + time.time() - t0)
                manager.save()
            if max_steps and steps_done >= max_steps:
                stopped = True
                break
        if stopped:
            progress.assign([epoch, step])
            elapsed.assign(base_elapsed + time.time() - t0)
            manager.save()
            break
        logs = {f"train_{k}": v for k, v in read_metrics().items()}
        for m in model.metrics:
            m.reset_state()
        if t.get("eval_batches"):
            test_ds = test_ds.take(int(t["eval_batches"]))
        for batch in strat.experimental_distribute_dataset(test_ds):
            test_step(batch)
        logs.update({f"test_{k}": v for k, v in read_metrics().items()})
        progress.assign([epoch + 1, 0])
        elapsed.assign(base_elapsed + time.time() - t0)
        manager.save()
        logs = {"epoch": epoch + 1, "step": (epoch + 1) * steps_per_epoch, **logs,
                "elapsed_s": round(float(elapsed.numpy()), 1)}
        history.append(logs)
        images = model.epoch_images() if chief and hasattr(model, "epoch_images") else None
        scores = model.epoch_scores() if chief and t.get("judge") and hasattr(model, "epoch_scores") else None
        if scores:
            logs.update({f"judge_{k}": v for k, v in scores.items()})
        with writer.as_default():
            for k, v in logs.items():
                if k.startswith(("train_", "test_", "judge_")):
                    tf.summary.scalar(k.replace("_", "/", 1), v, step=epoch + 1)
            if images is not None:
                tf.summary.image("samples", images[None], step=epoch + 1)
        if images is not None:
            from .export import save_png

            (out / "samples").mkdir(exist_ok=True)
            save_png(images, out / "samples" / f"epoch_{epoch + 1:03d}.png")
        writer.flush()
        if chief:
            _atomic_write_text(hist_path, json.dumps(history, indent=1))
            if verbose:
                print("  " + "  ".join(f"{k}={v:.4g}" for k, v in logs.items() if k.startswith(("test_", "judge_"))))

    finished = int(progress.numpy()[0]) >= epochs
    if finished and hasattr(model, "finalize_training"):
        model.finalize_training()
    finish_run(model, out, chief, ckpt_dir, finished, {
        "command": command, "strategy": strategy_name, "replicas": replicas, "global_batch": global_batch,
        "epochs": epochs, "steps": steps_of(progress), "elapsed_s": round(float(elapsed.numpy()), 1),
        "mixed_precision": t.get("mixed_precision") or "float32"})
    return {"model": model, "finished": finished, "epochs": epochs, "steps": steps_of(progress),
            "history": history, "elapsed_s": float(elapsed.numpy()), "replicas": replicas,
            "global_batch": global_batch, "chief": chief, "strategy": strategy_name,
            "resumed_from": restored_from}
