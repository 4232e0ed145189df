"""Training: `train(recipe, out)` runs the model's registered trainer; this module also holds
the supervised one, a single loop for every `tf.distribute` strategy.

The model exposes its per-replica step (`ZooModel.train_step`, the same one `model.fit` uses);
the trainer runs it with `strategy.run` over a distributed dataset. This works on one device,
under `MirroredStrategy` and under `MultiWorkerMirroredStrategy`, where Keras 3's `model.fit`
fails. Checkpoints (model, optimiser, progress) are written every N steps and at each epoch's
end; starting again in the same folder resumes from the last one (`zoo.runs.Run`).

Example:
    >>> import tempfile
    >>> from zoo import recipes, training
    >>> r = recipes.apply_overrides(recipes.load("ae-mnist"), ["epochs=1", "steps_per_epoch=3", "eval_batches=1"])
    >>> summary = training.train(r, tempfile.mkdtemp(), verbose=0)
    >>> summary["finished"], summary["steps"], summary["unit"]
    (True, 3, 'updates')
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import data, recipes
from .files import LOCK, folder_lock, save_png
from .models import family_of
from .registry import get_entry
from .recipes import Key
from .runs import Run, check_run_folder, get_trainer, make_optimizer, register_trainer, warn, writes_run_folder


def train(recipe: dict, out_dir, strategy: str | None = None, verbose: int = 1, command: str | None = None,
          judge=None, **limit) -> dict:
    """Train a recipe into `out_dir` (resuming from its checkpoints) with the trainer its model
    family names (`Family.trainer`). Returns a summary dict.

    Args:
        recipe: a resolved recipe (`zoo.recipes.load`, `apply_overrides`).
        out_dir: the run folder.
        strategy: "default", "mirrored" or "multi-worker"; None takes the recipe's.
        verbose: 0 for quiet.
        command: the command line, recorded in summary.json.
        judge: a `zoo.metrics.Judge`, or a function returning one, for per-epoch scores
            (`train.judge = true`), called with the recipe's dataset; the CLI passes
            `zoo.evaluate.default_judge`, which loads that dataset's classifier.
        **limit: stop early (resumably) after this many of the trainer's steps in this call:
            `max_updates` (optimiser steps), `max_env_steps` (vector-environment steps) or
            `max_iterations` (self-play iterations), whichever the trainer counts.
    """
    source, recipe = recipe.get("source"), recipes.validate(recipe)
    if source:
        recipe["source"] = source
    trainer = get_trainer(family_of(get_entry(recipe["name"]).model_class).trainer)
    wrong = set(limit) - {trainer.limit}
    if wrong:
        raise ValueError(f"{recipe['name']} is trained by the {trainer.name!r} trainer, which counts {trainer.unit}: "
                         f"its limit is {trainer.limit}, not {', '.join(sorted(wrong))}")
    bad = {k: v for k, v in limit.items() if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1)}
    if bad:
        raise ValueError(f"{', '.join(bad)} must be a positive whole number of {trainer.unit}, got {bad}")
    check_run_folder(out_dir, recipe)
    strategy_name = strategy or recipe["train"]["strategy"]
    if strategy_name != "multi-worker" and os.environ.get("TF_CONFIG", "").strip():
        warn(f"TF_CONFIG is set but the {strategy_name!r} strategy trains in this process alone: it is ignored")
    fresh = not Path(out_dir).exists()
    try:
        with folder_lock(out_dir, f"zoo train {recipe['name']}") if writes_run_folder(strategy_name) else \
                contextlib.nullcontext():
            summary = trainer.fn(recipe, out_dir, strategy=strategy, verbose=verbose, command=command, judge=judge,
                                 **limit)
    except BaseException:
        if fresh and Path(out_dir).is_dir() and not any(p for p in Path(out_dir).iterdir() if p.name != LOCK):
            shutil.rmtree(out_dir, ignore_errors=True)  # failed before writing anything: leave no empty run folder
        raise
    return {**summary, "unit": trainer.unit}


def make_datasets(recipe: dict, model, global_batch: int, epoch: int):
    """(train, test) `tf.data` pipelines of the recipe's data for one epoch (the shuffle and the
    per-example noise depend on the recipe's seed and the epoch)."""
    d = recipe["data"]
    noise = family_of(model).noise_dim() if d.get("noise") else None
    common = dict(binarize=d.get("binarize", "none"), labels=d.get("labels", False), noise_dim=noise)
    seed = int(recipe["seed"]) * 1000 + epoch
    train_ds = data.make_dataset(d["dataset"], "train", global_batch, shuffle=True, seed=seed,
                                 augment=d.get("augment", "none"), **common)
    test_ds = data.make_dataset(d["dataset"], "test", global_batch, shuffle=False, seed=int(recipe["seed"]), **common)
    return train_ds, test_ds


def health(model, metrics: dict) -> str | None:
    """Why training must stop (a NaN/inf metric, or its family's `health_check`), or None."""
    bad = [k for k, v in metrics.items() if not np.isfinite(v)]
    if bad:
        return f"{', '.join(bad)} became {metrics[bad[0]]}"
    return family_of(model).health_check(metrics)


