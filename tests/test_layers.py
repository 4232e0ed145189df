"""The package's architecture, checked: one direction of imports, no private names across
modules, no switches over model families outside `zoo/models/`, every public name documented,
no function of 80 lines or more.

The layer table below is the one place the layers are written down (zoo/__init__.py describes
them in words). A module may import from its own layer or a lower one, never a higher one.
"""

import ast
import inspect
import importlib
import pkgutil
from pathlib import Path

import pytest

import zoo

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zoo"

LAYERS = [
    ["zoo.files", "zoo.layout", "zoo.limits"],                           # 1 helpers, the store layout, call limits
    ["zoo.data", "zoo.metrics", "zoo.registry", "zoo.envs", "zoo.games"],  # 2 data, rules, registry
    ["zoo.models"],                                                      # 3 model families
    ["zoo.recipes", "zoo.runs", "zoo.training", "zoo.rl"],               # 4 training
    ["zoo.serving", "zoo.store", "zoo.signatures", "zoo.formats", "zoo.artifacts", "zoo.hub", "zoo.evaluate", "zoo.reporting",
     "zoo.publish", "zoo.runtime", "zoo.modelcards"],  # 5 stores, signatures and formats, artifacts, loading, reports
    ["zoo.sweep", "zoo.cli", "zoo.play", "zoo.demo", "zoo.gallery", "zoo"],             # 6 entry points
]


def layer_of(module: str) -> int:
    """The layer of a module: that of the longest entry that is the module or a package of it."""
    best, found = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), i
    if found is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")
    return found


def modules():
    """(dotted name, path, parsed tree) of every module in zoo/."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path, ast.parse(path.read_text(), str(path))))
    return out


MODULES = modules()


def imported_modules(name: str, path: Path, node) -> list[str]:
    """The zoo modules an import statement imports (for `from x import y`, x.y when it is a module)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "zoo" or a.name.startswith("zoo.")]
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not (target == "zoo" or target.startswith("zoo.")):
        return []
    out = []
    for a in node.names:
        sub = f"{target}.{a.name}"
        out.append(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                   or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target)
    return out


def test_every_module_is_in_a_layer():
    for name, _, _ in MODULES:
        layer_of(name)


def test_no_module_imports_from_a_higher_layer():
    wrong = []
    for name, path, tree in MODULES:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported_modules(name, path, node):
                    if layer_of(target) > layer_of(name):
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {name} (layer {layer_of(name) + 1}) "
                                     f"imports {target} (layer {layer_of(target) + 1})")
    assert not wrong, "imports from a higher layer:\n" + "\n".join(wrong)


def test_no_function_local_imports_of_zoo_modules():
    local = []
    for name, path, tree in MODULES:
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and imported_modules(name, path, node):
                        local.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not local, "imports of zoo modules inside functions (a hidden cycle?):\n" + "\n".join(local)


def _python_files():
    return [p for p in sorted(PACKAGE.rglob("*.py"))] + sorted((ROOT / "tests").rglob("*.py")) + \
        sorted((ROOT / "benchmarks").rglob("*.py"))


def test_no_private_name_crosses_a_module():
    crossing = []
    for path in _python_files():
        tree = ast.parse(path.read_text())
        zoo_aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                is_zoo = node.level or (node.module or "").startswith("zoo")
                for a in node.names:
                    if is_zoo and a.name.startswith("_"):
                        crossing.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}")
                    if is_zoo:
                        zoo_aliases.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                zoo_aliases |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("zoo")}
        for node in ast.walk(tree):  # module._private, e.g. training._datasets
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in zoo_aliases
                    and inspect.ismodule(_resolve(node.value.id))):
                crossing.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not crossing, "private names used outside their module:\n" + "\n".join(crossing)


def _resolve(alias):
    for candidate in (f"zoo.{alias}", alias):
        try:
            return importlib.import_module(candidate)
        except ImportError:
            continue
    return None


