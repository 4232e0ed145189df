"""Artifacts: a run folder's model becomes a versioned artifact, described by its card.

    artifacts/<name>/
        <name>.v<N>.keras      Keras file for zoo.load and fine-tuning
        <N>/                   SavedModel for TF Serving (numeric folder = version)
        card.v<N>.json         version N's metrics, recipe, checksums, signatures, licences
        card.json              a copy of the newest version's card
        samples.png            what the newest version does, at a glance

Every file is written beside its destination and renamed into place, so a crash never leaves
a half artifact; the version folder appears last, in one rename, and a version counts only
once its folder and its card both exist (`ModelEntry.versions`).
The model's family says what it serves (`serving_signatures()`, `serving_examples()`) and
what it looks like (`picture()`); this module writes them for any model.

`export_artifact(name, run, measure)` makes a finished run the next version, with the metrics
`measure` takes from the written Keras file; `zoo.publish.publish_run` (`zoo publish --run
runs/vae`) is that pass with the card's evaluation.

Example:
    >>> from zoo import artifacts
    >>> card = artifacts.Card.read(zoo.get_entry("vae-mnist").artifact_dir / "card.json")
    >>> card.version == zoo.get_entry("vae-mnist").versions()[-1]   # card.json: the newest's
    True
    >>> card["serving_default"], sorted(card["signatures"])[:2]
    ('sample', ['decode', 'encode'])
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import shutil
import tomllib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import data
from .files import atomic_write_bytes, atomic_write_json, folder_lock, read_json, save_keras_atomic, save_png, sha256
from .layout import (INDEX, PICTURE, card_name, keras_file, keras_name, published_versions, version_of_card,
                     version_of_keras)
from .models import family_of
from .models.base import class_path, model_config
from .registry import get_entry
from .formats import write_formats
from .signatures import constant_signatures, signature_table, write_saved_model_aside
from .store import ArtifactError, Store, add_index_entry, write_index


class Card(dict):
    """A model card (`card.json`): a dict of metrics, evaluation, recipe, training, checksums,
    signatures and software versions, with a clear error naming the file when it is unreadable.

    Example:
        >>> card = Card.of_version(zoo.get_entry("cnn-mnist").artifact_dir, 4)  # versions never change
        >>> card.version, card.metrics["test_accuracy"]
        (4, 0.996)
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
        return Path(folder) / card_name(version)

    @classmethod
    def of_version(cls, folder: Path, version: int | None = None) -> "Card":
        """The card of one version (default: the newest); an older export without per-version
        cards has only `card.json`, which is used when it describes that version."""
        if version is None:  # the newest published version's own card (card.json is its copy)
            published = published_versions(folder)
            version = published[-1] if published else None
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


def write_saved_model(model, dest: Path, model_name: str | None = None):
    """SavedModel with the model's named signatures, each weight stored once, and TF Serving's
    warm-up requests (its family's `serving_examples`), written aside and renamed to `dest` whole."""
    publish(write_saved_model_aside(model, Path(dest), model_name), Path(dest))


def publish(aside: Path, dest: Path):
    """Rename a SavedModel written aside into its version folder: the one atomic step that makes
    a version visible to TF Serving (which loads the newest numeric folder) and to the zoo."""
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; versions are never overwritten, pick another --version")
    os.replace(aside, dest)


def save_picture(model, path: Path, seed: int = 0) -> Path:
    """The model's picture (its family's `picture()`) as a PNG."""
    family = family_of(model)
    return save_png(family.picture(seed), path, scale=family.picture_scale)


def _naming_run(command: str, run: Path) -> str:
    """A training command as a card shows it: its `--out` names the run folder as the export
    was given it. A run started from another directory (a second worktree, a scheduler's
    working folder) would otherwise carry that machine's absolute path into a published card."""
    try:
        words = shlex.split(command)
    except ValueError:  # recorded before commands were shell-quoted, and not splittable: shown as recorded
        return command
    for i, word in enumerate(words):
        if word == "--out" and i + 1 < len(words):
            del words[i:i + 2]
            break
        if word.startswith("--out="):
            del words[i]
            break
    return shlex.join([*words, "--out", str(run)])


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
        "command": _naming_run(summary.get("command") or f"zoo train train/{entry.recipe}", run),
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
        "export_command": shlex.join(["zoo", "export", name, "--run", str(run)]),
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


def trained_updates(run: Path) -> int:
    """How many optimiser updates a finished run made, from its summary.json (`updates`; a
    summary written before trainers recorded them counts its steps or iterations, except an
    agent's, whose steps are environment steps); 0 when it has none."""
    summary = read_json(run / "summary.json") if (run / "summary.json").is_file() else {}
    if "updates" in summary:
        return int(summary["updates"] or 0)
    if "env_steps" in summary:  # environment steps say nothing of how many updates were made
        return 0
    return int(summary.get("steps", summary.get("iterations", 0)) or 0)


