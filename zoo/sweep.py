"""Sweeps: train one recipe at several values of one key (same seed, same budget) and measure
each run with its family's card metrics, judged by the judge of the recipe's dataset. This is
how the README's λ table for the VAE-GAN is made:

    zoo sweep vaegan-mnist model.adversarial_weight=0,1,10,100 --set epochs=2 --set model.ema=0.99 \\
        --set model.kl_warmup_steps=500 --set judge=false --out runs/lambda --plot docs/images/lambda.png \\
        --plot-y prior_samples_fid_mnist:test_mse_per_pixel

Each value trains into its own run folder under `--out` (so a killed sweep resumes where it
stopped: finished runs are not trained again, measured runs not measured again; a folder
trained with other settings is refused, naming them) and the rows are written to
`<out>/sweep.json` and `<out>/sweep.md`.

Example:
    >>> rows = [{"value": 0.0, "fid": 9.0, "mse": 0.01}, {"value": 10.0, "fid": 2.0, "mse": 0.02}]
    >>> print(table(rows, "λ", ["fid", "mse"]))
    | λ | fid | mse |
    |---|---|---|
    | 0.0 | 9.0 | 0.01 |
    | 10.0 | 2.0 | 0.02 |
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
import tomllib
from pathlib import Path

import keras

from . import recipes, training
from .artifacts import Card
from .evaluate import check_counts, default_judge, evaluate
from .files import atomic_write_bytes, atomic_write_json, atomic_write_text
from .registry import get_entry
from .runs import RunFolderError, build_model, recipe_changes

METRICS_FILE = "sweep_metrics.json"  # in each value's run folder, once it is measured
FOLDER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+=-]{0,127}$")
# Settings that do not change what a run learns: a folder trained with other values of these is reused.
NOT_LEARNED = {"train.judge", "train.checkpoint_every"}


def parse_values(text: str) -> list:
    """`"0,1,10"` -> [0, 1, 10] (each parsed as a recipe value)."""
    values = [recipes.parse_value(v.strip()) for v in text.split(",") if v.strip()]
    if len(values) < 2:
        raise ValueError(f"a sweep needs at least two values, comma-separated, got {text!r}")
    return values


def check_folder(folder: Path, recipe: dict):
    """Refuse a value's folder that holds a run with other settings: its model (and any
    measured row) would be reused under this sweep's settings, which it was not trained with."""
    saved = folder / "recipe.toml"
    if not saved.is_file():
        return
    changes = [c for c in recipe_changes(tomllib.loads(saved.read_text()), recipe) if c.split()[0] not in NOT_LEARNED]
    if changes:
        raise RunFolderError(f"{folder} holds a run trained with other settings ({'; '.join(changes)}); "
                             "run the sweep with its own settings again, or sweep into a new --out")


def run(recipe_name: str, key: str, values: list, out, overrides=(), verbose: int = 1,
        limit: int | None = None) -> list[dict]:
    """Train and measure `recipe_name` with `key` set to each of `values`; one row per value:
    {"value", "run", "train_s", "eval_s", "limit", **metrics}. Every recipe is checked before
    any trains, and so is every value's folder (`check_folder`). `limit`: measure on the first
    `limit` test images only (a quick look; None: all). A recipe with `train.judge = true` is
    scored after every epoch by its dataset's judge, as `zoo train` does."""
    check_counts(limit=limit)
    out, folders = Path(out), [f"{key.split('.')[-1]}={v}" for v in values]
    for v, folder in zip(values, folders):  # each value names a folder under `out`, and must stay one
        if not FOLDER_NAME.match(folder):
            raise ValueError(f"a swept value names its run's folder under {out}: {v!r} cannot (use letters, digits "
                             "and . _ - + = , no / or leading dot)")
    runs = [(v, out / folder, recipes.apply_overrides(recipes.load(recipe_name), [*overrides, f"{key}={v}"]))
            for v, folder in zip(values, folders)]
    for _, folder, recipe in runs:
        check_folder(folder, recipe)
    rows = []
    for value, folder, recipe in runs:
        measured = folder / METRICS_FILE
        row = json.loads(measured.read_text()) if measured.is_file() else None
        if row is not None and row.get("limit") == limit:
            rows.append(row)
            continue
        t0 = time.time()
        if (folder / "model.keras").is_file():  # trained, not yet measured
            model = keras.saving.load_model(folder / "model.keras", compile=False)
        else:
            summary = training.train(recipe, folder, verbose=verbose, command=f"zoo sweep {recipe_name} {key}={value}",
                                     judge=default_judge)
            if not summary["finished"]:
                raise RuntimeError(f"the run for {key}={value} stopped before its end; run the sweep again to resume it")
            model = summary["model"]
        t1 = time.time()
        if verbose:
            print(f"{key}={value}: trained, measuring", file=sys.stderr, flush=True)
        metrics = evaluate(model, limit=limit, verbose=False, dataset=recipe["data"]["dataset"])
        row = {"value": value, "run": str(folder), "train_s": round(t1 - t0, 1), "eval_s": round(time.time() - t1, 1),
               "limit": limit, **metrics}
        atomic_write_json(measured, row)
        rows.append(row)
    return rows


