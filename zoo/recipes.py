"""Recipes: training configuration as data (TOML), with `--set key=value` overrides.

A recipe names its registry entry and holds sections `model` (the builder's kwargs), `data`,
`optimizer` and `train`. An override key is dotted (`train.epochs=2`) or bare when the name is
unique across sections (`epochs=2`).

Every key is checked against what reads it: `model` against the model class's constructor,
`optimizer` and the common `train` keys against `COMMON`, and the trainer's own `data` and
`train` keys against what the trainer declared (`register_keys`, called by
`zoo.runs.register_trainer`). An unknown key, a wrong type or a value out of range is a
`RecipeError` naming the key, what it accepts and, for a misspelling, what was meant:

    >>> r = load("vae-mnist")
    >>> r["train"]["epochs"], r["train"]["batch_size"]
    (80, 128)
    >>> apply_overrides(r, ["epoch=2"])
    Traceback (most recent call last):
    ...
    zoo.recipes.RecipeError: --set epoch=2: no recipe key 'epoch'; did you mean 'epochs' (train.epochs)?
    >>> apply_overrides(r, ["batch_size=0"])
    Traceback (most recent call last):
    ...
    zoo.recipes.RecipeError: recipe vae-mnist: train.batch_size = 0 is below its minimum 1 (examples per replica per step)
"""

from __future__ import annotations

import copy
import difflib
import inspect
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .models import family_of
from .registry import get_entry, list_models

SECTIONS = ("model", "data", "optimizer", "train")
TOP_LEVEL = ("name", "seed", "description")
STRATEGIES = ("default", "mirrored", "multi-worker")
PRECISIONS = ("", "float32", "mixed_bfloat16", "mixed_float16")


class RecipeError(ValueError):
    """A recipe or an override that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Key:
    """What one recipe key accepts.

    Args:
        kind: `int`, `float` (an int is taken too), `bool`, `str`, `list`, or `object` (anything).
        default: the value when the recipe leaves the key out (None: absent).
        low, high: inclusive bounds of a number.
        choices: the allowed values of a string.
        optional: whether None (the key left unset) is allowed.
        help: what the key means, shown in errors.
    """

    kind: type = object
    default: object = None
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    optional: bool = False
    help: str = ""
    items: "Key | None" = None  # a list's elements: each checked by this key
    min_items: int = 0

    def check(self, where: str, value):
        """`value` converted to the key's kind (an int for a float key), or a `RecipeError`.
        A number is always finite (NaN and infinity are refused whatever the kind)."""
        about = f" ({self.help})" if self.help else ""
        if value is None:
            if self.optional or self.default is None:
                return None
            raise RecipeError(f"{where} must be set{about}")
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.kind is list and isinstance(value, tuple):
            value = list(value)
        numeric_bool = self.kind in (int, float) and isinstance(value, bool)
        if not isinstance(value, self.kind) or numeric_bool:
            raise RecipeError(f"{where} = {value!r} is not {_a(self.kind)}{about}")
        _check_finite(where, value)
        if isinstance(value, list):
            if len(value) < self.min_items:
                raise RecipeError(f"{where} = {value!r} needs at least {self.min_items} item(s){about}")
            if self.items is not None:
                value = [self.items.check(f"{where}[{i}]", v) for i, v in enumerate(value)]
        if self.choices and value not in self.choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            raise RecipeError(f"{where} = {value!r} is not one of {', '.join(repr(c) for c in self.choices)}"
                              + (f"; did you mean {hint[0]!r}?" if hint else ""))
        if self.low is not None and value < self.low:
            raise RecipeError(f"{where} = {value!r} is below its minimum {_num(self.low)}{about}")
        if self.high is not None and value > self.high:
            raise RecipeError(f"{where} = {value!r} is above its maximum {_num(self.high)}{about}")
        return value


def _check_finite(where: str, value):
    """Refuse NaN and infinity anywhere in a value (a list's items included): they pass every
    comparison with a bound, and training on them fails much later or not at all."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RecipeError(f"{where} = {value!r} is not a finite number")
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(f"{where}[{i}]", v)
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(f"{where}.{k}", v)


def _a(kind: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            list: "a list"}.get(kind, kind.__name__)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


COMMON = {
    "data": {"dataset": Key(str, help="the data the trainer reads")},
    "optimizer": {
        "name": Key(str, "adam", choices=("adam", "adamw", "sgd")),
        "learning_rate": Key(float, 1e-3, low=0.0),
        "scale_learning_rate": Key(bool, False, help="multiply the learning rate by the number of replicas"),
        "schedule": Key(str, "constant", choices=("constant", "cosine")),
        "alpha": Key(float, 0.0, low=0.0, high=1.0, help="the cosine schedule's final fraction of the rate"),
        "hold": Key(float, 0.0, low=0.0, high=0.999,
                    help="the cosine schedule: fraction of the updates at the full rate before the decay starts"),
        "clipnorm": Key(float, None, low=0.0, optional=True, help="clip each gradient to this norm"),
        "beta_1": Key(float, None, low=0.0, high=0.9999, optional=True, help="Adam's first-moment decay"),
        "initial_loss_scale": Key(float, None, low=1.0, optional=True,
                                  help="mixed_float16 only: the dynamic loss scale's start (default 2^15)"),
    },
    "train": {
        "strategy": Key(str, "default", choices=STRATEGIES),
        "batch_size": Key(int, 128, low=1, high=1 << 20, help="examples per replica per step"),
        "mixed_precision": Key(str, "", choices=PRECISIONS),
        "deterministic": Key(bool, False, help="enable TensorFlow's op determinism"),
    },
}
TRAINER_KEYS: dict[str, dict[str, dict[str, Key]]] = {}


def register_keys(trainer: str, **sections: dict):
    """Declare the `data` and `train` keys trainer `trainer` reads beyond `COMMON` (a key it
    redeclares takes its default and range from here)."""
    wrong = set(sections) - {"data", "train"}
    if wrong:
        raise ValueError(f"a trainer declares data and train keys only, not {sorted(wrong)}")
    TRAINER_KEYS[trainer] = {s: dict(sections.get(s, {})) for s in ("data", "train")}


def _inferred_key(default, bounds: dict) -> Key:
    """A model key typed by its constructor default: a number not below 0 when the default is
    not (an int, a float), a non-empty list of whole numbers from 1 for a default such as
    `filters=(32, 64)`; `bounds` (the class's `recipe_bounds` entry) overrides the range."""
    if default is None or default is inspect.Parameter.empty:
        return Key(int if bounds else object, optional=True, **bounds)  # a range is declared for numbers only
    if isinstance(default, (tuple, list)):
        positive = bool(default) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in default)
        items = Key(int, low=1, high=bounds.get("high")) if positive else None
        return Key(list, optional=True, items=items, min_items=int(bounds.get("min_items", 1 if positive else 0)))
    kind = float if isinstance(default, float) else type(default)
    if kind in (int, float) and not isinstance(default, bool):
        return Key(kind, optional=True, **{"low": 0 if default >= 0 else None, **bounds})
    return Key(kind, optional=True)