class _Judge:
    """The per-epoch judge, loaded on first use (it may be a function that loads an artifact)."""

    def __init__(self, judge, wanted: bool, dataset: str):
        self.source, self.wanted, self.value, self.dataset = judge, wanted, None, dataset

    def get(self):
        if not self.wanted:
            return None
        if self.source is None:
            warn("train.judge = true but no judge was given: no per-epoch scores "
                 "(zoo train passes the dataset's judge; in Python pass judge=zoo.evaluate.default_judge)")
            self.wanted = False
            return None
        if self.value is None:
            self.value = self.source(self.dataset) if callable(self.source) else self.source
            self.wanted = self.value is not None
        return self.value


class SupervisedTrainer:
    """Epochs of `model.train_step` under `strategy.run`, a test pass after each, checkpoints
    every `checkpoint_every` steps and at each epoch's end, history and TensorBoard logs."""

    def __init__(self, recipe: dict, out_dir, strategy=None, verbose: int = 1, judge=None):
        self.recipe, self.t, self.verbose = recipe, recipe["train"], verbose
        self.run = run = Run(recipe, out_dir, strategy)
        n_train = len(data.load_arrays(recipe["data"]["dataset"], "train")[0])
        self.steps_per_epoch = int(self.t.get("steps_per_epoch") or n_train // run.global_batch)
        self.epochs = int(self.t["epochs"])
        with run.strategy.scope():
            self.model = model = run.build_model()
            optimizers = family_of(model).make_optimizers(lambda **kw: make_optimizer(
                recipe["optimizer"], run.replicas, self.epochs * self.steps_per_epoch, loss_scale=run.loss_scale, **kw))
            self.progress = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="progress")  # epoch, step
        run.open(model=model, progress=self.progress, **optimizers)
        if run.restored_from is None and self.t.get("init_from"):
            self._init_from(self.t["init_from"])
        self.start_epoch, self.start_step = (int(v) for v in self.progress.numpy())
        if run.restored_from:
            run.say(f"resuming from {run.restored_from}: epoch {self.start_epoch + 1}, step {self.start_step}", verbose)
        self.history = run.load_history(lambda h: h["epoch"] <= self.start_epoch)
        self.judge = _Judge(judge, bool(self.t.get("judge")) and run.chief, recipe["data"]["dataset"])
        self.train_step = tf.function(lambda batch: run.strategy.run(model.train_step, args=(batch,)))
        self.test_step = tf.function(lambda batch: run.strategy.run(model.test_step, args=(batch,)))

    def _init_from(self, path):
        # Fine-tuning: start from a trained model's weights (a run's model.keras or an artifact).
        src = keras.saving.load_model(path, compile=False)
        if type(src) is not type(self.model):
            raise ValueError(f"train.init_from={path} holds a {type(src).__name__}, not a {type(self.model).__name__}")
        self.model.set_weights(src.get_weights())

    def read_metrics(self) -> dict:
        """The tracked metrics' current values."""
        return {m.name: float(m.result()) for m in self.model.metrics}

    def updates_done(self) -> int:
        """Optimiser steps taken so far, across resumes."""
        return self._updates_at(*(int(v) for v in self.progress.numpy()))

    def _updates_at(self, epoch: int, step: int) -> int:
        """Optimiser steps from the run's start to `step` of `epoch` (both counted from 0)."""
        return epoch * self.steps_per_epoch + step

    def train_epoch(self, epoch: int, train_ds, budget: int | None, watch=None) -> tuple[int, bool]:
        """Train one epoch (from its saved step when resuming); returns (updates this call, stopped
        early). `watch`: (n, fn) as in `fit`."""
        run, model = self.run, self.model
        first = self.start_step if epoch == self.start_epoch else 0
        train_ds = train_ds.take(self.steps_per_epoch).skip(first)
        for m in model.metrics:
            m.reset_state()
        bar = keras.utils.Progbar(self.steps_per_epoch, stateful_metrics=[m.name for m in model.metrics],
                                  verbose=self.verbose if run.chief else 0)
        run.say(f"Epoch {epoch + 1}/{self.epochs}", self.verbose)
        every, step, done = int(self.t.get("checkpoint_every") or 0), first, 0
        for batch in run.strategy.experimental_distribute_dataset(train_ds):
            self.train_step(batch)
            step, done = step + 1, done + 1
            if step % 20 == 0 or step == self.steps_per_epoch:
                current = self.read_metrics()
                bar.update(step, list(current.items()))
                problem = health(model, current)
                if problem:
                    raise run.diverged(problem, f"epoch {epoch + 1}, step {step}")
            if every and step % every == 0 and step < self.steps_per_epoch:
                self.progress.assign([epoch, step])
                run.save()
            stop = bool(budget and done >= budget)
            if watch and self._updates_at(epoch, step) % watch[0] == 0:
                with run.clock_paused():
                    stop = bool(watch[1](model)) or stop
            if stop:
                self.progress.assign([epoch, step])
                run.save()
                return done, True
        return done, False

    def end_epoch(self, epoch: int, test_ds) -> dict:
        """Test pass, checkpoint, history row, judge scores, TensorBoard and sample pictures."""
        run, model = self.run, self.model
        logs = {f"train_{k}": v for k, v in self.read_metrics().items()}
        for m in model.metrics:
            m.reset_state()
        if self.t.get("eval_batches"):
            test_ds = test_ds.take(int(self.t["eval_batches"]))
        for batch in run.strategy.experimental_distribute_dataset(test_ds):
            self.test_step(batch)
        logs.update({f"test_{k}": v for k, v in self.read_metrics().items()})
        self.progress.assign([epoch + 1, 0])
        run.save()
        logs = {"epoch": epoch + 1, "step": (epoch + 1) * self.steps_per_epoch, **logs,
                "elapsed_s": round(run.saved_elapsed_s(), 1)}
        self.history.append(logs)
        family = family_of(model)
        images = family.epoch_images() if run.chief else None
        judge = self.judge.get()
        scores = family.epoch_scores(judge) if judge is not None else None
        if scores:
            logs.update({f"judge_{k}": v for k, v in scores.items()})
        self._log(epoch, logs, images)
        run.write({"history.json": json.dumps(self.history, indent=1)})
        run.say("  " + "  ".join(f"{k}={v:.4g}" for k, v in logs.items() if k.startswith(("test_", "judge_"))),
                self.verbose)
        return logs

    def _log(self, epoch: int, logs: dict, images):
        run = self.run
        with run.writer.as_default():
            for k, v in logs.items():
                if k.startswith(("train_", "test_", "judge_")):
                    tf.summary.scalar(k.replace("_", "/", 1), v, step=epoch + 1)
            if images is not None:
                tf.summary.image("samples", images[None], step=epoch + 1)
        if images is not None:
            (run.out / "samples").mkdir(exist_ok=True)
            save_png(images, run.out / "samples" / f"epoch_{epoch + 1:03d}.png")
        run.writer.flush()

    def fit(self, max_updates: int | None = None, command: str | None = None, watch=None) -> dict:
        """Train to the recipe's last epoch, or until `max_updates` optimiser steps in this call.
        Called again, it carries on where the last call stopped, with the step functions already
        traced.

        Args:
            watch: (n, fn): every n updates (counted from the run's start) call fn(model) off the
                training clock; a true result stops the run there, resumably, as max_updates does
                (a time-to-quality measurement evaluates without paying for it, or rebuilding
                the pipeline, per look). Under multi-worker every worker calls fn and all must
                give the same answer, or the ones that go on wait for the others forever."""
        run, model, budget = self.run, self.model, max_updates
        self.start_epoch, self.start_step = (int(v) for v in self.progress.numpy())
        run.start_clock()
        for epoch in range(self.start_epoch, self.epochs):
            train_ds, test_ds = make_datasets(self.recipe, model, run.global_batch, epoch)
            done, stopped = self.train_epoch(epoch, train_ds, budget, watch)
            if stopped:
                break
            budget = budget and budget - done
            self.end_epoch(epoch, test_ds)
        finished = int(self.progress.numpy()[0]) >= self.epochs
        if finished:
            family_of(model).finalize_training(self.recipe["data"]["dataset"])
        run.finish(model, finished, {
            "command": command, "strategy": run.strategy_name, "replicas": run.replicas,
            "global_batch": run.global_batch, "epochs": self.epochs, "steps": self.updates_done(),
            "updates": self.updates_done(),
            "elapsed_s": round(run.saved_elapsed_s(), 1), "mixed_precision": self.t.get("mixed_precision") or "float32"})
        return run.result(model, finished, self.updates_done(), self.history, epochs=self.epochs)


