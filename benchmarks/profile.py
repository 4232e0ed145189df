"""Where a training step's time goes: the zoo's trainer beside the plain `model.fit` baseline
(benchmarks/run.py's), each traced by TensorFlow's profiler over the same number of steps and
summarised with xprof, the TensorBoard profiler's own converter.

    pip install xprof                  # the profiler's converter; not a dependency of the zoo
    python benchmarks/profile.py --recipes cnn-mnist,vae-mnist --steps 60

For each recipe and loop it prints wall-clock per step and the ops' self-time per step,
grouped: the input pipeline (tf.data iterators, on their own threads), the model's compute,
and the optimiser; then the op types that cost most. On two cores whatever the input pipeline
spends is taken from the step. The traces stay in --out for TensorBoard's Profile tab. Every
loop runs in its own fresh process, one at a time (two on two cores slow each other).
"""

from __future__ import annotations

import argparse
import glob
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import run as bench  # benchmarks/run.py: the baseline's model and arrays, the machine stamp

WARMUP = 20  # steps before the trace starts: tracing and the first slow steps are not the loop's


def child_zoo(name, steps, logdir):
    """The zoo's `SupervisedTrainer.train_epoch` on the recipe's pipeline, `steps` updates."""
    import tensorflow as tf

    trainer, train_ds = bench.zoo_trainer(bench._recipe(name))
    trainer.steps_per_epoch = WARMUP
    trainer.train_epoch(0, train_ds, None)
    trainer.steps_per_epoch = steps
    tf.profiler.experimental.start(logdir)
    t0 = time.perf_counter()
    trainer.train_epoch(0, train_ds, None)
    wall = time.perf_counter() - t0
    tf.profiler.experimental.stop()
    return {"wall_s": wall, "steps": steps}


def child_fit(name, steps, logdir):
    """The baseline: the same architecture, float32, `model.fit` on numpy arrays."""
    import tensorflow as tf

    r = bench._recipe(name)
    batch = int(r["train"]["batch_size"])
    model = bench._plain_model(name, r, 10_000)
    arrays = bench._numpy_batches(r, model, n=batch * (WARMUP + steps))
    warm, timed = ([a[: batch * WARMUP] for a in arrays], [a[batch * WARMUP :] for a in arrays])
    as_x = (lambda parts: parts[0] if len(parts) == 1 else tuple(parts))
    model.fit(as_x(warm), batch_size=batch, epochs=1, verbose=0, shuffle=True)
    tf.profiler.experimental.start(logdir)
    t0 = time.perf_counter()
    model.fit(as_x(timed), batch_size=batch, epochs=1, verbose=0, shuffle=True)
    wall = time.perf_counter() - t0
    tf.profiler.experimental.stop()
    return {"wall_s": wall, "steps": steps}


CHILDREN = {"zoo": child_zoo, "fit": child_fit}


def group(op_type: str, op_name: str) -> str:
    """Which part of a training step an op belongs to."""
    if op_type == "Dataset" or op_name.startswith("Iterator::"):
        return "input pipeline"
    if op_type.startswith(("ResourceApply", "Assign")) or "/optimizer/" in op_name or "adam" in op_name.lower():
        return "optimiser"
    return "compute"


def summarise(logdir: str, steps: int) -> dict:
    """Self-time per step (ms) by group and by op type, from the trace's framework op stats."""
    from xprof.convert import raw_to_tool_data

    paths = glob.glob(f"{logdir}/plugins/profile/*/*.xplane.pb")
    data, _ = raw_to_tool_data.xspace_to_tool_data(paths, "framework_op_stats", {})
    table = json.loads(data)[0]
    cols = [c.get("label") or c.get("id") for c in table["cols"]]
    at = {c: i for i, c in enumerate(cols)}
    groups, types = defaultdict(float), defaultdict(float)
    for row in table["rows"]:
        cells = [(c or {}).get("v") for c in row["c"]]
        op_type, op_name = cells[at["Operation Type"]], cells[at["Operation Name"]]
        if op_type == "IDLE":
            continue
        ms = cells[at["Total self-time (us)"]] / 1000 / steps
        groups[group(op_type, op_name)] += ms
        types[op_type] += ms
    top = sorted(types.items(), key=lambda kv: -kv[1])[:10]
    return {"groups": {k: round(v, 2) for k, v in groups.items()}, "top": [(k, round(v, 2)) for k, v in top]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default="cnn-mnist,vae-mnist")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--out", default=None, help="folder for the traces (default: a temporary one)")
    p.add_argument("--child", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.child:
        kind, name, steps, logdir = args.child
        print(json.dumps(CHILDREN[kind](name, int(steps), logdir)))
        return
    out = Path(args.out or tempfile.mkdtemp(prefix="zoo-profile-"))
    print(json.dumps(bench.machine()))
    print("| recipe | loop | ms/step | input pipeline ms | compute ms | optimiser ms | costliest op types (ms/step) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.recipes.split(","):
        for kind in ("fit", "zoo"):
            logdir = out / f"{name}-{kind}"
            timing = bench.child(kind, name, args.steps, logdir, script=__file__)
            if "error" in timing:
                print(f"| {name} | {kind} | error: {timing['error'][:200]} |")
                continue
            s = summarise(str(logdir), timing["steps"])
            g = s["groups"]
            print(f"| {name} | {kind} | {1000 * timing['wall_s'] / timing['steps']:.1f} | {g.get('input pipeline', 0)} "
                  f"| {g.get('compute', 0)} | {g.get('optimiser', 0)} | "
                  + ", ".join(f"{k} {v}" for k, v in s["top"][:6]) + " |", flush=True)
    print(f"\ntraces: {out} (tensorboard --logdir {out}, Profile tab)")


if __name__ == "__main__":
    main()
