"""The `zoo` command: list, describe, train, evaluate, export, play, readme, serving-config,
pull, verify, index.

    zoo list ['*gan*'] [--task T]            zoo evaluate NAME [--write-card]
    zoo describe NAME                        zoo publish --run RUN  (zoo export NAME --run RUN | --from-version N)
    zoo train NAME|FILE.toml [--set k=v]     zoo play NAME [--gif F | --ansi | --second]
    zoo readme                               zoo serving-config [--labels]
    zoo pull NAME[@N] [--store S]            zoo verify [NAME] [--store S]      zoo index
    zoo push NAME[@N] --to STORE

This is the top layer and the only place (with `zoo.play` and `zoo.demo`) that knows argparse.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from . import (artifacts, evaluate, gallery, hub, modelcards, play, publish, recipes, registry, reporting, runs, serving, store, sweep,
               training)
from .artifacts import ArtifactError
from .rl import alphazero, dqn  # noqa: F401  (register their trainers: `zoo train` runs them)
from .data import DataError
from .recipes import RecipeError
from .registry import UnknownModelError
from .files import FolderBusy
from .layout import VERSION_KEY
from .models import family_of
from .runs import STRATEGIES, RunFolderError, TrainingDiverged


# What a user's input or environment causes; anything else is the zoo's bug and keeps its traceback.
USER_ERRORS = (DataError, RecipeError, UnknownModelError, ArtifactError, TrainingDiverged, RunFolderError,
               FolderBusy, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError)


def _cmd_list(args):
    for name in registry.list_models(args.pattern, task=args.task, dataset=args.dataset):
        e = registry.get_entry(name)
        versions = ",".join(map(str, e.versions())) or "-"
        print(f"{name:20s} {e.task:24s} {e.dataset:14s} v{versions:4s} {e.description}")


def _name_version(text: str) -> tuple[str, int | None]:
    name, at, version = text.partition("@")
    if at and not VERSION_KEY.match(version):
        raise ValueError(f"{text!r}: write a version as NAME@N with N a whole number from 1, e.g. cgan-mnist@1 "
                         "(or NAME alone for the newest)")
    return name, int(version) if version else None


def _cmd_pull(args):
    name, version = _name_version(args.name)
    folder = hub.pull(name, version, store=args.store)
    print(f"{name} version {hub.resolve_version(name, version, store=args.store)}: checked, in {folder / name}")


def _cmd_verify(args):
    report = store.verify_store(args.store or store.default_location(), [args.name] if args.name else None)
    bad = {k: v for k, v in report.items() if v}
    for key, problems in report.items():
        print(f"{key}: {'ok' if not problems else 'CORRUPT'}")
        for p in problems:
            print(f"  {p}")
    if bad:
        raise ArtifactError(f"{len(bad)} of {len(report)} versions failed the check: {', '.join(bad)}")


def _cmd_push(args):
    name, version = _name_version(args.name)
    registry.get_entry(name)
    source = store.Store(str(args.source or registry.artifacts_root()))
    versions = source.versions(name)
    if not versions or (version and version not in versions):
        raise ArtifactError(f"{source.location} has no {args.name} to push (versions there: {versions})")
    version = version or versions[-1]
    written = store.push(name, version, source.location, args.to)
    print(f"pushed {name} version {version} to {args.to}: {len(written) - 1} files, then its index")


def _cmd_index(args):
    print(f"wrote {store.write_index(args.store or registry.artifacts_root())}")


def _cmd_train(args):
    recipe = recipes.apply_overrides(recipes.load(args.recipe), args.set)
    out = args.out or f"runs/{recipe['name']}"
    trainer = runs.get_trainer(family_of(registry.get_entry(recipe["name"]).model_class).trainer)
    limit = {trainer.limit: args.max_steps} if args.max_steps is not None else {}
    summary = training.train(recipe, out, strategy=args.strategy, verbose=0 if args.quiet else 1,
                             command=args.command_line, judge=evaluate.default_judge, **limit)
    if summary["chief"]:
        state = "finished" if summary["finished"] else "stopped (resume by running the same command)"
        if summary["resumed_from"]:
            state += f" (resumed from {summary['resumed_from']})"
        print(f"{state}: {summary['steps']} {summary['unit'].replace('_', ' ')} on {summary['replicas']} replica(s), "
              f"global batch {summary['global_batch']}, {summary['elapsed_s']:.0f} s; run folder {out}")


def _cmd_sweep(args):
    key, _, text = args.setting.partition("=")
    if not text:
        raise ValueError(f"sweep takes KEY=V1,V2,... (e.g. model.adversarial_weight=0,1,10), got {args.setting!r}")
    values = sweep.parse_values(text)
    wanted = [c for c in (args.columns or "").split(",") if c]
    left, _, right = (args.plot_y or "").partition(":")
    left, right = [c for c in left.split(",") if c], [c for c in right.split(",") if c]
    if args.plot_y and not left:
        raise ValueError(f"--plot-y takes LEFT1,LEFT2:RIGHT1 with at least one metric on the left, got {args.plot_y!r}")
    if wanted or left:  # a column no run has is refused now, not after every run was trained and measured
        first = recipes.apply_overrides(recipes.load(args.recipe), [*args.set, f"{key}={text.split(',')[0].strip()}"])
        sweep.check_columns(first, wanted + left + right, args.limit)
    rows = sweep.run(args.recipe, key, values, args.out, args.set, verbose=0 if args.quiet else 1, limit=args.limit)
    columns = wanted or sweep.scalar_columns(rows)
    label = key.split(".")[-1]
    print(sweep.write(rows, args.out, label, columns, args.command_line))
    if args.plot:
        print(f"wrote {sweep.plot(rows, label, left or columns[:1], right, args.plot)}")


def _cmd_describe(args):
    name, version = _name_version(args.name)
    print(reporting.describe(name, requests=args.requests, version=version))


def _cmd_evaluate(args):
    name, version = _name_version(args.name)
    if args.int8:
        if args.run:
            raise ValueError("--int8 measures a published version's ONNX files; drop --run")
        print(json.dumps(evaluate.evaluate_int8(name, version, limit=args.limit, write_card=args.write_card), indent=1))
        return
    metrics, _ = evaluate.evaluate_artifact(name, run=args.run, samples=args.samples, limit=args.limit,
                                            write_card=args.write_card, version=version)
    print(json.dumps(metrics, indent=1))
    if args.write_card:
        print(f"wrote metrics into {args.name}'s card", file=sys.stderr)


def _cmd_export(args):
    if args.from_version is not None:
        artifacts.republish(args.name, args.from_version, args.version, note=args.note or "",
                            quality=lambda number, folder: evaluate.int8_quality(args.name, number, folder))
        modelcards.write_model_cards([args.name])
    else:
        publish.publish_run(args.run, args.name, args.version, allow_worse=args.allow_worse)


def _add_publishing_options(s):
    """What `zoo publish` and `zoo export --run` share (the evaluation is always the full one)."""
    s.add_argument("--version", type=int, default=None, help="version number (default: next free)")
    s.add_argument("--allow-worse", action="store_true",
                   help="publish even if the headline metric is worse than the newest version's (the card says so)")


def _cmd_play(args):
    play.play(args.name, play.PlayOptions(
        gif=args.gif, compare_untrained=args.compare_untrained, ansi=args.ansi, seed=args.seed, size=args.size,
        delay=args.delay, max_steps=args.max_steps, second=args.second, simulations=args.simulations))


def _cmd_gallery(args):
    index = gallery.build(args.out, verbose=True)
    print(f"wrote {index}")
    if args.serve:
        gallery.serve(args.out, args.port)


def _cmd_readme(args):
    print("README.md updated" if reporting.update_readme() else "README.md already current")
    written = modelcards.write_model_cards()
    print(f"model cards updated: {', '.join(str(p) for p in written)}" if written else "model cards already current")


def _cmd_serving_config(args):
    for path in serving.write_configs(registry.artifacts_root(), args.base_path, args.labels):
        print(f"wrote {path}")
    if args.triton:
        configs = serving.write_triton_repository(args.triton, registry.artifacts_root())
        print(f"wrote a Triton model repository in {args.triton}: {len(configs)} ONNX models "
              f"(tritonserver --model-repository={Path(args.triton).resolve()})")
    if args.labels:
        print(f"version labels: start tensorflow_model_server with {serving.LABELS_FLAG} "
              "(it refuses a label on a version that is not loaded yet)")


def _add_sweep_command(sub):
    """`zoo sweep`: one recipe trained and measured at several values of one key."""
    s = sub.add_parser("sweep", help="train a recipe at several values of one key (same seed, same budget) and "
                                      "tabulate each run's card metrics")
    s.add_argument("recipe")
    s.add_argument("setting", metavar="KEY=V1,V2,...", help="e.g. model.adversarial_weight=0,1,10,100")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every run")
    s.add_argument("--out", required=True, help="folder of the runs (one per value) and sweep.json / sweep.md")
    s.add_argument("--limit", type=int, help="measure on the first N test images only (a quick look; default: all)")
    s.add_argument("--columns", help="metrics to tabulate, comma-separated (default: every scalar metric)")
    s.add_argument("--plot", help="write a PNG plot (needs matplotlib: pip install 'zoo[plot]')")
    s.add_argument("--plot-y", help="LEFT1,LEFT2:RIGHT1 metrics on the plot's two y axes (default: the first column)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(fn=_cmd_sweep)


def _add_store_commands(sub):
    """pull, verify, push, index: the commands that move artifacts between stores."""
    s = sub.add_parser("pull", help="download a model version (NAME or NAME@N) into the cache, checked")
    s.add_argument("name")
    s.add_argument("--store", help="a store to try first (folder, http(s)://, gs://...); default ZOO_STORE")
    s.set_defaults(fn=_cmd_pull)

    s = sub.add_parser("verify", help="hash every file of a store against its index (default: ZOO_STORE, else the local artifacts)")
    s.add_argument("name", nargs="?")
    s.add_argument("--store")
    s.set_defaults(fn=_cmd_verify)

    s = sub.add_parser("push", help="publish a version (NAME or NAME@N) to a store: files, then the store's index")
    s.add_argument("name")
    s.add_argument("--to", required=True, help="a folder, file://, gs://, s3://, hdfs://...")
    s.add_argument("--source", help="the local store to publish from (default: the local artifacts)")
    s.set_defaults(fn=_cmd_push)

    s = sub.add_parser("index", help="rebuild a local store's index.json (default: the local artifacts)")
    s.add_argument("--store")
    s.set_defaults(fn=_cmd_index)


def _add_page_commands(sub):
    """`zoo gallery` and `zoo readme`: what people read and try."""
    s = sub.add_parser("gallery", help="write a static site where every model with ONNX forms runs in the browser")
    s.add_argument("out", help="folder to write the site into")
    s.add_argument("--serve", action="store_true", help="then serve it on http://127.0.0.1:PORT for a look")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(fn=_cmd_gallery)

    s = sub.add_parser("readme", help="rewrite README.md's model table and each artifact's README.md model card from the cards")
    s.set_defaults(fn=_cmd_readme)


def parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    p = argparse.ArgumentParser(prog="zoo", description="A model zoo of autoencoders, VAEs, GANs and RL agents.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list registered models (name pattern, task, dataset) with their local versions")
    s.add_argument("pattern", nargs="?", default="*")
    s.add_argument("--task", help="e.g. generation, classification, game-playing")
    s.add_argument("--dataset", help="e.g. mnist, self-play")
    s.set_defaults(fn=_cmd_list)

    _add_store_commands(sub)

    s = sub.add_parser("train", help="train a recipe (registry name or .toml file)")
    s.add_argument("recipe")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value")
    s.add_argument("--strategy", choices=STRATEGIES, default=None)
    s.add_argument("--out", help="run folder (checkpoints, logs, model.keras); resumes if it has checkpoints")
    s.add_argument("--max-steps", type=int, default=None,
                   help="stop after this many of the trainer's steps (optimiser updates, environment steps or "
                        "self-play iterations; the summary names which); resumable")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(fn=_cmd_train)

    _add_sweep_command(sub)

    s = sub.add_parser("describe", help="print a model's card (NAME or NAME@N) and signatures (--requests: REST bodies)")
    s.add_argument("name")
    s.add_argument("--requests", action="store_true", help="ready REST bodies from real example inputs")
    s.set_defaults(fn=_cmd_describe)

    s = sub.add_parser("evaluate", help="recompute a model's metrics from its artifact or a run folder")
    s.add_argument("name")
    s.add_argument("--run", help="evaluate run folder's model.keras instead of the artifact")
    s.add_argument("--samples", type=int, default=1000, help="importance samples per image (VAE NLL)")
    s.add_argument("--limit", type=int, default=None, help="evaluate the first N test images only")
    s.add_argument("--write-card", action="store_true", help="write the metrics into the artifact's card")
    s.add_argument("--int8", action="store_true", help="what the int8 ONNX files cost the headline (card: formats.int8)")
    s.set_defaults(fn=_cmd_evaluate)

    s = sub.add_parser("publish", help="publish a run folder's model as its next version, measured, in one pass")
    s.add_argument("--run", required=True, help="run folder with model.keras and recipe.toml (it names its model)")
    s.add_argument("name", nargs="?", default=None, help="the model (default: the one the run trained)")
    _add_publishing_options(s)
    s.set_defaults(fn=_cmd_export, from_version=None)

    s = sub.add_parser("export", help="zoo publish with the model named; or --from-version: a version's weights again")
    s.add_argument("name")
    source = s.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder with model.keras and recipe.toml")
    source.add_argument("--from-version", type=int, default=None,
                        help="republish this version's weights with the current code's SavedModel (signatures)")
    s.add_argument("--note", help="with --from-version: why, recorded in the card")
    _add_publishing_options(s)
    s.set_defaults(fn=_cmd_export)

    s = sub.add_parser("play", help="watch or play a game-playing model (snake-dqn, alphazero-*): GIF or terminal")
    s.add_argument("name")
    s.add_argument("--gif", help="write a game to this GIF (Snake default snake.gif; board games: network v the reference player)")
    s.add_argument("--compare-untrained", action="store_true", help="untrained and trained agents side by side")
    s.add_argument("--ansi", action="store_true", help="play in the terminal")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--size", type=int, default=20)
    s.add_argument("--delay", type=float, default=0.05, help="seconds between moves with --ansi")
    s.add_argument("--max-steps", type=int, default=3000)
    s.add_argument("--second", action="store_true", help="board games: you move second")
    s.add_argument("--simulations", type=int, default=None, help="board games: searches per network move")
    s.set_defaults(fn=_cmd_play)

    _add_page_commands(sub)

    s = sub.add_parser("serving-config", help="write artifacts/models.config and batching.config for TF Serving")
    s.add_argument("--base-path", default="/models", help="where the artifacts folder is mounted for TF Serving")
    s.add_argument("--labels", action="store_true", help="serve stable and canary versions with labels")
    s.add_argument("--triton", metavar="REPOSITORY", help="also write a Triton Inference Server model repository of "
                   "every ONNX signature there (config.pbtxt per model, <version>/model.onnx)")
    s.set_defaults(fn=_cmd_serving_config)
    return p


def main(argv=None):
    """Run the command line; returns the exit status (2 for a usage or input error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.command_line = shlex.join(["zoo", *argv])  # what a run records: this call's command, not the Python process's
    try:
        args.fn(args)
    except USER_ERRORS as e:  # the user's to fix: the message says how; a traceback would only hide it
        print(f"zoo {args.command}: error: {e}", file=sys.stderr)
        return 2
    except EOFError:
        print(f"zoo {args.command}: input ended", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
