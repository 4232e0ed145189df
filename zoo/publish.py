"""Publishing a run as a version, in one pass: `zoo publish --run RUN` (`zoo export NAME --run
RUN` is the same pass).

The run folder knows its model (its recipe's `name`). The Keras file and the SavedModel are
written aside; the model is measured from the Keras file a user will load, on the test set of
the data it was trained on, by the family's own `card_metrics` (the full evaluation by default,
the one `zoo evaluate --write-card` makes); the complete card (metrics, evaluation record,
licence, checksums) is written; only then is the version published by one rename. No version
is ever visible without its metrics, and a killed or refused pass leaves none.

No silent regression: each family names its headline metric and direction
(`Family.headline_metric`). A version whose headline is worse than the newest published
version's, both fully evaluated, is refused unless `allow_worse`, which its card records under
`compared_with` (a classifier that judges a dataset is never replaced by one that reads its
test set worse without it).

Example (a reduced evaluation, recorded as such in the card, for a quick look):
    >>> from zoo import publish
    >>> publish.publish_run("runs/vae-mnist", limit=100, samples=10)   # doctest: +SKIP
    PosixPath('.../artifacts/vae-mnist/6')
"""

from __future__ import annotations

from pathlib import Path

import keras

from .artifacts import ArtifactError, Card, export_artifact, run_dataset, run_recipe
from .evaluate import FULL_SAMPLES, check_counts, int8_quality, measured
from .modelcards import write_model_cards
from .models import family_of
from .registry import get_entry


def full_evaluation(card) -> bool:
    """Whether a card's metrics come from a full evaluation (every test item, the full importance
    samples): the only ones two versions are compared by. Cards from before the record said so
    name a `--limit` in their command when they were not."""
    record = card.get("evaluation") or {}
    return bool(record.get("full", bool(record) and "--limit" not in record.get("command", "")))


def comparison(name: str, metrics: dict, full: bool) -> dict | None:
    """How `metrics` compare with the newest published version's, by the family's headline
    metric: {"version", "metric", "direction", "this", "newest_before", "worse"}; None when
    there is nothing to compare (no version yet, a reduced evaluation on either side, no
    headline metric)."""
    entry = get_entry(name)
    versions = entry.versions()
    head = family_of(entry.model_class).headline_metric(metrics)
    if not versions or not full or head is None:
        return None
    before = Card.of_version(entry.artifact_dir, versions[-1])
    key, direction = head
    if not full_evaluation(before) or key not in before.metrics or key not in metrics:
        return None
    new, old = metrics[key], before.metrics[key]
    worse = new > old if direction == "min" else new < old
    return {"version": versions[-1], "metric": key, "direction": direction, "this": new, "newest_before": old,
            "worse": bool(worse)}


def publish_run(run, name: str | None = None, version: int | None = None, allow_worse: bool = False,
                samples: int = FULL_SAMPLES, limit: int | None = None, judge=None, verbose: bool = True) -> Path:
    """Publish run folder `run` as a version of its model, measured, in one pass (see the
    module's docstring). Returns the new version's SavedModel folder.

    Args:
        run: a finished run folder (`zoo train ... --out RUN`).
        name: the model; must be the one the run trained (default: that one).
        version: the version number (default: the next).
        allow_worse: publish even when the headline metric is worse than the newest version's.
        samples, limit: the evaluation's importance samples and test items; anything but the
            full evaluation is recorded as reduced and never compared.
        judge: the `zoo.metrics.Judge` for the families that need one (default: the dataset's).
    """
    run = Path(run)
    trained = str(run_recipe(run).get("name", ""))  # the run names the model it trained
    name = name or trained
    if name != trained:
        raise ArtifactError(f"run {run} trained {trained!r}, not {name!r}: publish it as {trained} "
                            f"(zoo publish --run {run})")
    check_counts(samples=samples, limit=limit)

    def measure(keras_path: Path, card: Card) -> dict:
        model = keras.saving.load_model(keras_path, compile=False)  # what a user will load
        metrics, record = measured(model, name, card["version"], card["dataset"], samples, limit, verbose, judge)
        compared = comparison(name, metrics, record["full"])
        if compared and compared["worse"] and not allow_worse:
            better = "lower" if compared["direction"] == "min" else "higher"
            raise ArtifactError(
                f"{name}: this run's {compared['metric']} is {compared['this']}, worse than version "
                f"{compared['version']}'s {compared['newest_before']} ({better} is better); nothing was published. "
                "Train it further, or publish it anyway with --allow-worse (its card records that)")
        return {"metrics": metrics, "evaluation": record, **({"compared_with": compared} if compared else {})}

    def quality(number: int, folder: Path) -> dict:
        return int8_quality(name, number, folder, run_dataset(run), judge=judge, limit=limit)

    folder = export_artifact(name, run, measure, version=version, verbose=verbose, quality=quality)
    write_model_cards([name])  # the newest version's README.md model card (unchanged when an older one was published)
    return folder


__all__ = ["comparison", "full_evaluation", "publish_run"]
