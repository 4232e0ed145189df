"""Artifacts: a run folder's model becomes a versioned artifact, described by its card.

    artifacts/<name>/
        <name>.v<N>.keras      Keras file for zoo.load and fine-tuning
        <N>/                   SavedModel for TF Serving (numeric folder = version)
        card.json              metrics, recipe, checksums, versions, signatures
        samples.png            what the model does, at a glance

Every file is written beside its destination and renamed into place, so a crash never leaves
a half artifact; the version folder appears last, and a version counts only once it exists.
The model says what it serves (`serving_signatures()`, `serving_examples()`) and what it
looks like (`picture()`); this module writes them for any model.

`export_artifact("vae-mnist", "runs/vae")` (`zoo export vae-mnist --run runs/vae`) makes a
finished run the next version.

Example:
    >>> from zoo import artifacts
    >>> card = artifacts.Card.read(zoo.get_entry("vae-mnist").artifact_dir / "card.json")
    >>> card.version, card["serving_default"], sorted(card["signatures"])[:2]
    (1, 'sample', ['decode', 'encode'])
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import shutil
import tomllib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import data
from .files import atomic_write_json, read_json, save_keras_atomic, save_png
from .registry import get_entry
from .serving import write_warmup
from .store import INDEX, ArtifactError, add_index_entry, version_entries, write_index


class Card(dict):
    """A model card (`card.json`): a dict of metrics, evaluation, recipe, training, checksums,
    signatures and software versions, with a clear error naming the file when it is unreadable.

    Example:
        >>> card = Card.read(zoo.get_entry("cnn-mnist").artifact_dir / "card.json")
        >>> card.version, card.metrics["test_accuracy"]
        (1, 0.996)
    """

    def __init__(self, data: dict, path: Path | None = None):
        super().__init__(data)
        self.path = path

    @classmethod
    def read(cls, path) -> "Card":
        """The card in `path`; `ArtifactError` if it is missing or not valid JSON."""
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"no model card at {path}")
        try:
            return cls(read_json(path), path)
        except json.JSONDecodeError as e:
            raise ArtifactError(f"model card {path} is not valid JSON ({e}); restore it with `git checkout -- {path}` "
                                "or re-export the model") from e

    def write(self, path=None):
        """Write the card atomically (to `path`, else where it was read from)."""
        self.path = Path(path or self.path)
        atomic_write_json(self.path, dict(self))

    @staticmethod
    def path_of(folder: Path, version: int | None = None) -> Path:
        """Where a model's card is: `card.v<N>.json` for version N (each version keeps its
        own), `card.json` for the newest (what README links and `zoo describe` show)."""
        return Path(folder) / ("card.json" if version is None else f"card.v{version}.json")

    @classmethod
    def of_version(cls, folder: Path, version: int | None = None) -> "Card":
        """The card of one version (default: the newest); an older export without per-version
        cards has only `card.json`, which is used when it describes that version."""
        if version is None or cls.path_of(folder, version).is_file():
            return cls.read(cls.path_of(folder, version))
        card = cls.read(cls.path_of(folder))
        if card.version != version:
            raise ArtifactError(f"no card for version {version} in {folder} (card.json describes version {card.version})")
        return card

    def write_for_version(self, folder: Path, newest: bool):
        """Write the version's own card, and `card.json` too when it is the newest version."""
        self.write(self.path_of(folder, self.version))
        if newest:
            self.write(self.path_of(folder))

    @property
    def version(self) -> int:
        """The artifact version the card describes."""
        return self["version"]

    @property
    def metrics(self) -> dict:
        """The measured numbers (`zoo evaluate NAME --write-card`), empty before evaluation."""
        return self.get("metrics", {})


def _strict(fn, specs):
    """Check every input's shape at run time. A signature's declared shape is not enforced when
    a SavedModel runs (a (n, 29, 29, 2) batch would flow through the convolutions and give
    garbage), so each input passes `tf.ensure_shape` first and a wrong shape is an error."""

    @functools.wraps(fn)
    def strict(*args):
        return fn(*[tf.ensure_shape(a, spec.shape) for a, spec in zip(args, specs)])

    return strict


def write_saved_model(model, dest: Path, model_name: str | None = None):
    """SavedModel with the model's named signatures, each weight stored once, and TF Serving's
    warm-up requests (`model.serving_examples`).

    The archive is not given `track(model)`: the endpoints capture every variable they use, and
    tracking the model as well stores each weight twice (keras-team/keras#23553).
    """
    archive = keras.export.ExportArchive()
    sigs = model.serving_signatures()
    default = model.serving_default or next(iter(sigs))
    for name in [default] + [n for n in sigs if n != default]:  # the first also becomes serving_default
        fn, spec = sigs[name]
        archive.add_endpoint(name, _strict(fn, spec), input_signature=spec)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        write_warmup(tmp, model_name or dest.parent.name, {s: model.serving_examples(spec) for s, (_, spec) in sigs.items()})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; versions are never overwritten, pick another --version")
    os.replace(tmp, dest)


def signature_table(saved_model_dir: Path) -> dict:
    """{signature: {"inputs": {name: [shape, dtype]}, "outputs": {...}}} read from the SavedModel."""
    loaded = tf.saved_model.load(str(saved_model_dir))
    table = {}
    for name, fn in sorted(loaded.signatures.items()):
        spec_in = fn.structured_input_signature[1]
        spec_out = fn.structured_outputs
        table[name] = {
            "inputs": {k: [list(v.shape.as_list()), v.dtype.name] for k, v in sorted(spec_in.items())},
            "outputs": {k: [list(v.shape.as_list()), v.dtype.name] for k, v in sorted(spec_out.items())},
        }
    return table