def model_keys(entry) -> dict[str, Key]:
    """The `model` keys of a registry entry: its class's constructor arguments, typed by their
    defaults (`_inferred_key`), with the ranges its family declares in `recipe_bounds`."""
    keys, declared = {}, {}
    for cls in reversed(family_of(entry.model_class).__mro__):
        declared.update(vars(cls).get("recipe_bounds", {}))
    for cls in entry.model_class.__mro__:  # a constructor passing **kwargs on takes its parent's keys too
        if "__init__" not in vars(cls):
            continue
        if cls.__module__.split(".")[0] == "keras":  # keras.Model's own (name, dtype...) are not recipe keys
            break
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        for p in params:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in keys or p.name == "dataset":
                continue  # a model's dataset comes from [data] (zoo.runs.build_model)
            keys[p.name] = _inferred_key(p.default, dict(declared.get(p.name, {})))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return keys


def schema(name: str) -> dict[str, dict[str, Key]]:
    """Every key a recipe of model `name` may hold, by section."""
    entry = get_entry(name)
    trainer = family_of(entry.model_class).trainer
    if trainer not in TRAINER_KEYS:
        raise RecipeError(f"no trainer {trainer!r} has declared its recipe keys; import the module that registers it")
    own = TRAINER_KEYS[trainer]
    return {"model": model_keys(entry), "optimizer": dict(COMMON["optimizer"]),
            "data": {**COMMON["data"], **own["data"]}, "train": {**COMMON["train"], **own["train"]}}


def _suggest(key: str, keys: dict[str, dict]) -> str:
    """"; did you mean 'x' (section.x)?" for the closest known key, or the section's keys."""
    every = {k: s for s in SECTIONS for k in keys[s]}
    close = difflib.get_close_matches(key, list(every), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r} ({every[close[0]]}.{close[0]})?" if close else ""


class Recipe(dict):
    """A checked recipe, as `validate` returns it. It remembers what was checked, so checking
    it again unchanged costs nothing (`zoo train` checks the recipe it was given once, not
    again in `zoo.training.train`); a recipe edited since is checked again."""

    def fingerprint(self) -> str:
        """What was checked: every value but the `source` file's name."""
        return json.dumps({k: v for k, v in self.items() if k != "source"}, sort_keys=True, default=repr)

    @property
    def checked(self) -> bool:
        """Whether the recipe is what `validate` returned (not edited since)."""
        return getattr(self, "checked_as", None) == self.fingerprint()


