"""Export: a run folder's model becomes a versioned artifact.

    artifacts/<name>/
        <name>.v<N>.keras      Keras file for zoo.load and fine-tuning
        <N>/                   SavedModel for TF Serving (numeric folder = version)
        card.json              metrics, recipe, checksums, versions, signatures
        samples.png            what the model does, at a glance

Every file is written beside its destination and renamed into place, so a crash never leaves
a half artifact; the version folder appears last, and a version counts only once it exists.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil
from pathlib import Path

import numpy as np

from .registry import ROOT, get_entry


def _strict(fn, specs):
    """Check every input's shape at run time. A signature's declared shape is not enforced when
    a SavedModel runs (a (n, 29, 29, 2) batch would flow through the convolutions and give
    garbage), so each input passes `tf.ensure_shape` first and a wrong shape is an error."""
    import functools

    import tensorflow as tf

    @functools.wraps(fn)
    def strict(*args):
        return fn(*[tf.ensure_shape(a, spec.shape) for a, spec in zip(args, specs)])

    return strict


def write_saved_model(model, dest: Path, model_name: str | None = None):
    """SavedModel with the model's named signatures, each weight stored once.

    The archive is not given `track(model)`: the endpoints capture every variable they use, and
    tracking the model as well stores each weight twice (keras-team/keras#23553).
    """
    import keras

    archive = keras.export.ExportArchive()
    sigs = model.serving_signatures()
    default = getattr(model, "serving_default", None) or next(iter(sigs))
    for name in [default] + [n for n in sigs if n != default]:  # the first also becomes serving_default
        fn, spec = sigs[name]
        archive.add_endpoint(name, _strict(fn, spec), input_signature=spec)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        from .serving import write_warmup

        write_warmup(tmp, model_name or dest.parent.name, sigs)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; versions are never overwritten, pick another --version")
    os.replace(tmp, dest)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_checksums(folder: Path, version: int) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and (rel.startswith(f"{version}/") or rel.endswith(f".v{version}.keras")):
            out[rel] = _sha256(p)
    return out


def signature_table(saved_model_dir: Path) -> dict:
    """{signature: {"inputs": {name: [shape, dtype]}, "outputs": {...}}} read from the SavedModel."""
    import tensorflow as tf

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


def _atomic_json(path: Path, obj):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def save_png(grid, path: Path, scale: int = 2):
    """Write a PNG atomically: a (H, W) or (H, W, 1) array in [0, 1], or an (H, W, 3) uint8 image."""
    from PIL import Image

    grid = np.asarray(grid)
    if grid.ndim == 3 and grid.shape[-1] == 3:
        img = Image.fromarray(grid.astype("uint8"))
    else:
        img = Image.fromarray((np.clip(grid[..., 0] if grid.ndim == 3 else grid, 0, 1) * 255).astype("uint8"))
    img = img.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    tmp = path.with_name(f".{path.name}.tmp.png")
    img.save(tmp)
    os.replace(tmp, path)


def tile(rows) -> np.ndarray:
    """Stack rows of images (each (n, 28, 28, 1)) into one grid image."""
    return np.concatenate([np.concatenate(list(np.asarray(r)[..., 0]), axis=1) for r in rows], axis=0)


def picture(model, path: Path, seed: int = 0):
    """A PNG that shows what the model does, at a glance.

    AE/VAE: ten test digits, their reconstructions, three rows decoded from N(0, I) codes and
    (VAE) an interpolation between two test digits. Classifier: the first test digits it gets
    wrong. DCGAN: a 10×10 grid of samples. Conditional GAN: one row per digit 0-9. Snake: the
    board at the end of a greedy game. AlphaZero: the final boards of a game against the
    reference player with the network first (red), then second.
    """
    from . import data
    from .models import ConditionalGAN, DCGAN, DigitClassifier, PolicyValueNet, SnakeQNetwork

    if isinstance(model, PolicyValueNet):  # final boards of two games against the reference player
        from .play import board_game
        from .rl.alphazero import reference_opponent

        game, boards = model.game(), []
        for net_first in (True, False):
            net, ref = model.player(seed=seed), reference_opponent(game, seed=seed)
            final, _ = board_game(game, {1: net, -1: ref} if net_first else {1: ref, -1: net})
            boards.append(np.pad(game.render_rgb(final), ((4, 4), (4, 4), (0, 0))))
        save_png(np.concatenate(boards, axis=1), path, scale=1)
        return
    if isinstance(model, SnakeQNetwork):  # the board at the end of a greedy game, in colour
        from .play import _frames

        save_png(_frames(model, seed, 20, 5000)[0][-1], path, scale=1)
        return
    rng = np.random.default_rng(seed)
    x, y = data.load_arrays("mnist", "test")
    x = x[..., None].astype("float32") / 255.0
    if isinstance(model, ConditionalGAN):
        z = rng.standard_normal((100, model.latent_dim)).astype("float32")
        rows = np.asarray(model.generate(z, np.repeat(np.arange(10), 10))).reshape(10, 10, 28, 28, 1)
    elif isinstance(model, DCGAN):
        z = rng.standard_normal((100, model.latent_dim)).astype("float32")
        rows = np.asarray(model.generate(z)).reshape(10, 10, 28, 28, 1)
    elif isinstance(model, DigitClassifier):
        wrong = np.flatnonzero(np.asarray(model.classify(x)) != y)[:30]
        pad = np.zeros((30 - len(wrong), 28, 28, 1), "float32")
        rows = np.concatenate([x[wrong], pad]).reshape(3, 10, 28, 28, 1)
    else:
        rows = [x[:10], np.asarray(model.reconstruct(x[:10]))]
        z = rng.standard_normal((30, model.latent_dim)).astype("float32")
        rows += list(np.asarray(model.decode(z)).reshape(3, 10, 28, 28, 1))
        if hasattr(model, "interpolate"):
            rows.append(np.asarray(model.interpolate(x[3], x[2], steps=10)))
    save_png(tile(rows), path)


def ae_vs_vae_picture(ae, vae, path: Path, seed: int = 0):
    """Left: a plain AE's decoder fed N(0, I) codes; right: the VAE's. Same codes, 8×8 each."""
    z = np.random.default_rng(seed).standard_normal((64, ae.latent_dim)).astype("float32")
    left = tile(np.asarray(ae.decode(z)).reshape(8, 8, 28, 28, 1))
    right = tile(np.asarray(vae.decode(z[:, : vae.latent_dim])).reshape(8, 8, 28, 28, 1))
    save_png(np.concatenate([left, np.ones((left.shape[0], 8)), right], axis=1), path)


def _stages(run: Path, entry) -> list[dict]:
    """What trained the model in `run`, oldest first: a run whose recipe has `init_from`
    pointing into another run folder continues that run's training (fine-tuning)."""
    import tomllib

    recipe_text = (run / "recipe.toml").read_text()
    recipe = tomllib.loads(recipe_text)
    history = json.loads((run / "history.json").read_text()) if (run / "history.json").exists() else []
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
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
        return _stages(Path(parent).parent, entry) + [stage]
    return [stage]


def export_artifact(name: str, run_dir, version: int | None = None, verbose: bool = True) -> Path:
    import keras
    import tensorflow as tf

    from . import data, models  # noqa: F401
    from .training import save_keras_atomic

    entry = get_entry(name)
    run = Path(run_dir)
    if not (run / "model.keras").is_file():
        raise FileNotFoundError(f"{run}/model.keras not found: is the training run finished?")
    model = keras.saving.load_model(run / "model.keras", compile=False)
    if not isinstance(model, entry.model_class):
        raise ValueError(f"{run}/model.keras holds a {type(model).__name__}, but {name!r} is a {entry.model_class.__name__}")
    folder = entry.artifact_dir
    folder.mkdir(parents=True, exist_ok=True)
    versions = entry.versions()
    version = version or (versions[-1] + 1 if versions else 1)
    if version in versions:
        raise FileExistsError(f"{name} version {version} exists already; versions are never overwritten")
    save_keras_atomic(model, folder / f"{name}.v{version}.keras")
    write_saved_model(model, folder / str(version))
    picture(model, folder / "samples.png")

    stages = _stages(run, entry)
    recipe_text = stages[-1]["recipe"]
    import tomllib

    recipe = tomllib.loads(recipe_text)
    card_path = folder / "card.json"
    old = json.loads(card_path.read_text()) if card_path.exists() else {}
    card = {
        "name": name,
        "version": version,
        "versions": entry.versions(),
        "task": entry.task,
        "dataset": entry.dataset,
        "description": entry.description,
        "paper": entry.paper,
        "model_class": f"{type(model).__module__}.{type(model).__name__}",
        "config": {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")},
        "parameters": model.num_params(),
        "metrics": old.get("metrics", {}) if old.get("version") == version else {},
        "evaluation": old.get("evaluation", {}) if old.get("version") == version else {},
        "recipe": {"file": f"train/{entry.recipe}", "resolved": recipe_text, "seed": recipe.get("seed"),
                   **({"stages": [st["recipe"] for st in stages]} if len(stages) > 1 else {})},
        "training": {
            "command": " && ".join(st["command"] for st in stages),
            "export_command": f"zoo export {name} --run {run}",
            "epochs": sum(st["epochs"] or 0 for st in stages) or None,
            "steps": sum(st["steps"] or 0 for st in stages),
            "time_s": round(sum(st["time_s"] or 0 for st in stages), 1),
            "stages": [{k: v for k, v in st.items() if k != "recipe"} for st in stages],
        },
        "data_checksums": data.checksums(entry.dataset) if entry.dataset in data.DATASETS else {},
        "signatures": signature_table(folder / str(version)),
        "serving_default": getattr(model, "serving_default", None),
        "files": file_checksums(folder, version),
        "software": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    _atomic_json(card_path, card)
    if verbose:
        print(f"exported {name} version {version} to {folder}")
    return folder / str(version)


def update_card_metrics(name: str, metrics: dict, evaluation: dict):
    path = get_entry(name).artifact_dir / "card.json"
    card = json.loads(path.read_text())
    card["metrics"] = metrics
    card["evaluation"] = evaluation
    _atomic_json(path, card)


def describe_text(name: str) -> str:
    from .hub import card as read_card

    entry = get_entry(name)
    lines = [f"{name}: {entry.description}", f"  task: {entry.task}   dataset: {entry.dataset}   paper: {entry.paper}",
             f"  recipe: train/{entry.recipe}   artifact: {entry.artifact_dir}"]
    try:
        c = read_card(name)
    except Exception as e:  # noqa: BLE001  describe still shows the registry entry
        lines.append(f"  no card: {e}")
        return "\n".join(lines)
    lines.append(f"  version {c['version']} (available: {c['versions']}), {c['parameters']:,} parameters, "
                 f"trained {c['training']['epochs']} epochs / {c['training']['steps']} steps in {c['training']['time_s']} s")
    lines.append(f"  reproduce: {c['training']['command']}")
    lines.append("  metrics" + (f" (from: {c['evaluation'].get('command')})" if c.get("evaluation") else "") + ":")
    for k, v in c.get("metrics", {}).items():
        lines.append(f"    {k}: {v}")
    lines.append(f"  signatures (serving_default = {c.get('serving_default')}):")
    for sig, io in c["signatures"].items():
        lines.append(f"    signature_def['{sig}']:")
        for kind in ("inputs", "outputs"):
            for k, (shape, dtype) in io[kind].items():
                shp = "(" + ", ".join("-1" if d is None else str(d) for d in shape) + ")"
                lines.append(f"      {kind[:-1]} {k}: dtype={dtype} shape={shp}")
    from .serving import example_bodies

    lines.append("  REST predict examples (POST http://HOST:8501/v1/models/%s:predict):" % name)
    for sig, bodies in example_bodies(c["signatures"]).items():
        for fmt, body in bodies.items():
            lines.append(f"    curl -d '{body}' -X POST http://localhost:8501/v1/models/{name}:predict   # {sig}, {fmt}")
    return "\n".join(lines)


def main(args):
    export_artifact(args.name, args.run, args.version)


README_START, README_END = "<!-- models:start -->", "<!-- models:end -->"


def _headline(name: str, m: dict) -> str:
    """The numbers a reader wants first, from a card's metrics."""
    if not m:
        return "not evaluated yet"
    if name == "vae-mnist":
        return (f"test NLL **{m['test_nll_nats_is1000']} nats** (IS, 1,000 samples), -ELBO {m['test_neg_elbo_nats']}; "
                f"N(0, I) samples: FID-MNIST {m['prior_samples_fid_mnist']}, MNIST score {m['prior_samples_mnist_score']}, "
                f"confidence {m['prior_samples_mean_confidence']}")
    if name == "ae-mnist":
        return (f"test BCE {m['test_bce_per_pixel']} / MSE {m['test_mse_per_pixel']} per pixel; "
                f"N(0, I) codes: FID-MNIST {m['prior_samples_fid_mnist']}, MNIST score {m['prior_samples_mnist_score']}, "
                f"confidence {m['prior_samples_mean_confidence']}")
    if name == "cnn-mnist":
        return (f"test accuracy **{m['test_accuracy'] * 100:.2f}%**; real-data floor: FID-MNIST "
                f"{m['real_floor_fid_mnist']}, MNIST score {m['real_floor_mnist_score']}")
    if name == "dcgan-mnist":
        return f"FID-MNIST **{m['fid_mnist']}**, MNIST score **{m['mnist_score']}**"
    if name == "cgan-mnist":
        return f"label accuracy **{m['label_accuracy'] * 100:.2f}%**, FID-MNIST {m['fid_mnist']}, MNIST score {m['mnist_score']}"
    if name == "alphazero-tictactoe":
        return (f"v perfect play: **{m['vs_perfect_losses']} losses** ({m['vs_perfect_draws']} draws) in {m['games_each']} "
                f"games; v random: **{m['vs_random_win_rate'] * 100:.0f}% wins**, {m['vs_random_losses']} losses "
                f"({m['simulations_per_move']} simulations/move)")
    if name == "alphazero-connect4":
        return (f"v depth-4 alpha-beta: **{m['vs_alphabeta4_win_rate'] * 100:.0f}% wins** ({m['vs_alphabeta4_draws']} draws, "
                f"{m['vs_alphabeta4_losses']} losses) in {m['games_each']} games; from random two-move openings "
                f"{m['openings_vs_alphabeta4_win_rate'] * 100:.0f}% wins ({m['openings_vs_alphabeta4_losses']} losses); "
                f"v random {m['vs_random_win_rate'] * 100:.0f}% ({m['simulations_per_move']} simulations/move)")
    if name == "snake-dqn":
        return (f"**{m['apples_mean']}** apples/game (median {m['apples_median']}, max {m['apples_max']}) over "
                f"{m['games']} greedy games; untrained {m['untrained_apples_mean']}")
    return ", ".join(f"{k} {v}" for k, v in m.items() if not isinstance(v, dict))


def model_table() -> str:
    """The README's model table, generated from the cards (`zoo readme` writes it)."""
    from .hub import card as read_card
    from .registry import list_models

    rows = ["| model | what | params | measured (see card) |", "|---|---|---|---|"]
    for name in list_models():
        entry = get_entry(name)
        try:
            c = read_card(name)
        except Exception:  # noqa: BLE001  a model without an artifact still gets its row
            rows.append(f"| `{name}` | {entry.description} | | no artifact yet |")
            continue
        rows.append(f"| [`{name}`](artifacts/{name}/card.json) | {entry.description} | {c['parameters']:,} | "
                    f"{_headline(name, c.get('metrics', {}))} |")
    return "\n".join(rows)


def update_readme(path: Path = ROOT / "README.md") -> bool:
    text = path.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} has no {README_START} ... {README_END} block")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{model_table()}\n{README_END}{tail}"
    changed = new != text
    if changed:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(new)
        os.replace(tmp, path)
    return changed
