"""A training run: what every trainer shares, so that each trainer keeps only its algorithm.

A `Run` owns the `tf.distribute` strategy, op determinism and the seeds; the run folder
(`recipe.toml`, `checkpoints/`, TensorBoard `logs/`, `history.json`, extra state files such as a
replay buffer); the checkpoint with the elapsed training time; resume from the newest
checkpoint; and the end of the run (`model.keras` and `summary.json` on the chief, scratch
cleanup on the other workers).

Trainers register themselves by name with the unit their step limit counts
(`register_trainer("dqn", unit="env_steps")`); a model class names its trainer
(`Family.trainer`) and `zoo.training.train` looks it up, so this module imports no trainer.

Example (a trainer's skeleton: its algorithm goes where the step is counted):
    >>> import tempfile
    >>> from zoo import recipes
    >>> recipe = recipes.apply_overrides(recipes.load("ae-mnist"), ["model.hidden=8"])
    >>> run = Run(recipe, tempfile.mkdtemp())
    >>> with run.strategy.scope():
    ...     model, step = run.build_model(), tf.Variable(0, dtype=tf.int64)
    >>> run.open(model=model, step=step) is None             # a fresh folder: nothing to restore
    True
    >>> _ = step.assign(5)
    >>> run.save({"history.json": "[]"})                       # checkpoint + state files
    >>> again = Run(recipe, run.out)                           # a later process: resume
    >>> with again.strategy.scope():
    ...     model, step = again.build_model(), tf.Variable(0, dtype=tf.int64)
    >>> again.open(model=model, step=step) is not None, int(step.numpy()), again.load_history()
    (True, 5, [])
    >>> again.finish(model, finished=True, summary={"steps": 5})
    >>> sorted(p.name for p in run.out.iterdir())
    ['checkpoints', 'history.json', 'logs', 'model.keras', 'recipe.toml', 'summary.json']
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from . import recipes
from .files import atomic_write_text, save_keras_atomic
from .registry import get_entry

STRATEGIES = recipes.STRATEGIES


def make_strategy(name: str):
    """The `tf.distribute` strategy called `name` (one of `STRATEGIES`)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi-worker":
        if not tf_config():
            raise ValueError("--strategy multi-worker needs TF_CONFIG describing the cluster (see docs/distributed.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")


def is_chief(strategy) -> bool:
    """Whether this worker writes the run's outputs (always, outside multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                              and "chief" not in resolver.cluster_spec().as_dict())


def tf_config() -> dict:
    """`TF_CONFIG` parsed and checked ({} when unset): an object whose `cluster` maps task types
    to lists of addresses and whose `task` names a type of it and an index in its list; a
    `ValueError` saying what is wrong otherwise."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except ValueError:
        config = None
    how = ('write it as {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}} '
           "(docs/distributed.md)")
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG is not a JSON object; {how}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not all(isinstance(v, list) and v for v in cluster.values()):
        raise ValueError(f"TF_CONFIG's cluster must map task types to lists of addresses; {how}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(f"TF_CONFIG's task.type must be one of its cluster's task types {sorted(cluster)}; {how}")
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(f"TF_CONFIG's task.index must be 0 to {len(cluster[task['type']]) - 1}, got {index!r}; {how}")
    return config


def chief_by_tf_config() -> bool:
    """Whether this process is the chief by `TF_CONFIG` (always, without one): known before
    TensorFlow makes the strategy, so the chief alone can lock the run folder first."""
    config = tf_config()
    task, cluster = config.get("task") or {}, config.get("cluster") or {}
    if not task:
        return True
    return task["type"] == "chief" or (task["type"] == "worker" and int(task.get("index", 0)) == 0
                                       and "chief" not in cluster)


def writes_run_folder(strategy_name: str) -> bool:
    """Whether this process writes the run folder, and so must hold its lock: every process
    but a multi-worker run's non-chief workers (a stale `TF_CONFIG` does not make a one-process
    run a worker)."""
    return strategy_name != "multi-worker" or chief_by_tf_config()


def worker_scratch_dir(out: Path, strategy) -> Path:
    """Where a worker other than the chief writes its checkpoints for the run in `out`: one
    folder per run and task (the strategy's cluster resolver names the task, as for `is_chief`)
    in the system's temporary folder, the same on every start, so a worker killed mid-run
    leaves at most one behind, which its next start clears."""
    resolver = strategy.cluster_resolver
    run = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"zoo-worker-ckpt-{run}-{resolver.task_type}-{resolver.task_id}"


def make_optimizer(cfg: dict, replicas: int, steps_total: int, ema_momentum: float | None = None,
                   loss_scale: bool = False):
    """The recipe's optimiser; `ema_momentum` (asked for by the model, e.g. a GAN's generator)
    makes it keep an exponential moving average of the weights it updates; `loss_scale`
    (recipes in `mixed_float16`) wraps it in Keras' dynamic `LossScaleOptimizer`, which the
    models' steps use through `optimizer.scale_loss` (`zoo.models.base.minimize`)."""
    lr = float(cfg["learning_rate"]) * (replicas if cfg.get("scale_learning_rate") else 1)
    if cfg.get("schedule", "constant") == "cosine":
        # Keras' warm-up from the rate to itself is the hold: exactly the constant rate, so a
        # run resumed with a later decay start is the run that had it from the beginning.
        hold = int(round(float(cfg.get("hold") or 0.0) * steps_total))
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_total - hold), alpha=cfg.get("alpha", 0.0),
                                                    warmup_target=lr if hold else None, warmup_steps=hold)
    elif cfg.get("schedule", "constant") != "constant":
        raise ValueError(f"optimizer.schedule must be 'constant' or 'cosine', got {cfg['schedule']!r}")
    elif cfg.get("hold"):
        raise ValueError("optimizer.hold delays the cosine decay: set optimizer.schedule = 'cosine' too, or drop hold")
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
    optimizer = classes[name](**kwargs)
    if not loss_scale:
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=float(cfg.get("initial_loss_scale", 2.0 ** 15)))


