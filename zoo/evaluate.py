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

from .artifacts import ArtifactError, Card, load_run_model, run_dataset, update_card_metrics
from .hub import load
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


__all__ = ["check_counts", "default_judge", "evaluate", "load_judge", "evaluate_artifact", "evaluation_command",
           "measured"]