def known_columns(recipe: dict, limit: int | None = None) -> list[str]:
    """The metric names a run of `recipe` can be tabulated by, known before any training: what
    the family measures on an untrained model of the recipe (two test images), and the
    metrics of the entry's published card when it was measured on the same dataset (the ones
    a trained model adds, such as a fitted prior's)."""
    entry = get_entry(recipe["name"])
    model = build_model(entry, recipe)
    model.build()
    names = set(scalar_columns([evaluate(model, limit=2 if limit is None else min(2, limit), verbose=False,
                                         dataset=recipe["data"]["dataset"])]))
    if entry.versions():
        card = Card.of_version(entry.artifact_dir)
        if card.get("dataset", entry.dataset) == recipe["data"]["dataset"]:
            names |= set(scalar_columns([card.metrics])) if card.metrics else set()
    return sorted(names)


def check_columns(recipe: dict, wanted: list[str], limit: int | None = None):
    """Refuse, before anything trains, a column or plotted metric no run of `recipe` has."""
    known = known_columns(recipe, limit)
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ValueError(f"no metric {', '.join(map(repr, unknown))} in a {recipe['name']} run; its metrics: "
                         f"{', '.join(known)}")


def scalar_columns(rows: list[dict]) -> list[str]:
    """The metrics every row has as a single number (not per-class dicts, not bookkeeping)."""
    skip = {"value", "run", "train_s", "eval_s", "limit", "test_images", "samples"}
    return [k for k, v in rows[0].items() if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)
            and all(isinstance(r.get(k), (int, float)) for r in rows)]


def table(rows: list[dict], label: str, columns: list[str]) -> str:
    """A Markdown table: one row per swept value."""
    lines = [f"| {label} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {r['value']} | " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows: list[dict], label: str, left: list[str], right: list[str], path) -> Path:
    """The swept value on x (symmetric-log scale, so 0 has its place), `left` metrics on the
    left axis, `right` metrics on the right one; written as a PNG."""
    import matplotlib  # the plot's own dependency (extra "plot"); the sweep runs without it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [float(r["value"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    twin = ax.twinx() if right else None
    for axis, keys, style in ((ax, left, "o-"), (twin, right, "s--")):
        for i, key in enumerate(keys):
            axis.plot(xs, [r[key] for r in rows], style, color=f"C{i + (len(left) if axis is twin else 0)}", label=key)
        if len(keys) == 1:  # several: the legend names them (a joined label runs off the figure)
            axis.set_ylabel(keys[0])
    positive = [x for x in xs if x > 0]
    ax.set_xscale("symlog", linthresh=min(positive) if positive else 1.0)
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.set_xlabel(label)
    handles = ax.get_legend_handles_labels()
    if twin:
        handles = [a + b for a, b in zip(handles, twin.get_legend_handles_labels())]
    ax.legend(*handles, fontsize=8, loc="upper center")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, png.getvalue())


def write(rows: list[dict], out, label: str, columns: list[str], command: str) -> str:
    """`<out>/sweep.json` (every row, with the command) and `<out>/sweep.md` (the table)."""
    out = Path(out)
    md = table(rows, label, columns) + f"\n\nReproduce: `{command}`\n"
    atomic_write_json(out / "sweep.json", {"command": command, "rows": rows})
    atomic_write_text(out / "sweep.md", md)
    return md


__all__ = ["check_columns", "known_columns", "parse_values", "plot", "run", "scalar_columns", "table", "write"]
