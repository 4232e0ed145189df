"""Recipes: training configuration as data (TOML), with `--set key=value` overrides.

A recipe names its registry entry and holds sections `model` (the builder's kwargs), `data`,
`optimizer` and `train`. An override key is dotted (`train.epochs=2`) or bare when the name is
unique across sections (`epochs=2`).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from .registry import get_entry, list_models

SECTIONS = ("model", "data", "optimizer", "train")
DEFAULTS = {
    "seed": 0,
    "model": {},
    "data": {"dataset": "mnist", "binarize": "none", "labels": False},
    "optimizer": {"name": "adam", "learning_rate": 1e-3, "scale_learning_rate": False,
                  "schedule": "constant", "clipnorm": None},
    "train": {"epochs": 10, "batch_size": 128, "strategy": "default", "checkpoint_every": 500,
              "mixed_precision": "", "deterministic": False, "steps_per_epoch": None,
              "eval_batches": None, "init_from": None},
}


class RecipeError(ValueError):
    """A recipe or an override that cannot be used; the message says what to change."""


def _merge(base, extra):
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load(name_or_path: str | Path) -> dict:
    """Read a recipe by registry name (`vae-mnist`) or file path, with defaults filled in."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise RecipeError(f"recipe file {p} does not exist")
    else:
        p = get_entry(str(name_or_path)).recipe_path
    try:
        raw = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"recipe {p} is not valid TOML: {e}") from e
    unknown = set(raw) - set(SECTIONS) - {"name", "seed", "description"}
    if unknown:
        raise RecipeError(f"recipe {p}: unknown top-level keys {sorted(unknown)}; allowed: name, seed, {', '.join(SECTIONS)}")
    if raw.get("name") not in list_models():
        raise RecipeError(f"recipe {p}: 'name' must be a registered model, got {raw.get('name')!r}")
    recipe = _merge(DEFAULTS, raw)
    recipe["source"] = str(p)
    return recipe


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # bare strings need no quotes on the command line


def apply_overrides(recipe: dict, overrides: list[str]) -> dict:
    """A copy of `recipe` with `key=value` overrides (`epochs=2`, `model.latent_dim=16`) applied."""
    recipe = copy.deepcopy(recipe)
    for item in overrides or []:
        if "=" not in item:
            raise RecipeError(f"--set takes key=value, got {item!r}")
        key, text = (s.strip() for s in item.split("=", 1))
        value = _parse_value(text)
        if "." in key:
            section, sub = key.split(".", 1)
            if section not in SECTIONS:
                raise RecipeError(f"--set {key}: unknown section {section!r}; use one of {', '.join(SECTIONS)}")
            recipe[section][sub] = value
        elif key == "seed":
            recipe["seed"] = value
        else:
            owners = [s for s in SECTIONS if key in recipe[s]]
            if len(owners) != 1:
                what = "is in several sections" if owners else "is in no section"
                raise RecipeError(f"--set {key}: {what}; write it as section.{key} ({', '.join(SECTIONS)})")
            recipe[owners[0]][key] = value
    return recipe


def dumps(recipe: dict) -> str:
    """TOML text of a resolved recipe (None values left out), for run folders and cards."""

    def fmt(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(v)

    lines = [f"{k} = {fmt(recipe[k])}" for k in ("name", "seed") if k in recipe]
    for s in SECTIONS:
        lines.append(f"\n[{s}]")
        lines += [f"{k} = {fmt(v)}" for k, v in recipe[s].items() if v is not None]
    return "\n".join(lines) + "\n"