def run_recipe(run) -> dict:
    """The resolved recipe a run folder was trained with (its `recipe.toml`)."""
    path = Path(run) / "recipe.toml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run} a run folder (zoo train ... --out RUN)?")
    return tomllib.loads(path.read_text())


def run_dataset(run) -> str:
    """The dataset a run folder's model was trained on (its recipe's `data.dataset`)."""
    return run_recipe(run).get("data", {}).get("dataset", "")


def check_run_for(name: str, run: Path):
    """Refuse to publish `run` as a version of `name` when it was trained on another dataset
    than the entry's: the card, the README and, for a classifier, every score it judges would
    say one dataset while the weights learnt another."""
    entry, dataset = get_entry(name), run_dataset(run)
    if dataset != entry.dataset:
        raise ArtifactError(f"run {run} was trained on {dataset!r}, but {name} is the model of {entry.dataset!r}: "
                            f"publish it under a model registered for {dataset!r} (as cnn-fashion-mnist is for "
                            "fashion-mnist), or train on the entry's dataset")


def remove_unpublished(folder: Path, name: str) -> list[str]:
    """Remove what killed exports of `name` left in its artifact folder (call holding the
    folder's lock, so no export is running): Keras files and cards of no published version,
    hidden temporary folders and files (a SavedModel written aside). Returns what was removed."""
    published = set(published_versions(folder))
    removed = []
    for p in sorted(folder.iterdir()):
        if p.is_dir() and p.name.isdigit():
            number = int(p.name)
        else:
            number = version_of_card(p.name) or version_of_keras(name, p.name)
        stale = (number is not None and number not in published) or (p.name.startswith(".") and ".tmp" in p.name)
        if stale:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            removed.append(p.name)
    return removed


def export_artifact(name: str, run_dir, measure, version: int | None = None, verbose: bool = True,
                    quality=None) -> Path:
    """Export a finished run folder's model as version `version` (default: the next) of `name`:
    Keras file, SavedModel with its ONNX and LiteRT forms (`zoo.formats`), card (with the metrics
    `measure` gives), index entry and picture.
    Returns the SavedModel folder. `zoo.publish.publish_run` is the pass users run; it measures
    the model with the card's evaluation.

    Everything is written beside its place first (the Keras file, the SavedModel in a hidden
    folder); then `measure(keras_path, card)` measures the model from the Keras file a user will
    load and returns what the card adds (`metrics`, `evaluation`...), or raises to publish
    nothing; then the complete card is written and the version published by one atomic step,
    the rename of its SavedModel folder, and only then entered in the store's index. No
    version is ever visible without its metrics: a killed or refused export leaves no version
    folder (so neither TF Serving, which loads the newest numeric folder, nor any loader,
    `describe` or `serving-config` sees it), and its leftovers are removed. One export of a
    model runs at a time (the artifact folder's lock)."""
    entry, run = get_entry(name), Path(run_dir)
    model = load_run_model(name, run)
    check_run_for(name, run)
    if trained_updates(run) <= 0:
        raise ArtifactError(f"run {run} made no optimiser update (trained 0 steps): its model is untrained, not a "
                            "version to publish; train it longer (zoo train ... --out RUN) and export again")

    def make_card(version, aside):
        card, entries = _card(name, entry, model, run, version, aside)
        card.update(measure(aside.parent / keras_name(name, version), card))
        return card, entries

    return _publish(name, model, version, verbose, write_keras=lambda path: save_keras_atomic(model, path),
                    make_card=make_card, quality=quality)


def republish(name: str, from_version: int, version: int | None = None, note: str = "",
              verbose: bool = True, quality=None) -> Path:
    """Publish the weights of version `from_version` again as a new version, with the current
    code's SavedModel (its signatures and their input checks): the Keras file is copied byte
    for byte, and the card keeps the old version's training record and metrics (measured on
    these very weights), says where they came from (`republished_from`) and why (`note`)."""
    entry = get_entry(name)
    folder = entry.artifact_dir
    if from_version not in entry.versions():
        raise ArtifactError(f"{name} has no published version {from_version} to republish (versions: {entry.versions()})")
    source = Store(str(folder.parent)).checked(name, from_version, only=[keras_file(name, from_version)])
    source = source / keras_file(name, from_version)
    model = keras.saving.load_model(source, compile=False)
    old = Card.of_version(folder, from_version)

    def make_card(version, aside):
        card, entries = _card_files(name, version, aside)
        fresh = {k: v for k, v in old.items() if k not in ("version", "versions", "signatures", "files", "software",
                                                             "created", "republished_from", "formats")}
        fresh.update(card, versions=sorted(set(entry.versions()) | {version}),
                     republished_from={"version": from_version, "note": note,
                                       "metrics": f"measured on version {from_version}'s weights, which this version "
                                                  "holds unchanged (its Keras file is a byte copy)"})
        return Card(fresh), entries

    return _publish(name, model, version, verbose, write_keras=lambda path: atomic_write_bytes(path, source.read_bytes()),
                    make_card=make_card, quality=quality)


