"""Evaluation: the numbers in model cards come from here (`zoo evaluate NAME --write-card`).

Each model family measures its models (`Family.card_metrics`; what it measures on:
`Family.test_set`); this module loads the model, hands its family the judge of its dataset (`cnn-mnist`
for MNIST, `cnn-fashion-mnist` for Fashion-MNIST: `registry.judge_for`) when its family
`needs_judge`, and records the result with the command that reproduces it.

Example:
    >>> from zoo import evaluate
    >>> metrics, record = evaluate.evaluate_artifact("cnn-mnist")
    >>> metrics["test_accuracy"]
    0.996
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import runtime
from .artifacts import ArtifactError, Card, load_run_model, run_dataset, update_card_metrics
from .hub import load
from .layout import PRECISIONS
from .metrics import Judge
from .models import family_of
from .registry import get_entry, judge_for

_JUDGES: dict = {}
FULL_SAMPLES = 1000  # importance samples per image of a full evaluation (the VAE's NLL)


def load_judge(dataset: str = "mnist") -> Judge:
    """The judge of `dataset`: a `Judge` of the classifier `registry.judge_for` names (cnn-mnist
    for MNIST, cnn-fashion-mnist for Fashion-MNIST), loaded from its artifact."""
    name = judge_for(dataset)
    if name is None:
        raise ArtifactError(f"no judge for dataset {dataset!r}: register and export a classifier "
                            "(task \"classification\") trained on it")
    return Judge(load(name))


def default_judge(dataset: str = "mnist"):
    """`load_judge(dataset)` once per process; None, said on stderr, when there is no judge
    or its artifact is unavailable (training then logs no per-epoch scores)."""
    if dataset not in _JUDGES:
        try:
            _JUDGES[dataset] = load_judge(dataset)
        except (ArtifactError, FileNotFoundError, ValueError, OSError) as err:
            print(f"no judge for {dataset}: {err}", file=sys.stderr)
            _JUDGES[dataset] = None
    return _JUDGES[dataset]


def evaluate(model, samples: int = 1000, limit: int | None = None, verbose: bool = True, judge=None,
             dataset: str = "mnist") -> dict:
    """The card's metrics of `model`, measured by the model's own family; `judge` defaults to
    the judge of `dataset` (`registry.judge_for`) for the families that need one."""
    family = family_of(model)
    if family.needs_judge and judge is None:
        judge = load_judge(dataset)
    return family.card_metrics(judge, samples=samples, limit=limit, verbose=verbose)


def check_counts(**counts):
    """Refuse an evaluation size (`samples`, `limit`) that is not a whole number from 1; None
    means "all"."""
    for key, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"--{key} must be a whole number from 1, got {value!r}")


def evaluation_command(name: str, samples: int = FULL_SAMPLES, limit: int | None = None) -> str:
    """The command line that reproduces an evaluation."""
    return f"zoo evaluate {name} --samples {samples}" + (f" --limit {limit}" if limit else "")


def measured(model, name: str, version: int | None, dataset: str, samples: int = FULL_SAMPLES,
             limit: int | None = None, verbose: bool = True, judge=None) -> tuple[dict, dict]:
    """(the card's metrics of `model`, a version of `name` (None: the newest), measured on
    `dataset`; the evaluation record a card keeps: the command that reproduces it, its seconds,
    what it measured on, and whether it was the full evaluation)."""
    t0 = time.time()
    metrics = evaluate(model, samples=samples, limit=limit, verbose=verbose, judge=judge, dataset=dataset)
    record = {"command": evaluation_command(name if version is None else f"{name}@{version}", samples, limit),
              "seconds": round(time.time() - t0, 1),
              "test_set": family_of(model).test_set({**model.get_config(), "dataset": dataset}),
              "full": limit is None and samples >= FULL_SAMPLES}
    return metrics, record


def evaluate_artifact(name: str, run: str | None = None, samples: int = 1000, limit: int | None = None,
                      write_card: bool = False, verbose: bool = True, version: int | None = None) -> tuple[dict, dict]:
    """Evaluate a version (default: the newest) of `name`'s artifact, or a run folder's
    model.keras with `run`; with `write_card`, store the metrics in that version's card.
    Returns (metrics, evaluation record)."""
    if write_card and run:
        raise ValueError("--write-card writes the artifact's card; evaluate the artifact, not --run")
    check_counts(samples=samples, limit=limit)
    reduced = limit is not None or samples < FULL_SAMPLES
    if write_card:  # the card is checked before the evaluation's minutes are spent
        Card.of_version(get_entry(name).artifact_dir, version)
        if reduced:
            raise ValueError(f"a reduced evaluation (--limit {limit}, --samples {samples}) is never written into a card, "
                             f"which holds the full one (every test image, --samples {FULL_SAMPLES}); "
                             "drop --limit and --samples, or drop --write-card to see the estimate")
    entry = get_entry(name)
    if run:  # a run of the entry's class, measured on the data it was trained on
        model, dataset = load_run_model(name, Path(run)), run_dataset(Path(run))
    else:
        model, dataset = load(name, version), entry.dataset  # a version is of its entry's dataset (check_run_for)
    metrics, record = measured(model, name, version, dataset, samples, limit, verbose)
    if write_card:
        update_card_metrics(name, metrics, record, version)
    return metrics, record


def int8_checks(allowed: dict, float32: dict, int8: dict) -> dict:
    """Per headline metric, how much worse int8 is than float32 and what `allowed` (a family's
    `int8_allowed`: {metric prefix: (direction, allowance, "abs" or "rel")}) permits."""
    checks = {}
    for key, before in float32.items():
        rule = next((r for prefix, r in allowed.items() if key.startswith(prefix)), None)
        if rule is None or key not in int8:
            continue
        direction, allowance, how = rule
        worse = (int8[key] - before) if direction == "min" else (before - int8[key])
        permitted = allowance * abs(before) if how == "rel" else allowance
        checks[key] = {"float32": before, "int8": int8[key], "worse_by": round(float(worse), 6),
                       "allowed": round(float(permitted), 6), "within": bool(worse <= permitted + 1e-12)}
    return checks


def int8_quality(name: str, version: int, folder, dataset: str | None = None, judge=None, limit: int | None = None) -> dict:
    """What the int8 forms of version `version` of `name` (its version folder `folder`) cost:
    the family's headline (`Family.runtime_metrics`) measured on the ONNX files at float32 and
    at int8 by ONNX Runtime, the allowance each metric has (`Family.int8_allowed`), and whether
    int8 is recommended (every metric within it). The card's `formats.int8`."""
    family = family_of(get_entry(name).model_class)
    dataset = dataset or get_entry(name).dataset
    if family.needs_judge and judge is None:
        judge = load_judge(dataset)
    t0 = time.time()
    measured = {p: family.runtime_metrics(runtime.load_folder(folder, name, version, p, seed=0), judge=judge, limit=limit)
                for p in PRECISIONS}
    checks = int8_checks(family.int8_allowed, measured["float32"], measured["int8"])
    return {"quality": measured, "checks": checks, "recommended": bool(checks) and all(c["within"] for c in checks.values()),
            "measured_by": "ONNX Runtime, zoo.runtime (Family.runtime_metrics)",
            "command": f"zoo evaluate {name}@{version} --int8" + (f" --limit {limit}" if limit else ""),
            "seconds": round(time.time() - t0, 1), "full": limit is None}


def evaluate_int8(name: str, version: int | None = None, limit: int | None = None, write_card: bool = False) -> dict:
    """`int8_quality` of a published version (default: the newest with ONNX forms), its files
    fetched and checked as `zoo.runtime.load` does; with `write_card` (full evaluations only),
    stored as that version's card's `formats.int8`."""
    if write_card and limit is not None:
        raise ValueError("a reduced evaluation (--limit) is never written into a card; drop --limit or --write-card")
    folder, version = runtime.fetch(name, version)
    result = int8_quality(name, version, folder, limit=limit)
    if write_card:
        entry = get_entry(name)
        card = Card.of_version(entry.artifact_dir, version)
        card["formats"] = {**card.get("formats", {}), "int8": result}
        card.write_for_version(entry.artifact_dir, newest=card.version == max(entry.versions()))
    return result


__all__ = ["check_counts", "evaluate_int8", "int8_checks", "int8_quality", "default_judge", "evaluate", "load_judge", "evaluate_artifact", "evaluation_command",
           "measured"]