@register_trainer("supervised", unit="updates", data={
    "dataset": Key(str, "mnist", help="a dataset of zoo.data"),
    "binarize": Key(str, "none", choices=("none", "dynamic")),
    "labels": Key(bool, False, help="batches carry the labels"),
    "noise": Key(bool, False, help="the pipeline draws the model's noise"),
    "augment": Key(str, "none", choices=data.AUGMENTS),
}, train={
    "epochs": Key(int, 10, low=1, help="passes over the training set"),
    "steps_per_epoch": Key(int, None, low=1, optional=True, help="updates per epoch; default: one pass"),
    "eval_batches": Key(int, None, low=1, optional=True, help="test batches per evaluation; default: all"),
    "init_from": Key(str, None, optional=True, help="a model.keras to start from (fine-tuning)"),
    "checkpoint_every": Key(int, 500, low=0, help="updates between checkpoints; 0: at each epoch's end only"),
    "judge": Key(bool, False, help="FID and score by the dataset's judge after each epoch"),
})
def train_supervised(recipe: dict, out_dir, strategy: str | None = None, verbose: int = 1, command: str | None = None,
                     judge=None, max_updates: int | None = None) -> dict:
    """The supervised (and GAN) trainer: see `SupervisedTrainer`. `max_updates` stops early
    after that many optimiser steps in this call; the checkpoint lets a later call carry on."""
    return SupervisedTrainer(recipe, out_dir, strategy, verbose, judge).fit(max_updates, command)