def _publish(name: str, model, version: int | None, verbose: bool, write_keras, make_card, quality=None) -> Path:
    """The steps every new version takes, under the artifact folder's lock (see `export_artifact`).
    `quality(version, folder)`: what the int8 forms in the version's folder (still aside) cost
    the family's headline (`zoo.evaluate.int8_quality`), for the card's `formats.int8`."""
    entry = get_entry(name)
    folder = entry.artifact_dir
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ValueError(f"a version is a whole number from 1 (or None for the next), got {version!r}")
    with folder_lock(folder, f"zoo export {name}"):
        removed = remove_unpublished(folder, name)
        if removed and verbose:
            print(f"removed what an interrupted export left in {folder}: {', '.join(removed)}")
        versions = entry.versions()
        version = version if version is not None else (versions[-1] + 1 if versions else 1)
        if version in versions:
            raise FileExistsError(f"{name} version {version} exists already; versions are never overwritten")
        try:
            write_keras(folder / keras_name(name, version))
            signatures = constant_signatures(model)  # traced once, for the SavedModel and the other formats
            aside = write_saved_model_aside(model, folder / str(version), name, signatures)
            portable = write_formats(model, aside, signatures)
            if quality is not None and portable["onnx"]:
                portable["int8"] = quality(version, aside)
            card, entries = make_card(version, aside)
            card["formats"] = portable
        except BaseException:  # a refused or failed version leaves nothing behind (a killed one: the next export)
            remove_unpublished(folder, name)
            raise
        newest = version >= max(versions, default=0)
        card.write(Card.path_of(folder, version))
        publish(aside, folder / str(version))  # the version exists from here on, complete
        if (folder.parent / INDEX).is_file():  # loads check files against the store's index
            add_index_entry(str(folder.parent), name, version, entries)
        else:  # a folder without an index yet gets one for all of this model's versions
            write_index(folder.parent, names=[name])
        if newest:
            card.write(Card.path_of(folder))
            save_picture(model, folder / PICTURE)
    if verbose:
        print(f"exported {name} version {version} to {folder}")
    return folder / str(version)


def _card_files(name: str, version: int, aside: Path) -> tuple[dict, dict]:
    """The card fields that describe a version's files (checksums, signatures, software), and
    its index entries: each file hashed once, for both."""
    keras_path = aside.parent / keras_name(name, version)
    entries = {keras_file(name, version): {"size": keras_path.stat().st_size, "sha256": sha256(keras_path)}}
    for p in sorted(q for q in aside.rglob("*") if q.is_file()):
        entries[f"{name}/{version}/{p.relative_to(aside).as_posix()}"] = {"size": p.stat().st_size, "sha256": sha256(p)}
    fields = {"version": version, "signatures": signature_table(aside),
              "files": {rel.split("/", 1)[1]: entries[rel]["sha256"] for rel in sorted(entries)},
              "software": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                           "python": platform.python_version()},
              "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    return fields, entries


def _card(name: str, entry, model, run: Path, version: int, aside: Path) -> tuple[Card, dict]:
    """The card of a version whose Keras file is in place and whose SavedModel is still aside,
    and the version's index entries."""
    stages = training_stages(run, entry)
    recipe_text = stages[-1]["recipe"]
    recipe = tomllib.loads(recipe_text)
    dataset = recipe.get("data", {}).get("dataset", entry.dataset)  # what the weights learnt (check_run_for)
    files, entries = _card_files(name, version, aside)
    card = Card({
        "name": name,
        "version": version,
        "versions": sorted(set(entry.versions()) | {version}),
        "task": entry.task,
        "dataset": dataset,
        "description": entry.description,
        "paper": entry.paper,
        "licence": data.licences(dataset),
        "model_class": class_path(model),
        "config": model_config(model),
        "parameters": model.num_params(),
        "metrics": {},
        "evaluation": {},
        "recipe": {"file": f"train/{entry.recipe}", "resolved": recipe_text, "seed": recipe.get("seed"),
                   **({"stages": [st["recipe"] for st in stages]} if len(stages) > 1 else {})},
        "training": _training_record(name, run, stages),
        "data_checksums": data.checksums(dataset) if dataset in data.DATASETS else {},
        "signatures": files["signatures"],
        "serving_default": family_of(model).serving_default,
        "files": files["files"],
        "software": files["software"],
        "created": files["created"],
    })
    return card, entries


__all__ = ["ArtifactError", "Card", "check_run_for", "export_artifact", "load_run_model", "republish", "run_dataset",
           "run_recipe",
           "save_picture", "signature_table", "trained_updates", "training_stages", "update_card_metrics",
           "write_saved_model"]


def update_card_metrics(name: str, metrics: dict, evaluation: dict, version: int | None = None):
    """Replace the metrics and evaluation record of the card of one version of `name`
    (default: the newest), in its own card and, for the newest, in `card.json`."""
    entry = get_entry(name)
    card = Card.of_version(entry.artifact_dir, version)
    card["metrics"] = metrics
    card["evaluation"] = evaluation
    card.write_for_version(entry.artifact_dir, newest=card.version == max(entry.versions()))