def save_picture(model, path: Path, seed: int = 0) -> Path:
    """The model's picture (`model.picture()`) as a PNG."""
    return save_png(model.picture(seed), path, scale=model.picture_scale)


def training_stages(run: Path, entry) -> list[dict]:
    """What trained the model in `run`, oldest first: a run whose recipe has `init_from`
    pointing into another run folder continues that run's training (fine-tuning)."""
    recipe_text = (run / "recipe.toml").read_text()
    recipe = tomllib.loads(recipe_text)
    history = read_json(run / "history.json") if (run / "history.json").exists() else []
    summary = read_json(run / "summary.json") if (run / "summary.json").exists() else {}
    last = history[-1] if history else {}
    stage = {
        "run": str(run), "recipe": recipe_text,
        "command": summary.get("command") or f"zoo train train/{entry.recipe} --out {run}",
        "epochs": len(history) if "epoch" in last else None, "steps": last.get("step"),
        "time_s": last.get("elapsed_s"), "strategy": summary.get("strategy", recipe.get("train", {}).get("strategy")),
        "replicas": summary.get("replicas"), "global_batch": summary.get("global_batch"), "final_log": last or None,
        **{k: summary[k] for k in ("env_steps", "mixed_precision") if k in summary},
    }
    parent = recipe.get("train", {}).get("init_from")
    if parent and (Path(parent).parent / "recipe.toml").is_file():
        return training_stages(Path(parent).parent, entry) + [stage]
    return [stage]


def _training_record(name: str, run: Path, stages: list) -> dict:
    return {
        "command": " && ".join(st["command"] for st in stages),
        "export_command": f"zoo export {name} --run {run}",
        "epochs": sum(st["epochs"] or 0 for st in stages) or None,
        "steps": sum(st["steps"] or 0 for st in stages),
        "time_s": round(sum(st["time_s"] or 0 for st in stages), 1),
        "stages": [{k: v for k, v in st.items() if k != "recipe"} for st in stages],
    }


def load_run_model(name: str, run: Path):
    """The finished model of a run folder, checked to be the registered model's class."""
    entry = get_entry(name)
    if not (run / "model.keras").is_file():
        raise FileNotFoundError(f"{run}/model.keras not found: is the training run finished?")
    model = keras.saving.load_model(run / "model.keras", compile=False)
    if not isinstance(model, entry.model_class):
        raise ValueError(f"{run}/model.keras holds a {type(model).__name__}, but {name!r} is a {entry.model_class.__name__}")
    return model


def export_artifact(name: str, run_dir, version: int | None = None, verbose: bool = True) -> Path:
    """Export a finished run folder's model as version `version` (default: the next) of `name`:
    Keras file, SavedModel, picture and card. Returns the SavedModel folder."""
    entry, run = get_entry(name), Path(run_dir)
    model = load_run_model(name, run)
    folder = entry.artifact_dir
    folder.mkdir(parents=True, exist_ok=True)
    versions = entry.versions()
    version = version or (versions[-1] + 1 if versions else 1)
    if version in versions:
        raise FileExistsError(f"{name} version {version} exists already; versions are never overwritten")
    save_keras_atomic(model, folder / f"{name}.v{version}.keras")
    write_saved_model(model, folder / str(version))
    save_picture(model, folder / "samples.png")

    stages = training_stages(run, entry)
    recipe_text = stages[-1]["recipe"]
    recipe = tomllib.loads(recipe_text)
    entries = version_entries(folder.parent, name, version)  # hashed once: for the card and the index
    old_path = Card.path_of(folder, version)
    old = Card.read(old_path) if old_path.exists() else {}  # a re-export of a version keeps its metrics
    card = Card({
        "name": name,
        "version": version,
        "versions": entry.versions(),
        "task": entry.task,
        "dataset": entry.dataset,
        "description": entry.description,
        "paper": entry.paper,
        "licence": data.licences(entry.dataset),
        "model_class": f"{type(model).__module__}.{type(model).__name__}",
        "config": {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")},
        "parameters": model.num_params(),
        "metrics": old.get("metrics", {}) if old.get("version") == version else {},
        "evaluation": old.get("evaluation", {}) if old.get("version") == version else {},
        "recipe": {"file": f"train/{entry.recipe}", "resolved": recipe_text, "seed": recipe.get("seed"),
                   **({"stages": [st["recipe"] for st in stages]} if len(stages) > 1 else {})},
        "training": _training_record(name, run, stages),
        "data_checksums": data.checksums(entry.dataset) if entry.dataset in data.DATASETS else {},
        "signatures": signature_table(folder / str(version)),
        "serving_default": model.serving_default,
        "files": {rel.split("/", 1)[1]: entries[rel]["sha256"] for rel in sorted(entries)},
        "software": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    card.write_for_version(folder, newest=version == max(entry.versions()))
    if (folder.parent / INDEX).is_file():  # loads check files against the store's index
        add_index_entry(str(folder.parent), name, version, entries)
    else:  # a folder without an index yet gets one for all of this model's versions
        write_index(folder.parent, names=[name])
    if verbose:
        print(f"exported {name} version {version} to {folder}")
    return folder / str(version)


__all__ = ["ArtifactError", "Card", "export_artifact", "load_run_model", "save_picture",
           "signature_table", "training_stages", "update_card_metrics", "write_saved_model"]


def update_card_metrics(name: str, metrics: dict, evaluation: dict, version: int | None = None):
    """Replace the metrics and evaluation record of the card of one version of `name`
    (default: the newest), in its own card and, for the newest, in `card.json`."""
    entry = get_entry(name)
    card = Card.of_version(entry.artifact_dir, version)
    card["metrics"] = metrics
    card["evaluation"] = evaluation
    card.write_for_version(entry.artifact_dir, newest=card.version == max(entry.versions()))