FAMILY_CLASSES = {c.__name__ for c in
                  [zoo.get_entry(n).model_class for n in zoo.list_models()]} | {"ZooModel", "VAE", "AutoEncoder"}
NAMES = set(zoo.list_models()) | set(zoo.games.GAMES)


def test_no_switch_over_model_families_outside_models():
    """Adding a model family must not mean editing central files: no isinstance/issubclass on a
    model class and no comparison with a model's or a game's name outside zoo/models/ (and
    zoo/games/ for game names)."""
    found = []
    for name, path, tree in MODULES:
        if name.startswith("zoo.models"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "issubclass"):
                used = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)} | \
                       {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                if used & FAMILY_CLASSES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Compare) and not name.startswith("zoo.games"):
                consts = {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
                if consts & NAMES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert not found, "switches over model families outside zoo/models/:\n" + "\n".join(found)


def _public_members():
    seen = set()
    for info in pkgutil.walk_packages(zoo.__path__, "zoo."):
        module = importlib.import_module(info.name)
        yield info.name, module
        for attr, obj in vars(module).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != info.name or id(obj) in seen:
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen.add(id(obj))
                yield f"{info.name}.{attr}", obj
                if inspect.isclass(obj):
                    for m, member in vars(obj).items():
                        if not m.startswith("_") and (inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod, property))):
                            yield f"{info.name}.{attr}.{m}", getattr(obj, m)


def test_every_public_module_class_and_function_has_a_docstring():
    missing = [name for name, obj in _public_members() if not (inspect.getdoc(obj) or "").strip()]
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


def test_no_function_is_80_lines_or_longer():
    """In zoo/ and in benchmarks/, which follows zoo's rules."""
    long = []
    bench = [(p.stem, p, ast.parse(p.read_text())) for p in sorted((ROOT / "benchmarks").glob("*.py"))]
    for name, path, tree in MODULES + bench:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n >= 80:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    assert not long, "\n".join(long)


def test_cli_strategies_are_the_trainers():
    from zoo import cli, runs

    choices = next(a.choices for a in cli.parser()._subparsers._group_actions[0].choices["train"]._actions
                   if a.dest == "strategy")
    assert tuple(choices) == runs.STRATEGIES


# What the zoo needs of a family beyond the network: its Family answers these, the model none.
FAMILY_HOOKS = ("serving_signatures", "serving_examples", "serving_default", "serving_input_bounds", "card_metrics",
                "needs_judge", "test_set", "headline", "headline_metric", "picture", "picture_scale", "demo",
                "demo_pictures", "trainer", "recipe_bounds", "noise_dim", "make_optimizers", "health_check",
                "epoch_images", "epoch_scores", "finalize_training", "play_kind")


@pytest.mark.parametrize("name", zoo.list_models())
def test_a_model_family_declares_what_the_layers_above_need(name):
    """Every registered model class has a family beside it that answers the hooks trainer,
    exporter, evaluation, README and play call, without a central table; the model itself
    carries none of them (issue 35, item 6: a model is a model)."""
    from zoo import runs
    from zoo.models import Family, family_of

    cls = zoo.get_entry(name).model_class
    family = family_of(cls)
    assert family is not Family and family.model_class is cls and issubclass(family, Family)
    runs.get_trainer(family.trainer)
    assert family.serving_default and family.test_set({"game": "connect4"})
    for hook in ("serving_signatures", "card_metrics", "picture", "headline"):
        assert getattr(family, hook) is not getattr(Family, hook), f"{family.__name__} inherits the default {hook}"
    assert not [h for h in FAMILY_HOOKS if hasattr(cls, h)], f"{cls.__name__} carries the publisher's tools"


def test_a_family_is_registered_for_a_model_class_only():
    from zoo.models import Family, ZooModel, family_of, register_family

    with pytest.raises(TypeError, match="keras.Model subclass"):
        register_family(dict)
    with pytest.raises(TypeError, match="Family subclass"):
        register_family(ZooModel)(dict)

    class Bare(ZooModel):
        pass

    assert family_of(Bare) is Family  # the defaults, until it registers its own