def build_model(entry, recipe: dict):
    """The recipe's model, under the recipe's dtype policy (call inside the strategy scope).

    Layers take the policy in force when they are made; it is restored afterwards so a bf16
    recipe does not change models built later in the same process."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(recipe["train"].get("mixed_precision") or "float32")
    config = dict(recipe["model"])
    if "dataset" in inspect.signature(entry.model_class.__init__).parameters:
        # a model that knows its data (a classifier, for its test set and as a judge) learns it
        # from the recipe's [data], the one place that says what is trained on
        config["dataset"] = recipe["data"]["dataset"]
    try:
        return entry.build(**config)
    finally:
        keras.mixed_precision.set_global_policy(previous)


class RunFolderError(RuntimeError):
    """A run folder that cannot hold the run asked for; nothing was written to it."""


def _flat(recipe: dict) -> dict:
    """`{"model": {"ema": 0.99}}` -> `{"model.ema": 0.99}`, the values as the recipe file holds them."""
    flat = {}
    for top, value in tomllib.loads(recipes.dumps(recipe)).items():
        flat.update({f"{top}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {top: value})
    return flat


def recipe_changes(old: dict, new: dict) -> list[str]:
    """Every setting that differs between two recipes, as `"model.ema 0.999 -> 0.99"`."""
    before, now = _flat(old), _flat(new)
    return [f"{k} {before.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(before) | set(now))
            if before.get(k) != now.get(k)]


CHECKPOINT = re.compile(r"^ckpt-([0-9]+)\.(index|data-[0-9]+-of-[0-9]+)$")  # CheckpointManager's file names


def checkpoint_prefixes(folder) -> list[str]:
    """The checkpoints a folder has files of (`<folder>/ckpt-N`), newest first, whether or not
    they are whole."""
    folder = Path(folder)
    found = {int(m.group(1)) for p in (folder.iterdir() if folder.is_dir() else ())
             if (m := CHECKPOINT.match(p.name))}
    return [str(folder / f"ckpt-{n}") for n in sorted(found, reverse=True)]


def checkpoint_problem(prefix: str) -> str | None:
    """Why the checkpoint `prefix` cannot be restored, or None: its index and data files are
    there and every tensor reads back (TensorFlow checks each tensor's checksum)."""
    if not Path(f"{prefix}.index").is_file():
        return "its .index file is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except (tf.errors.OpError, ValueError, OSError) as e:
        first = str(getattr(e, "message", e)).strip().splitlines()
        return f"it does not read back ({type(e).__name__}: {first[0][:200] if first else ''})"
    return None


def newest_intact_checkpoint(folder) -> tuple[str | None, list[tuple[str, str]]]:
    """(the newest checkpoint of `folder` that reads back whole, or None; (name, why) of each
    newer one that does not)."""
    skipped = []
    for prefix in checkpoint_prefixes(folder):
        problem = checkpoint_problem(prefix)
        if problem is None:
            return prefix, skipped
        skipped.append((Path(prefix).name, problem))
    return None, skipped


def check_run_folder(out, recipe: dict):
    """Refuse, before anything is written, a run folder that cannot take this run: a path that
    passes through a file, or a folder whose checkpoints were trained with another model or
    other model settings (resuming them would fail, or record settings the weights do not have)."""
    out = Path(out)
    for folder in [out, *out.parents]:
        if folder.exists():
            if not folder.is_dir():
                raise RunFolderError(f"run folder {out}: {folder} is a file, not a folder; choose another --out")
            break
    saved = out / "recipe.toml"
    if not (saved.is_file() and checkpoint_prefixes(out / "checkpoints")):
        return
    changes = [c for c in recipe_changes(tomllib.loads(saved.read_text()), recipe)
               if c.startswith(("name ", "model.", "data.dataset "))]
    if changes:
        raise RunFolderError(f"{out} holds checkpoints trained with other settings ({'; '.join(changes)}); "
                             "resume it with its own settings (drop those --set), or train into a new --out")


class TrainingDiverged(RuntimeError):
    """Training produced NaN/inf or the model reports a collapse; the run stops cleanly."""


@dataclass(frozen=True)
class Trainer:
    """A registered training loop: `fn(recipe, out_dir, strategy=, verbose=, command=, judge=,
    max_<unit>=)`; `unit` says what its step limit counts (updates, env_steps, iterations)."""

    name: str
    fn: Callable
    unit: str

    @property
    def limit(self) -> str:
        """The keyword of the trainer's step limit, e.g. `max_updates`."""
        return f"max_{self.unit}"


TRAINERS: dict[str, Trainer] = {}


def register_trainer(name: str, unit: str, data: dict | None = None, train: dict | None = None):
    """Decorator: register a training loop under `name`, its step limit counted in `unit`, with
    the recipe keys it reads beyond `zoo.recipes.COMMON` (`data`, `train`: {key: recipes.Key});
    a recipe with any other key is refused before anything runs."""

    def wrap(fn):
        if name in TRAINERS:
            raise ValueError(f"trainer {name!r} is already registered")
        TRAINERS[name] = Trainer(name, fn, unit)
        recipes.register_keys(name, data=data or {}, train=train or {})
        return fn

    return wrap


def get_trainer(name: str) -> Trainer:
    """The registered trainer `name`, or a clear error naming the registered ones."""
    if name not in TRAINERS:
        raise ValueError(f"no trainer {name!r} is registered (known: {', '.join(sorted(TRAINERS))}); "
                         "import the module that registers it")
    return TRAINERS[name]


class Run:
    """One training run in a folder, on one strategy; see the module's docstring.

    Args:
        recipe: a resolved recipe (`zoo.recipes.load`).
        out_dir: the run folder; an existing one with checkpoints is resumed.
        strategy: "default", "mirrored" or "multi-worker"; None takes the recipe's.
    """

    def __init__(self, recipe: dict, out_dir, strategy: str | None = None):
        self.recipe, self.out = recipe, Path(out_dir)
        self.entry = get_entry(recipe["name"])
        self.strategy_name = strategy or recipe["train"].get("strategy", "default")
        self.strategy = make_strategy(self.strategy_name)
        if recipe["train"].get("deterministic"):
            tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(int(recipe["seed"]))
        self.chief = is_chief(self.strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        self.global_batch = int(recipe["train"]["batch_size"]) * self.replicas
        self.restored_from = None
        self._base_elapsed, self._t0 = 0.0, time.time()

    @property
    def loss_scale(self) -> bool:
        """Whether the optimisers scale the loss: the recipe trains in `mixed_float16`."""
        return self.recipe["train"].get("mixed_precision") == "mixed_float16"

    def build_model(self):
        """The recipe's model under its dtype policy, built (call inside `strategy.scope()`)."""
        return self.build_models(1)[0]

    def build_models(self, n: int) -> list:
        """`n` models of the recipe (e.g. online and target networks), all constructed before
        any is built, so their weights draw from the seeded stream in a fixed order."""
        models = [build_model(self.entry, self.recipe) for _ in range(n)]
        for m in models:
            m.build()
        return models

    def open(self, **trackables) -> str | None:
        """Prepare the folder and restore the newest checkpoint of `trackables` (and the elapsed
        time) if there is one; returns its path. Workers other than the chief save their
        (identical) checkpoints to a scratch folder: every worker must take part in a save, but
        only the chief's copy is kept; every worker restores the chief's."""
        with self.strategy.scope():
            self._elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_s")
        self.checkpoint = tf.train.Checkpoint(elapsed=self._elapsed, **trackables)
        self.ckpt_dir = self.out / "checkpoints" if self.chief else worker_scratch_dir(self.out, self.strategy)
        if not self.chief:  # what a killed start left: never restored (workers restore the chief's)
            shutil.rmtree(self.ckpt_dir, ignore_errors=True)
        if self.chief:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "recipe.toml", recipes.dumps(self.recipe))
        latest = self._resumable()
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.ckpt_dir), max_to_keep=2)
        if latest:
            self.checkpoint.restore(latest).expect_partial()
        self.restored_from = latest
        self._base_elapsed, self._t0 = float(self._elapsed.numpy()), time.time()
        self.writer = (tf.summary.create_file_writer(str(self.out / "logs")) if self.chief
                       else tf.summary.create_noop_writer())
        return latest

    def _resumable(self) -> str | None:
        """The newest checkpoint that reads back whole, saying on stderr which newer ones were
        skipped and why; a `RunFolderError` (nothing written) when the folder has a history but
        nothing to resume it from, which a fresh start would overwrite."""
        latest, skipped = newest_intact_checkpoint(self.out / "checkpoints")
        for skipped_name, problem in skipped:
            warn(f"resume: skipped checkpoint {self.out / 'checkpoints'} {skipped_name}: {problem}; "
                 + (f"resuming from the older {Path(latest).name}" if latest else "no older checkpoint is whole"))
        history = self.out / "history.json"
        if self.chief and latest is None and history.is_file() and history.read_text().strip() not in ("", "[]"):
            why = (f"every checkpoint is damaged ({', '.join(n for n, _ in skipped)}: see above)" if skipped
                   else "it has no checkpoint")
            raise RunFolderError(f"{self.out} holds a run's history.json but {why}, so the run cannot resume and a "
                                 "fresh start would overwrite its history; train into a new --out, or move the folder "
                                 "aside first")
        return latest

    def state(self, name: str) -> Path | None:
        """A state file of a resumed run (`out/name`), or None when starting fresh or absent."""
        path = self.out / name
        return path if self.restored_from and path.exists() else None

    def load_history(self, keep: Callable[[dict], bool] | None = None) -> list:
        """The rows of a resumed run's history.json that `keep` accepts (all if None)."""
        path = self.state("history.json")
        rows = json.loads(path.read_text()) if path else []
        return [r for r in rows if keep is None or keep(r)]

    def start_clock(self):
        """Start timing the training loop (the time before it is not training time), on top of
        the time saved with the newest checkpoint: a loop started again in the same process
        carries on from where its last stop saved it."""
        self._base_elapsed, self._t0 = float(self._elapsed.numpy()), time.time()

    @contextlib.contextmanager
    def clock_paused(self):
        """Time spent inside is not training time (an evaluation between updates)."""
        start = time.time()
        try:
            yield
        finally:
            self._t0 += time.time() - start

    def elapsed_s(self) -> float:
        """Training seconds so far, across every resume."""
        return self._base_elapsed + time.time() - self._t0

    def save(self, files: dict | None = None):
        """Checkpoint now (with the elapsed time); then, on the chief, write each state file:
        `files` maps a name in the run folder to its text, or to a function of its path."""
        self._elapsed.assign(self.elapsed_s())
        self.manager.save()
        self.write(files or {})

    def write(self, files: dict):
        """On the chief, write state files (name -> text, or a function of the path), atomically."""
        if self.chief:
            for name, content in files.items():
                if callable(content):
                    content(self.out / name)
                else:
                    atomic_write_text(self.out / name, content)

    def saved_elapsed_s(self) -> float:
        """The elapsed time stored with the newest checkpoint."""
        return float(self._elapsed.numpy())

    def diverged(self, problem: str, where: str) -> TrainingDiverged:
        """The error that stops a run whose numbers went bad, naming the last good checkpoint
        (or saying there is none yet)."""
        last = self.manager.latest_checkpoint
        resume = (f"The last good checkpoint is {last}; lower the learning rate or change the seed, then run again "
                  "to resume from it, or start a fresh --out folder." if last else
                  "No checkpoint was saved before it: lower the learning rate or change the seed and train again "
                  "into a fresh --out folder.")
        return TrainingDiverged(f"stopped at {where}: {problem}. {resume}")

    def finish(self, model, finished: bool, summary: dict):
        """Drop a worker's scratch checkpoints; on the chief, once training is complete, write
        model.keras and summary.json (atomically)."""
        if not self.chief:
            shutil.rmtree(self.ckpt_dir, ignore_errors=True)
        elif finished:
            save_keras_atomic(model, self.out / "model.keras")
            atomic_write_text(self.out / "summary.json", json.dumps(summary, indent=1))

    def result(self, model, finished: bool, steps: int, history: list, **extra) -> dict:
        """What a trainer returns: the model, whether training is complete, how far it got (in
        the unit its registration names; `zoo.training.train` adds it as "unit")."""
        return {"model": model, "finished": finished, "steps": steps, "history": history,
                "elapsed_s": self.saved_elapsed_s(), "replicas": self.replicas, "global_batch": self.global_batch,
                "chief": self.chief, "strategy": self.strategy_name, "resumed_from": self.restored_from, **extra}

    def say(self, text: str, verbose: int):
        """Print on the chief when `verbose`."""
        if verbose and self.chief:
            print(text, flush=True)


def warn(text: str):
    """A one-line note on stderr."""
    print(text, file=sys.stderr, flush=True)