def validate(recipe: dict) -> Recipe:
    """A checked copy of `recipe` with its sections' defaults filled in; `RecipeError` on an
    unknown key (with the nearest known one), a wrong type or a value out of range. A `Recipe`
    that `validate` returned, unchanged since, is not checked twice."""
    if isinstance(recipe, Recipe) and recipe.checked:
        return copy.deepcopy(recipe)
    name = recipe.get("name")
    if name not in list_models():
        raise RecipeError(f"recipe {recipe.get('source', '')}: 'name' must be a registered model, got {name!r}")
    keys, out = schema(name), copy.deepcopy(recipe)
    unknown = set(recipe) - set(SECTIONS) - set(TOP_LEVEL) - {"source"}
    if unknown:
        raise RecipeError(f"recipe {name}: unknown top-level keys {sorted(unknown)}; allowed: "
                          f"{', '.join(TOP_LEVEL + SECTIONS)}")
    out["seed"] = Key(int, 0, low=0, high=2**31 - 1).check("seed", recipe.get("seed", 0))
    for section in SECTIONS:
        given = recipe.get(section) or {}
        if not isinstance(given, dict):
            raise RecipeError(f"recipe {name}: [{section}] must be a table of keys, got {given!r}")
        for key in given:
            if key not in keys[section]:
                elsewhere = [s for s in SECTIONS if key in keys[s]]
                hint = (f"; it belongs in [{elsewhere[0]}] ({elsewhere[0]}.{key})" if elsewhere
                        else _suggest(key, keys))
                raise RecipeError(f"recipe {name}: [{section}] has no key {key!r}{hint} "
                                  f"(its keys: {', '.join(sorted(keys[section]))})")
        checked = {}
        for key, spec in keys[section].items():
            value = given.get(key, spec.default)
            if key in given:
                try:
                    checked[key] = spec.check(f"{section}.{key}", value)
                except RecipeError as e:
                    raise RecipeError(f"recipe {name}: {e}") from None
            elif value is not None:
                checked[key] = value
        out[section] = checked
    out = Recipe(out)
    out.checked_as = out.fingerprint()
    return out


def load(name_or_path: str | Path) -> dict:
    """Read a recipe by registry name (`vae-mnist`) or file path, checked, with defaults filled in."""
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
    unknown = set(raw) - set(SECTIONS) - set(TOP_LEVEL)
    if unknown:
        raise RecipeError(f"recipe {p}: unknown top-level keys {sorted(unknown)}; allowed: {', '.join(TOP_LEVEL + SECTIONS)}")
    if raw.get("name") not in list_models():
        raise RecipeError(f"recipe {p}: 'name' must be a registered model, got {raw.get('name')!r}")
    try:
        recipe = validate(raw)
    except RecipeError as e:
        raise RecipeError(f"{e} [in {p}]") from None
    recipe["source"] = str(p)
    return recipe


def parse_value(text: str):
    """A recipe value from its TOML text (`2`, `3e-4`, `[8, 16]`, `true`, `"mnist"`); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # bare strings need no quotes on the command line


def apply_overrides(recipe: dict, overrides: list[str]) -> dict:
    """A checked copy of `recipe` with `key=value` overrides (`epochs=2`, `model.latent_dim=16`) applied."""
    recipe = copy.deepcopy(recipe)
    keys = schema(recipe["name"])
    for item in overrides or []:
        if "=" not in item:
            raise RecipeError(f"--set takes key=value, got {item!r}")
        key, text = (s.strip() for s in item.split("=", 1))
        value = parse_value(text)
        if "." in key:
            section, sub = key.split(".", 1)
            if section not in SECTIONS:
                raise RecipeError(f"--set {key}: unknown section {section!r}; use one of {', '.join(SECTIONS)}")
            recipe.setdefault(section, {})[sub] = value
        elif key == "seed":
            recipe["seed"] = value
        else:
            owners = [s for s in SECTIONS if key in keys[s]]
            if not owners:
                raise RecipeError(f"--set {item}: no recipe key {key!r}{_suggest(key, keys) or ''}"
                                  + ("" if _suggest(key, keys) else f"; write it as section.{key} ({', '.join(SECTIONS)})"
                                     " if the model's constructor takes it"))
            if len(owners) > 1:
                raise RecipeError(f"--set {key}: is in several sections; write it as one of "
                                  f"{', '.join(f'{s}.{key}' for s in owners)}")
            recipe.setdefault(owners[0], {})[key] = value
    source = recipe.get("source")
    recipe = validate(recipe)
    if source:
        recipe["source"] = source
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
