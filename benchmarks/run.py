"""The zoo's benchmark suite: what users wait for, beside a plain baseline, in one table.

    python benchmarks/run.py                    # everything; writes BENCHMARKS.md
    python benchmarks/run.py --parts train,load --quick

Parts (each figure is measured in a fresh process: own TensorFlow runtime, own peak memory):
- train: steady-state training samples/s and peak resident memory of every image recipe,
  through the zoo's trainer (recipe as published: tf.data from uint8, its dtype policy) and
  through the *plain baseline*: the same architecture, float32, `model.fit` on numpy arrays
  (no tf.data, no XLA, no mixed precision), same batch size and optimiser. Levers are measured
  one at a time on the zoo's trainer (float32 vs bfloat16, XLA) so each is kept on evidence.
- threshold: training time (the trainer's clock, evaluation excluded) until a quality
  threshold: classifier test accuracy 99%, VAE test -ELBO, cGAN label accuracy 95%, Snake mean
  score 20; zoo recipe against the plain baseline, each with a time budget.
- serving: latency p50/p99 at batch 1 and throughput at batch 1,024 for every SavedModel
  signature (loaded with `tf.saved_model.load`, no zoo import), beside the same function run
  eagerly on the Keras model.
- peers: the published Keras examples a user would pick instead (benchmarks/peers.py), trained
  as published and scored by the zoo's yardstick; then the zoo's recipe timed to that quality.
- load: `zoo.load` cold (first load in a fresh process) and warm (again, same process), beside
  `keras.saving.load_model` of the same file.
- runtimes: every signature's ONNX form run by ONNX Runtime (its default threads, and one
  thread) and its LiteRT form by LiteRT, at batch 1 and 1,024, in a process without TensorFlow,
  beside the serving part's SavedModel through Session::Run with one thread per op (the
  fastest TF Serving setting at batch 1) when both parts ran together; the int8 forms' batch-1
  latency; and `zoo.runtime`'s method calls against a bare `InferenceSession.run` of the same
  file (interleaved calls, batch 1), in a process without TensorFlow.
Speed is measured here, never in tests.

A full run takes hours on a slow host. The raw results (--json) are written after every part,
so a killed run keeps the parts it finished: carry on with `--merge` that file and `--parts`
the ones left; each part's table says where and when it was measured. `--recipes` with
`--merge` measures those rows again and keeps the others, each stamped with its own run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ONLY: set = set()  # --recipes: measure only these


def _measured(name: str) -> bool:
    """Whether this run measures `name`'s rows (all of them without --recipes)."""
    return not ONLY or name in ONLY


IMAGE_RECIPES = ["ae-mnist", "vae-mnist", "cnn-mnist", "dcgan-mnist", "cgan-mnist"]
THRESHOLDS = {  # name: (metric, target, direction); a peer's final quality replaces the target (part peers)
    "cnn-mnist": ("test_accuracy", 0.99, "max"),
    "vae-mnist": ("test_neg_elbo_nats", 110.0, "min"),
    "cgan-mnist": ("label_accuracy", 0.95, "max"),
    "snake-dqn": ("mean_score", 20.0, "max"),
}


# --- helpers --------------------------------------------------------------------------------
def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(*args, timeout=1800, script=__file__) -> dict:
    """Run one measurement in a fresh process (`script --child *args`; this file unless another
    benchmark script is named); its last stdout line is JSON."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    p = subprocess.run([sys.executable, str(Path(script).resolve()), "--child", *map(str, args)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def machine() -> dict:
    import keras
    import tensorflow as tf

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    mem = next((int(ln.split()[1]) // 1024 // 1024 for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)
    words = set(flags.split())
    # Two hosts both called "AMD EPYC" differed 4x in training speed (AVX-512 with bf16 against
    # AVX2 only), and dcgan's serving time is one 25.7 MB weight read: vectors and L3 say which.
    vector = next((name for flag, name in (("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX-512"),
                                          ("avx2", "AVX2")) if flag in words), "no AVX2")
    l3 = Path("/sys/devices/system/cpu/cpu0/cache/index3/size")
    l3_text = l3.read_text().strip() if l3.exists() else "?"  # the kernel writes e.g. 32768K
    return {"cpu": cpu, "vector": vector, "l3": f"{int(l3_text[:-1]) // 1024} MiB" if l3_text.endswith("K") else l3_text,
            "cores": os.cpu_count(), "memory_gib": mem, "amx_bf16": "amx_bf16" in words,
            "gpus": len(tf.config.list_physical_devices("GPU")), "tensorflow": tf.__version__,
            "keras": keras.__version__, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _recipe(name, overrides=()):
    from zoo import recipes

    return recipes.apply_overrides(recipes.load(name), list(overrides))


def _numpy_batches(recipe, model, n=None, seed=0):
    """The plain baseline's inputs: whole arrays in memory, float32, as `model.fit` takes them."""
    from zoo import data
    from zoo.models import family_of

    d = recipe["data"]
    x, y = data.load_arrays(d["dataset"], "train")
    x = x[:n, ..., None].astype("float32") / 255.0
    y = y[:n].astype("int32")
    rng = np.random.default_rng(seed)
    if d.get("binarize") == "dynamic":  # a fixed binarisation: no per-visit resampling in the baseline
        x = (rng.random(x.shape) < x).astype("float32")
    parts = [x]
    if d.get("labels"):
        parts.append(y)
    if d.get("noise"):
        parts.append(rng.standard_normal((len(x), family_of(model).noise_dim())).astype("float32"))
    return parts


def _plain_model(name, recipe, steps_total):
    """Same architecture, float32, compiled for `fit` without XLA."""
    import keras

    from zoo.models import family_of
    from zoo.registry import get_entry
    from zoo.training import make_optimizer

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(int(recipe["seed"]))
    model = get_entry(name).build(**recipe["model"])
    model.build((None, 28, 28, 1))
    family_of(model).make_optimizers(lambda **kw: make_optimizer(recipe["optimizer"], 1, steps_total, **kw))
    model.jit_compile = False
    return model


class _Clock:
    """Keras callback: times batches `skip`.. end (steady state) and whole epochs."""

    def __init__(self, skip):
        import keras

        outer = self

        class CB(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                outer.seen += 1
                if outer.seen == outer.skip:
                    outer.t0 = time.perf_counter()
                outer.t1 = time.perf_counter()

        self.skip, self.seen, self.t0, self.t1, self.callback = skip, 0, None, None, CB()


# --- children: one measurement each -----------------------------------------------------------
def child_fit_throughput(name, steps):
    steps = int(steps)
    r = _recipe(name)
    batch = int(r["train"]["batch_size"])
    model = _plain_model(name, r, 10_000)
    arrays = _numpy_batches(r, model, n=batch * (steps + 10))
    clock = _Clock(skip=10)
    model.fit(arrays[0] if len(arrays) == 1 else tuple(arrays), batch_size=batch, epochs=1, verbose=0,
              shuffle=True, callbacks=[clock.callback])
    n = clock.seen - clock.skip
    return {"samples_per_s": round(n * batch / (clock.t1 - clock.t0), 1), "peak_mb": peak_mb(), "steps": n}


WARMUP = 20  # the trainer's first log point: tracing and the first slow steps are not timed


def zoo_trainer(r, *overrides):
    """The zoo's `SupervisedTrainer` for one epoch of recipe `r` (no checkpoints, no judge) in
    a fresh folder, and that epoch's training pipeline: what the benchmarks time and profile."""
    from zoo import recipes, training

    r = recipes.validate(recipes.apply_overrides(r, ["epochs=1", "checkpoint_every=0", "judge=false", *overrides]))
    trainer = training.SupervisedTrainer(r, tempfile.mkdtemp(), verbose=0)
    return trainer, training.make_datasets(r, trainer.model, trainer.run.global_batch, 0)[0]


def _trainer_throughput(r, steps):
    """The zoo's own loop (`SupervisedTrainer.train_epoch`: its pipeline, its steps per call,
    its metric reads), timed between its first and last log points of one epoch."""
    per_pass = 60000 // int(r["train"]["batch_size"])
    trainer, train_ds = zoo_trainer(r, f"steps_per_epoch={min(WARMUP + steps, per_pass)}")
    stamps, read = [], trainer.read_metrics

    def read_and_stamp():  # called at every log point, after the steps before it have run
        values = read()
        stamps.append(time.perf_counter())
        return values

    trainer.read_metrics = read_and_stamp
    trainer.train_epoch(0, train_ds, None)
    timed = trainer.steps_per_epoch - WARMUP
    return {"samples_per_s": round(timed * trainer.run.global_batch / (stamps[-1] - stamps[0]), 1),
            "peak_mb": peak_mb(), "steps": timed}


def child_zoo_throughput(name, steps, variant="recipe"):
    """The zoo trainer's steady-state speed. variant: recipe | float32 | mixed_bfloat16 | bf16_x4
    (bfloat16 and 4x the batch), each through the trainer itself; xla | ceiling: the recipe's
    step alone (`strategy.run(model.train_step)`, one call per step), jit-compiled, or stepping
    over one batch held in memory in bf16 at 4x the batch (no input pipeline at all, so no data
    lever can beat it)."""
    import tensorflow as tf

    from zoo import runs, training
    from zoo.models import family_of

    steps = int(steps)
    over = [f"mixed_precision={variant}"] if variant in ("float32", "mixed_bfloat16") else []
    if variant in ("bf16_x4", "ceiling"):
        over = ["mixed_precision=mixed_bfloat16", f"batch_size={4 * int(_recipe(name)['train']['batch_size'])}"]
    r = _recipe(name, over)
    if variant not in ("xla", "ceiling"):
        return _trainer_throughput(r, steps)
    batch = int(r["train"]["batch_size"])
    run = runs.Run(r, tempfile.mkdtemp())
    strat = run.strategy
    with strat.scope():
        model = run.build_model()
        family_of(model).make_optimizers(lambda **kw: runs.make_optimizer(r["optimizer"], 1, 10_000, **kw))
    train_ds, _ = training.make_datasets(r, model, batch, 0)
    step = tf.function(lambda b: strat.run(model.train_step, args=(b,)), jit_compile=variant == "xla")
    it = iter(strat.experimental_distribute_dataset(train_ds.repeat()))
    if variant == "ceiling":
        held = next(it)
        it = iter(lambda: held, None)
    for _ in range(10):
        out = step(next(it))
    float(next(iter(out.values())))
    t0 = time.perf_counter()
    for _ in range(steps):
        out = step(next(it))
    float(next(iter(out.values())))  # wait for the last step
    dt = time.perf_counter() - t0
    return {"samples_per_s": round(steps * batch / dt, 1), "peak_mb": peak_mb(), "steps": steps}


def child_pair_throughput(name, steps, rounds, variant="recipe"):
    """The zoo's trainer against the plain baseline in one process, blocks of `steps` updates
    alternating A B C C B A ... for `rounds` rounds after an untimed warm-up round: a shared-host
    drift or a noisy neighbour then lands on all, where fresh processes differed by ±30%.
    C, *step alone*: the trainer's own step function over one batch held in memory, with no
    input pipeline and no reads between steps, so no pipeline or loop lever can beat it.
    variant: recipe (its own precision) | float32. Returns medians and the median ratios."""
    steps, rounds = int(steps), int(rounds)
    r = _recipe(name, ["mixed_precision=float32"] if variant == "float32" else [])
    batch = int(r["train"]["batch_size"])
    if WARMUP + steps > 60000 // batch:
        raise ValueError(f"{WARMUP} + {steps} steps exceed one pass over the training set at batch {batch}")
    base = _plain_model(name, _recipe(name), 10_000)
    arrays = _numpy_batches(_recipe(name), base, n=batch * (steps + 5))
    arrays = arrays[0] if len(arrays) == 1 else tuple(arrays)
    trainer, train_ds = zoo_trainer(r, f"steps_per_epoch={WARMUP + steps}")
    stamps, read = [], trainer.read_metrics
    held = next(iter(trainer.run.strategy.experimental_distribute_dataset(train_ds)))

    def read_and_stamp():
        values = read()
        stamps.append(time.perf_counter())
        return values

    trainer.read_metrics = read_and_stamp

    def fit_block():
        clock = _Clock(skip=5)
        base.fit(arrays, batch_size=batch, epochs=1, verbose=0, shuffle=True, callbacks=[clock.callback])
        return (clock.seen - clock.skip) * batch / (clock.t1 - clock.t0)

    def zoo_block():
        stamps.clear()
        trainer.train_epoch(0, train_ds, None)
        return steps * trainer.run.global_batch / (stamps[-1] - stamps[0])

    def alone_block():
        trainer.train_step(held)
        read()  # waits for the step
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(held)
        read()
        return steps * trainer.run.global_batch / (time.perf_counter() - t0)

    blocks = {"fit": fit_block, "zoo": zoo_block, "alone": alone_block}
    for block in blocks.values():  # tracing, first allocations
        block()
    got = {k: [] for k in blocks}
    for i in range(rounds):  # forwards, then backwards: whichever runs first in a round does not always gain
        for k in (list(blocks) if i % 2 == 0 else list(blocks)[::-1]):
            got[k].append(blocks[k]())
    out = {"baseline_per_s": round(float(np.median(got["fit"])), 1), "rounds": rounds, "steps": steps}
    for k, prefix in (("zoo", ""), ("alone", "alone_")):
        ratios = [z / f for f, z in zip(got["fit"], got[k])]
        out.update({f"{k}_per_s": round(float(np.median(got[k])), 1), f"{prefix}ratio": round(float(np.median(ratios)), 3),
                    f"{prefix}ratio_min": round(min(ratios), 3), f"{prefix}ratio_max": round(max(ratios), 3)})
    return out


def _metric(name, model):
    """The threshold metric of a model (quick forms: fixed subsets, fixed seeds)."""
    from zoo import data, evaluate
    from zoo.models import family_of
    from zoo.envs import evaluate_policy

    if name == "cnn-mnist":
        x, y = data.load_arrays("mnist", "test")
        pred = np.concatenate([np.asarray(model.classify(x[i:i + 2000, ..., None].astype("float32") / 255.0))
                               for i in range(0, len(x), 2000)])
        return float((pred == y).mean())
    if name == "vae-mnist":
        x = data.binarized_test_images("mnist", seed=0)
        terms = [model.loss_terms(x[i:i + 2000], training=False) for i in range(0, len(x), 2000)]
        return float(np.mean(np.concatenate([np.asarray(t["reconstruction"] + t["kl"]) for t in terms])))
    if name == "cgan-mnist":
        return family_of(model).card_metrics(evaluate.default_judge(), per_label=100)["label_accuracy"]
    if name == "snake-dqn":
        return evaluate_policy(model.greedy_policy(), games=20)["mean"]
    raise ValueError(name)


def _reached(name, value, target=None):
    _, default, direction = THRESHOLDS[name]
    target = default if target is None else target
    return value >= target if direction == "max" else value <= target


def child_zoo_threshold(name, budget, chunk, out, target="", *overrides):
    """The recipe through its trainer until the threshold (THRESHOLDS', or `target`: a peer's
    final quality), looking every `chunk` steps; the looks are off the training clock."""
    from zoo import recipes, registry, runs, training
    from zoo.models import family_of

    budget, chunk, target = float(budget), int(chunk), float(target) if target else None
    r = _recipe(name, (["judge=false"] if name in ("dcgan-mnist", "cgan-mnist") else []) + list(overrides))
    trainer, trace = runs.get_trainer(family_of(registry.get_entry(name).model_class).trainer), []

    def look(model, elapsed):
        value = _metric(name, model)
        trace.append((round(elapsed, 1), round(value, 4)))
        return _reached(name, value, target) or elapsed > budget

    if trainer.name == "supervised":  # one run, watched: traced once, its pipeline never rebuilt to look
        supervised = training.SupervisedTrainer(recipes.validate(r), out, verbose=0)
        s = supervised.fit(watch=(chunk, lambda model: look(model, supervised.run.elapsed_s())))
        if s["finished"] and not (trace and _reached(name, trace[-1][1], target)):
            look(s["model"], s["elapsed_s"])
    else:  # the RL trainers: chunk by chunk, resuming
        while True:
            s = training.train(r, out, verbose=0, **{trainer.limit: chunk})
            if look(s["model"], s["elapsed_s"]) or s["finished"]:
                break
    reached = _reached(name, trace[-1][1], target)
    return {"seconds": trace[-1][0] if reached else None, "trace": trace, "steps": s["steps"], "peak_mb": peak_mb()}


def child_peer(kind, quick=""):
    """A published Keras example trained as published (benchmarks/peers.py) and scored by the
    zoo's yardstick; `quick`: one epoch, a smoke run."""
    import peers

    if quick:
        peers.EPOCHS[kind] = 1
    out = peers.train(kind)
    return {**out, "seconds": round(out["seconds"], 1), "peak_mb": peak_mb()}


def child_fit_threshold(name, budget):
    """The plain baseline, one epoch at a time, until the threshold (evaluation not timed)."""
    r = _recipe(name)
    batch, epochs = int(r["train"]["batch_size"]), int(r["train"].get("epochs", 10))
    steps_per_epoch = 60000 // batch
    model = _plain_model(name, r, epochs * steps_per_epoch)
    trained, trace = 0.0, []
    for epoch in range(epochs):
        arrays = _numpy_batches(r, model, seed=epoch)
        t0 = time.perf_counter()
        model.fit(arrays[0] if len(arrays) == 1 else tuple(arrays), batch_size=batch, epochs=1, verbose=0,
                  shuffle=True)
        trained += time.perf_counter() - t0
        value = _metric(name, model)
        trace.append((round(trained, 1), round(value, 4)))
        if _reached(name, value) or trained > float(budget):
            break
    return {"seconds": round(trained, 1) if _reached(name, value) else None, "trace": trace, "peak_mb": peak_mb()}


def child_serving(name, calls, folder, threads_per_op=""):
    """Latency and throughput of every signature of the newest SavedModel, without zoo.
    threads_per_op "1": the process runs each op on one thread, as TF Serving does when started
    with `--tensorflow_intra_op_parallelism=1` (the pool is the process's, fixed before
    TensorFlow makes its CPU device, hence a process of its own)."""
    import tensorflow as tf

    if threads_per_op:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads_per_op))
    calls, folder = int(calls), Path(folder)
    sm = tf.saved_model.load(str(folder))
    inputs = np.load(folder.parent / ".bench_inputs.npz")
    out = {}
    for sig in sorted({k.split(":")[0] for k in inputs.files}):
        fn = sm.signatures[sig]
        one = {k.split(":")[1]: tf.constant(inputs[k][:1]) for k in inputs.files if k.startswith(sig + ":")}
        big = {k.split(":")[1]: tf.constant(inputs[k]) for k in inputs.files if k.startswith(sig + ":")}
        out[sig] = _latency(lambda: fn(**one), lambda: fn(**big), calls, len(next(iter(big.values()))))
        out[sig]["session"] = _session_latency(folder, sig, one, big, fn(**one), calls, int(threads_per_op or 0))
    assert "zoo" not in sys.modules, "the serving measurement must not import zoo"
    return out


def _session_latency(folder, sig, one, big, expected, calls, threads_per_op=0):
    """The path TF Serving's Predict takes (servables/tensorflow/predict_util.cc: the SavedModel's
    MetaGraph in a Session, `session->Run` of the signature's input and output tensor names), here
    through a Session callable: no per-call Python argument handling or eager dispatch. Checked to
    compute what the signature does."""
    import tensorflow as tf

    graph = tf.Graph()
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads_per_op)
    with graph.as_default(), tf.compat.v1.Session(graph=graph, config=config) as session:
        signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(folder)).signature_def[sig]
        names, outs = sorted(one), sorted(signature.outputs)
        run = session.make_callable([signature.outputs[o].name for o in outs], [signature.inputs[k].name for k in names])
        ones, bigs = [one[k].numpy() for k in names], [big[k].numpy() for k in names]
        for o, got in zip(outs, run(*ones)):
            if not np.allclose(got, expected[o].numpy(), atol=1e-5):
                raise AssertionError(f"{folder} {sig}: Session::Run's {o} differs from the signature's")
        return _latency(lambda: run(*ones), lambda: run(*bigs), calls, len(bigs[0]))


def _latency(call_one, call_big, calls, big_n):
    for _ in range(20):
        call_one()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call_one()
        times.append(time.perf_counter() - t0)
    call_big()
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        call_big()
    big_dt = (time.perf_counter() - t0) / reps
    q = np.percentile(np.array(times) * 1000, [50, 99])
    return {"p50_ms": round(float(q[0]), 3), "p99_ms": round(float(q[1]), 3),
            "batch_per_s": round(big_n / big_dt, 1)}


def child_runtimes(name, calls, folder):
    """Latency and throughput of every converted signature (`zoo.formats`' files in `folder`)
    in ONNX Runtime (default threads; one thread) and LiteRT, on the bench inputs; no TensorFlow."""
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    calls, folder = int(calls), Path(folder)
    record = json.loads((folder / "formats.json").read_text())
    inputs = np.load(folder / "inputs.npz")
    litert = Interpreter(model_path=str(folder / record["litert"]["file"])) if record["litert"] else None
    litert8 = Interpreter(model_path=str(folder / record["litert"]["int8"])) if record["litert"] else None
    out = {}
    for sig, onnx_model in record["onnx"]["signatures"].items():
        big = {k: inputs[f"{sig}:{k}"] for k in onnx_model["inputs"]}
        one = {k: v[:1] for k, v in big.items()}
        n = len(next(iter(big.values())))
        row = {}
        for label, threads in (("onnxruntime", 0), ("onnxruntime_1", 1)):
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            session = onnxruntime.InferenceSession(str(folder / onnx_model["file"]), options,
                                                   providers=["CPUExecutionProvider"])
            row[label] = _latency(lambda: session.run(None, one), lambda: session.run(None, big), calls, n)
        int8 = onnxruntime.InferenceSession(str(folder / onnx_model["int8"]), providers=["CPUExecutionProvider"])
        row["onnxruntime_int8"] = _latency(lambda: int8.run(None, one), lambda: int8.run(None, big), calls, n)
        if litert is not None:
            runner = litert.get_signature_runner(sig)
            row["litert"] = _latency(lambda: runner(**one), lambda: runner(**big), calls, n)
            runner8 = litert8.get_signature_runner(sig)
            row["litert_int8"] = _latency(lambda: runner8(**one), lambda: runner8(**big), calls, n)
        out[sig] = row
    assert "tensorflow" not in sys.modules and "zoo" not in sys.modules, "the runtimes run without TensorFlow"
    return out


def child_client(name, calls, folder):
    """`zoo.runtime`'s call of each signature (`run`, its checks included) against a bare
    `InferenceSession.run` of the same session, batch 1, calls interleaved; float32 and int8."""
    from zoo import runtime

    calls, folder, out = int(calls), Path(folder), {}
    inputs = np.load(folder / "inputs.npz")
    for precision in ("float32", "int8"):
        model = runtime.load_folder(folder, name, 1, precision, seed=0)
        for sig, signature in model.signatures.items():
            one = {r["name"]: inputs[f"{sig}:{r['name']}"][:1] for r in signature.inputs}
            session = signature.session  # the client's own InferenceSession: one thread pool, not two spinning
            names = list(signature.outputs.values())
            pair = (lambda: session.run(names, one), lambda: model.run(sig, **one))
            times = ([], [])
            for i in range(20 + calls):
                for which, call in enumerate(pair):
                    t0 = time.perf_counter()
                    call()
                    if i >= 20:
                        times[which].append(time.perf_counter() - t0)
            bare, client = (float(np.percentile(np.array(t) * 1000, 50)) for t in times)
            out[f"{precision}:{sig}"] = {"bare_p50_ms": round(bare, 4), "client_p50_ms": round(client, 4),
                                         "ratio": round(client / bare, 3)}
    assert "tensorflow" not in sys.modules, "the runtime client runs without TensorFlow"
    return out


def child_eager(name, calls):
    """The plain baseline of serving: the same functions run eagerly on the Keras model."""
    import tensorflow as tf

    import zoo

    calls = int(calls)
    model = zoo.load(name)
    inputs = np.load(zoo.get_entry(name).artifact_dir / ".bench_inputs.npz")
    out = {}
    for sig, (fn, specs) in zoo.models.family_of(model).serving_signatures().items():
        one = [tf.constant(inputs[f"{sig}:{s.name}"][:1]) for s in specs]
        big = [tf.constant(inputs[f"{sig}:{s.name}"]) for s in specs]
        out[sig] = _latency(lambda: fn(*one), lambda: fn(*big), calls, len(big[0]))
    return out


def _publish_to_ram_and_pull(name):
    """Copy one artifact to TensorFlow's in-memory filesystem (a remote store), pull it into a
    fresh cache, then go offline: what follows loads from the cache."""
    import tensorflow as tf

    import zoo
    from zoo import store

    os.environ["ZOO_HOME"] = tempfile.mkdtemp()
    src = zoo.registry.artifacts_root()
    for rel in store.version_files(src, name, zoo.get_entry(name).versions()[-1]) + ["index.json"]:
        tf.io.gfile.makedirs(os.path.dirname(f"ram://bench/{rel}"))
        tf.io.gfile.copy(str(src / rel), f"ram://bench/{rel}", overwrite=True)
    zoo.hub.pull(name, store="ram://bench")
    os.environ.update(ZOO_OFFLINE="1", ZOO_ARTIFACTS_DIR=tempfile.mkdtemp())


def child_load(name, how):
    """Seconds to import, load cold and load again (warm): `zoo.load` from the checkout
    ("zoo") or from the download cache ("cache"), or keras.saving.load_model of the file."""
    t0 = time.perf_counter()
    if how == "cache":
        _publish_to_ram_and_pull(name)
    if how in ("zoo", "cache"):
        import zoo

        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        zoo.load(name)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        zoo.load(name)
        warm = time.perf_counter() - t0
    else:
        import keras

        import zoo  # registers the zoo's classes, as a user of the file would have to

        path = str(zoo.hub.keras_path(name))
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        keras.saving.load_model(path)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        keras.saving.load_model(path)
        warm = time.perf_counter() - t0
    return {"import_s": round(t_import, 3), "cold_s": round(cold, 3), "warm_s": round(warm, 3)}


CHILDREN = {"fit_throughput": child_fit_throughput, "zoo_throughput": child_zoo_throughput,
            "pair_throughput": child_pair_throughput,
            "zoo_threshold": child_zoo_threshold, "fit_threshold": child_fit_threshold,
"serving": child_serving, "eager": child_eager, "peer": child_peer,
            "load": child_load, "runtimes": child_runtimes, "client": child_client}


# --- the parent: run the parts, print, write BENCHMARKS.md -----------------------------------
def _ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def _floor_counts(rows):
    """How many signatures meet issue 17's batch-1 floor (p50 <= 1 ms, p99 <= 2 ms) on each path."""
    def meets(v):
        return bool(v) and v["p50_ms"] <= 1.0 and v["p99_ms"] <= 2.0

    paths = {"from Python": lambda r: r["saved_model"], "through Session::Run": lambda r: r["saved_model"].get("session"),
             "through Session::Run with one thread per op": lambda r: r.get("one_thread", {}).get("session")}
    counts = [f"{sum(meets(get(r)) for r in rows)} {path}" for path, get in paths.items() if any(get(r) for r in rows)]
    return [f"Signatures meeting p50 <= 1.0 ms and p99 <= 2 ms at batch 1, of {len(rows)}: " + "; ".join(counts) + "."]


def _paired(p, prefix=""):
    """A paired ratio with its spread over the rounds."""
    r = prefix + "ratio"
    return f"{p[r]:.2f}x ({p[r + '_min']:.2f}-{p[r + '_max']:.2f})" if r in p else "n/a"


def part_train(quick):
    steps, rounds = (30, 2) if quick else (60, 6)
    rows = []
    for name in filter(_measured, IMAGE_RECIPES):
        pair = child("pair_throughput", name, steps, rounds, "recipe", timeout=3600)
        own = _recipe(name)["train"].get("mixed_precision") or "float32"
        pair32 = pair if own == "float32" else child("pair_throughput", name, steps, rounds, "float32", timeout=3600)
        base = child("fit_throughput", name, 2 * steps)  # fresh processes: peak memory, and the levers' reference
        zoo_ = child("zoo_throughput", name, 2 * steps, "recipe")
        levers = {v: child("zoo_throughput", name, 2 * steps, v).get("samples_per_s")
                  for v in ("float32", "mixed_bfloat16", "xla", "bf16_x4", "ceiling")}
        rows.append({"recipe": name, "pair": pair, "pair_float32": pair32, "baseline": base, "zoo": zoo_,
                     "levers": levers})
        print(f"  {name}: paired {pair}, float32 {pair32.get('ratio')}, step alone {pair32.get('alone_ratio')}; fresh baseline {base.get('samples_per_s')} /s, "
              f"levers {levers}", flush=True)
    return rows


def part_threshold(quick, tmp, budget=600):
    budget = min(budget, 120) if quick else budget
    rows = []
    for name in filter(_measured, ("cnn-mnist", "vae-mnist", "cgan-mnist")):
        chunk = 60000 // int(_recipe(name)["train"]["batch_size"])
        z = child("zoo_threshold", name, budget, chunk, f"{tmp}/{name}-zoo", "", timeout=budget * 4 + 600)
        b = child("fit_threshold", name, budget, timeout=budget * 4 + 600)
        rows.append({"recipe": name, "zoo": z, "baseline": b})
        print(f"  {name}: zoo {z.get('seconds')} s, baseline {b.get('seconds')} s", flush=True)
    if not _measured("snake-dqn"):
        return rows
    # Snake: the recipe's 64 vectorised boards against the plain one-board DQN, same learner.
    z = child("zoo_threshold", "snake-dqn", budget, 2000, f"{tmp}/snake-zoo", "", timeout=budget * 4 + 600)
    b = child("zoo_threshold", "snake-dqn", budget, 20000, f"{tmp}/snake-plain", "", "data.num_envs=1",
              timeout=budget * 4 + 600)
    rows.append({"recipe": "snake-dqn", "zoo": z, "baseline": b})
    print(f"  snake-dqn: zoo {z.get('seconds')} s, baseline {b.get('seconds')} s", flush=True)
    return rows


def part_peers(quick, tmp):
    """Each published example as published, then the zoo's recipe until that example's final
    quality, given up to the example's own time (the floor is a third of it)."""
    import peers

    rows = []
    for kind, name in peers.ZOO_RECIPE.items():
        if not _measured(name):
            continue
        p = child("peer", kind, "quick" if quick else "", timeout=4 * 3600)
        if "value" not in p:
            rows.append({"peer": kind, "recipe": name, "peer_result": p, "zoo": {}})
            continue
        chunk = 60000 // int(_recipe(name)["train"]["batch_size"]) // 4  # looks are off the clock: look often
        z = child("zoo_threshold", name, p["seconds"], chunk, f"{tmp}/{name}-peer", p["value"],
                  timeout=int(p["seconds"]) * 4 + 900)
        rows.append({"peer": kind, "recipe": name, "peer_result": p, "zoo": z})
        print(f"  {kind}: {p['metric']} {p['value']:.4f} in {p['seconds']} s; {name}: {z.get('seconds')} s", flush=True)
    return rows


def _write_inputs(name):
    """Example inputs (batch 1,024) for every signature, saved beside the artifact for children."""
    import zoo

    family = zoo.models.family_of(zoo.load(name))
    feeds = {}
    for sig, (_, specs) in family.serving_signatures().items():
        feed = family.serving_examples(specs, batch=1024 if not any(s.name == "observations" for s in specs) else 256)
        feeds.update({f"{sig}:{k}": v for k, v in feed.items()})
    path = zoo.get_entry(name).artifact_dir / ".bench_inputs.npz"
    np.savez(path, **feeds)
    return path


def part_serving(quick):
    import zoo

    calls = 50 if quick else 300
    rows = []
    for name in zoo.list_models():
        entry = zoo.get_entry(name)
        if not entry.versions() or not _measured(name):
            continue
        path = _write_inputs(name)
        try:
            folder = entry.artifact_dir / str(entry.versions()[-1])
            sm = child("serving", name, calls, folder)
            one_thread = child("serving", name, calls, folder, "1")
            eager = child("eager", name, calls)
        finally:
            path.unlink(missing_ok=True)
        for sig, v in sm.items():
            if isinstance(v, dict):
                rows.append({"model": name, "signature": sig, "saved_model": v, "eager": eager.get(sig, {}),
                             "one_thread": one_thread.get(sig, {})})
        print(f"  {name}: " + ", ".join(f"{s} p50 {v['p50_ms']} ms (Session::Run {v['session']['p50_ms']}, one thread "
                                        f"per op {one_thread[s]['session']['p50_ms']})"
                                        for s, v in sm.items() if isinstance(v, dict)),
              flush=True)
    return rows


def part_runtimes(quick, tmp):
    """Every model's signatures converted as the publishing pass converts them, then timed in a
    child without TensorFlow."""
    import zoo
    from zoo import formats

    calls, rows = (50 if quick else 300), []
    for name in zoo.list_models():
        if not zoo.get_entry(name).versions() or not _measured(name):
            continue
        folder = Path(tmp) / "runtimes" / name
        (folder / "formats.json").parent.mkdir(parents=True, exist_ok=True)
        (folder / "formats.json").write_text(json.dumps(formats.write_formats(zoo.load(name), folder)))
        path = _write_inputs(name)
        path.rename(folder / "inputs.npz")
        measured = child("runtimes", name, calls, folder)
        client = child("client", name, calls, folder)
        if "error" in measured or "error" in client:
            print(f"  {name}: failed: {measured.get('error') or client.get('error')}", flush=True)
            continue
        rows += [{"model": name, "signature": sig, **v, "client": {p: client[f"{p}:{sig}"] for p in ("float32", "int8")}}
                 for sig, v in measured.items()]
        print(f"  {name}: " + ", ".join(f"{s} p50 {v['onnxruntime']['p50_ms']} ms" for s, v in measured.items()), flush=True)
    return rows


def part_load(quick):
    import zoo

    rows = []
    for name in zoo.list_models():
        if not zoo.get_entry(name).versions() or not _measured(name):
            continue
        rows.append({"model": name, "zoo": child("load", name, "zoo"), "cache": child("load", name, "cache"),
                     "keras": child("load", name, "keras")})
        print(f"  {name}: {rows[-1]}", flush=True)
    return rows


ROW_KEY = {"train": "recipe", "threshold": "recipe", "peers": "recipe", "serving": "model", "load": "model",
           "runtimes": "model"}


def _stamp(results, part) -> list[str]:
    """Where and when a part was measured: parts kept from an earlier run (--merge) say so, and
    so do rows kept when only some were measured again (--recipes)."""
    m = results.get("measured", {}).get(part)
    lines = [] if not m or m == results["machine"] else [f"Measured {_where(m)}, kept by --merge."]
    apart = {}
    for r in results.get(part, []):
        if r.get("measured") and r["measured"] != m:
            apart.setdefault(_where(r["measured"]), []).append(r[ROW_KEY[part]])
    lines += [f"Kept from an earlier run: {', '.join(dict.fromkeys(names))}, measured {where}." for where, names in apart.items()]
    return [" ".join(lines), ""] if lines else []


def _where(m) -> str:
    return f"{m['date']} ({_cpu(m)}, {m['cores']} cores, TensorFlow {m['tensorflow']})"


def _cpu(m) -> str:
    """The processor as the tables name it; results from before `vector` was recorded have only the model."""
    return f"{m['cpu']} ({m['vector']}, L3 {m['l3']})" if "vector" in m else m["cpu"]


def _render_train(results) -> list[str]:
    """The train part's section of BENCHMARKS.md."""
    out = ["## Training throughput (samples/s, steady state) and peak memory", ""] + _stamp(results, "train") + [
            "Baseline: same architecture, float32 `model.fit` on numpy arrays, no tf.data, no XLA, no mixed "
            "precision, same batch and optimiser. Zoo: the recipe through the zoo's trainer (`SupervisedTrainer`: "
            "its pipeline and loop, timed between its first and last log points); *zoo float32* compares at "
            "the baseline's precision; *step alone float32*: the trainer's own step function over one batch "
            "held in memory, no input pipeline and no reads between steps, at float32: no pipeline or loop "
            "lever can beat it, so it bounds *zoo float32*. Baseline /s, zoo /s and the ratios are paired: one "
            "process alternates blocks of baseline, zoo and step-alone steps (A B C C B A ...), so host drift lands on all; each "
            "ratio is the median over the rounds, with its range. The other columns come from one fresh process "
            "each (peak memory needs one). Levers: the zoo's trainer with one setting changed (XLA: the recipe's "
            "step alone, jit-compiled, one call per step); bf16 + 4x batch: both at once (the speed a larger-batch recipe "
            "would get, before any retraining to hold quality); ceiling: the bf16 + 4x batch step over one batch held in "
            "memory, no input pipeline at all: no data-pipeline lever can go faster, so `ceiling vs baseline` "
            "bounds what this machine allows.", "",
            "| recipe | baseline /s | zoo /s | zoo vs baseline | zoo float32 vs baseline | step alone float32 vs baseline "
            "| baseline MB | zoo MB | float32 /s | bf16 /s | XLA /s | bf16 + 4x batch /s | ceiling /s | ceiling vs baseline |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["train"]:
        b, z, lv = r["baseline"], r["zoo"], r["levers"]
        p, p32 = r.get("pair", {}), r.get("pair_float32", {})
        out.append(f"| {r['recipe']} | {p.get('baseline_per_s', p.get('error'))} | {p.get('zoo_per_s')} | "
                   f"{_paired(p)} | {_paired(p32)} | {_paired(p32, 'alone_')} | {b.get('peak_mb')} | "
                   f"{z.get('peak_mb')} | {lv.get('float32')} | {lv.get('mixed_bfloat16')} | {lv.get('xla')} | "
                   f"{lv.get('bf16_x4')} | {lv.get('ceiling')} | {_ratio(lv.get('ceiling'), b.get('samples_per_s'))} |")
    out.append("")
    return out


def _render_threshold(results) -> list[str]:
    """The threshold part's section of BENCHMARKS.md."""
    out = ["## Time to a quality threshold (training seconds; evaluation not counted)", ""] + _stamp(results, "threshold") + [
            "| recipe | threshold | zoo s | baseline s | speed-up | zoo trace (s, metric) | baseline trace |",
            "|---|---|---|---|---|---|---|"]
    for r in results["threshold"]:
        metric, target, direction = THRESHOLDS[r["recipe"]]
        z, b = r["zoo"], r["baseline"]
        zs, bs = z.get("seconds"), b.get("seconds")
        out.append(f"| {r['recipe']} | {metric} {'>=' if direction == 'max' else '<='} {target} | "
                   f"{zs if zs else 'not reached'} | {bs if bs else 'not reached'} | {_ratio(bs, zs)} | "
                   f"{z.get('trace', z.get('error'))} | {b.get('trace', b.get('error'))} |")
    out += ["", "Snake's baseline is the same DQN on one board instead of 64 vectorised boards "
            "(`model.fit` has no place in an RL loop).", ""]
    return out


def _render_peers(results) -> list[str]:
    """The peers part's section of BENCHMARKS.md."""
    out = ["## Time to the published peers' quality", ""] + _stamp(results, "peers") + [
            "Each peer is the published Keras example, rebuilt from its page and trained as published "
            "(benchmarks/peers.py says what each one is and how it is scored); then the zoo's recipe trains "
            "until it reaches the peer's final quality by the same yardstick, given up to the peer's time: "
            "one run, looked at every quarter of an epoch, the looks off its clock (the recipe's own per-epoch "
            "test pass stays on it, as the convnet's validation split does on the peer's). Floor: a third of "
            "the peer's time.", "",
            "| peer | zoo recipe | yardstick | peer's final | peer s | zoo s to it | zoo / peer | zoo trace (s, value) |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results["peers"]:
        p, z = r["peer_result"], r["zoo"]
        zs, ps, value = z.get("seconds"), p.get("seconds"), p.get("value")
        out.append(f"| [{r['peer']}]({p.get('source', '')}) | {r['recipe']} | {p.get('metric', p.get('error'))} | "
                   f"{round(value, 4) if isinstance(value, float) else 'n/a'} | {ps} | "
                   f"{zs if zs else 'not reached'} | {_ratio(zs, ps)} | "
                   f"{z.get('trace', z.get('error'))} |")
    import peers

    missing = [f"{kind} ({name})" for kind, name in peers.ZOO_RECIPE.items()
               if kind not in {r["peer"] for r in results["peers"]}]
    if missing:
        out += ["", f"Not run yet: {', '.join(missing)}. Add a row with `python benchmarks/run.py --parts peers "
                    "--recipes NAME --merge benchmarks/results.json --json benchmarks/results.json`."]
    out.append("")
    return out


def _render_serving(results) -> list[str]:
    """The serving part's section of BENCHMARKS.md."""
    out = ["## Serving latency (batch 1) and throughput (batch 1,024)", ""] + _stamp(results, "serving") + [
            "SavedModel: `tf.saved_model.load` of the artifact's newest version, signature called from Python "
            "(no zoo import). Baseline: the same function run eagerly on the Keras model. Floor (issue 17): "
            "p50 <= 1.0 ms and p99 <= 2 ms at batch 1. XLA-compiled signatures are not a lever: TF Serving's "
            "model server disables XLA:CPU unless started with `--xla_cpu_compilation_enabled`, a flag its "
            "source marks \"EXPERIMENTAL; CAN BE REMOVED ANYTIME!\" (without it, such a model \"will return bad "
            "Status on first compilation request\"; tensorflow_serving/model_servers/main.cc). *Session::Run*: "
            "the same SavedModel run the way TF Serving's Predict runs it (its MetaGraph loaded into a Session, "
            "`session->Run` on the signature's tensors; tensorflow_serving/servables/tensorflow/predict_util.cc), "
            "through a Session callable, outputs checked equal to the signature's: what a served request "
            "spends in TensorFlow, without the Python call of the first columns. *One thread per op*: the same "
            "Session in a process whose ops each run on one thread, as TF Serving runs them when started with "
            "`--tensorflow_intra_op_parallelism=1`: on a small CPU host one row's ops are too small to gain "
            "from a second thread, while a batch of 4 rows or more runs as two halves on two cores "
            "(`zoo.signatures.in_halves`).", ""] + _floor_counts(results["serving"]) + ["",
            "| model | signature | p50 ms | p99 ms | /s at 1,024 | Session::Run p50 ms | Session::Run p99 ms | "
            "Session::Run /s at 1,024 | one thread per op: Session::Run p50 ms | p99 ms | /s at 1,024 | "
            "eager p50 ms | eager p99 ms | eager /s at 1,024 | p50 speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["serving"]:
        s, e = r["saved_model"], r["eager"]
        c, t = s.get("session", {}), r.get("one_thread", {}).get("session", {})
        out.append(f"| {r['model']} | {r['signature']} | {s['p50_ms']} | {s['p99_ms']} | {s['batch_per_s']} | "
                   f"{c.get('p50_ms', 'n/a')} | {c.get('p99_ms', 'n/a')} | {c.get('batch_per_s', 'n/a')} | "
                   f"{t.get('p50_ms', 'n/a')} | {t.get('p99_ms', 'n/a')} | {t.get('batch_per_s', 'n/a')} | "
                   f"{e.get('p50_ms')} | {e.get('p99_ms')} | {e.get('batch_per_s')} | "
                   f"{_ratio(e.get('p50_ms'), s['p50_ms'])} |")
    out.append("")
    return out


def _render_load(results) -> list[str]:
    """The load part's section of BENCHMARKS.md."""
    out = ["## Loading by name", ""] + _stamp(results, "load") + [
            "`zoo.load` checks every file it reads against the store's index (hashing a file once per "
            "size and modification time); *from cache* loads a model pulled from a remote store, offline.", "",
            "| model | zoo.load cold s | zoo.load warm s | from cache cold s | from cache warm s | "
            "keras load_model cold s | warm s |", "|---|---|---|---|---|---|---|"]
    for r in results["load"]:
        z, c, k = r["zoo"], r.get("cache", {}), r["keras"]
        out.append(f"| {r['model']} | {z.get('cold_s')} | {z.get('warm_s')} | {c.get('cold_s', 'n/a')} | "
                   f"{c.get('warm_s', 'n/a')} | {k.get('cold_s')} | {k.get('warm_s')} |")
    out.append("")
    return out

def _render_runtimes(results) -> list[str]:
    """The runtimes part's section of BENCHMARKS.md."""
    same_run = results.get("measured", {}).get("serving") == results.get("measured", {}).get("runtimes")
    served = {(r["model"], r["signature"]): r.get("one_thread", {}).get("session", {})
              for r in results.get("serving", [])} if same_run else {}
    out = ["## Runtimes: ONNX Runtime and LiteRT beside the SavedModel (batch 1 and 1,024)", ""] + \
        _stamp(results, "runtimes") + [
            "Each signature converted as the publishing pass converts it (`zoo.formats`: tf2onnx, opset 17; "
            "TensorFlow's LiteRT converter), run in a process that imports neither TensorFlow nor the zoo. "
            "*ONNX Runtime*: its default thread pool; *1 thread*: `intra_op_num_threads = 1`; *LiteRT*: the "
            "signature runner with its default XNNPACK delegate. *SavedModel*: the serving part's Session::Run "
            "with one thread per op, measured in the same run (n/a otherwise). Speed-up: SavedModel p50 over "
            "the fastest runtime's p50 at batch 1.", "",
            "| model | signature | ONNX Runtime p50 ms | p99 ms | /s at 1,024 | 1 thread p50 ms | /s at 1,024 | "
            "LiteRT p50 ms | p99 ms | /s at 1,024 | SavedModel p50 ms | /s at 1,024 | fastest at batch 1 | speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["runtimes"]:
        o, o1, lt = r["onnxruntime"], r["onnxruntime_1"], r.get("litert", {})
        sm = served.get((r["model"], r["signature"]), {})
        p50s = {"ONNX Runtime": o["p50_ms"], "ONNX Runtime, 1 thread": o1["p50_ms"], "LiteRT": lt.get("p50_ms")}
        fastest = min((v, k) for k, v in p50s.items() if v is not None)
        out.append(f"| {r['model']} | {r['signature']} | {o['p50_ms']} | {o['p99_ms']} | {o['batch_per_s']} | "
                   f"{o1['p50_ms']} | {o1['batch_per_s']} | {lt.get('p50_ms', 'n/a')} | {lt.get('p99_ms', 'n/a')} | "
                   f"{lt.get('batch_per_s', 'n/a')} | {sm.get('p50_ms', 'n/a')} | {sm.get('batch_per_s', 'n/a')} | "
                   f"{fastest[1]} | {_ratio(sm.get('p50_ms'), fastest[0]) if sm else 'n/a'} |")
    out.append("")
    return out + _render_client(results)


def _render_client(results) -> list[str]:
    """The runtimes part's second table: int8 latency, and zoo.runtime's cost over a bare session."""
    rows = [r for r in results["runtimes"] if "client" in r]
    if not rows:
        return []
    out = ["### int8 forms, and the `zoo.runtime` client over a bare `InferenceSession.run` (batch 1)", "",
           "*int8*: the version's `onnx/int8/` file (dynamic-range quantised) in ONNX Runtime (default threads) and "
           "`model.int8.tflite` in LiteRT. *Client*: `zoo.runtime` model's `run(signature, ...)`, its input checks "
           "included, against a bare `InferenceSession.run` of the same session (its file, its thread pool), calls "
           "interleaved (p50 of each); "
           "floor: 1.2x.", "",
           "| model | signature | ONNX Runtime p50 ms | int8 p50 ms | LiteRT p50 ms | LiteRT int8 p50 ms | "
           "bare p50 ms | client p50 ms | client / bare | int8: bare | client | client / bare |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f, q = r["client"]["float32"], r["client"]["int8"]
        out.append(f"| {r['model']} | {r['signature']} | {r['onnxruntime']['p50_ms']} | "
                   f"{r.get('onnxruntime_int8', {}).get('p50_ms', 'n/a')} | {r.get('litert', {}).get('p50_ms', 'n/a')} | "
                   f"{r.get('litert_int8', {}).get('p50_ms', 'n/a')} | {f['bare_p50_ms']} | {f['client_p50_ms']} | "
                   f"{f['ratio']}x | {q['bare_p50_ms']} | {q['client_p50_ms']} | {q['ratio']}x |")
    worst = max(max(r["client"]["float32"]["ratio"], r["client"]["int8"]["ratio"]) for r in rows)
    return out + ["", f"Largest client / bare ratio: {worst}x over {2 * len(rows)} signature files.", ""]


def render(results) -> str:
    """BENCHMARKS.md from the results: the machine, then a section for each part measured."""
    m = results["machine"]
    out = ["# Benchmarks", "",
           "Written by `python benchmarks/run.py` (`make bench`); every figure is measured in the same run "
           "as its baseline, in a fresh process, or paired with it in one (training ratios).", "",
           f"Machine: {_cpu(m)}, {m['cores']} cores, {m['memory_gib']} GiB, AMX-bf16 {'yes' if m['amx_bf16'] else 'no'}, "
           f"{m['gpus']} GPU; TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}; {m['date']}.", ""]
    for part, section in (("train", _render_train), ("threshold", _render_threshold), ("peers", _render_peers),
                          ("serving", _render_serving), ("runtimes", _render_runtimes), ("load", _render_load)):
        if part in results:
            out += section(results)
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="train,threshold,peers,serving,runtimes,load")
    p.add_argument("--quick", action="store_true", help="fewer steps and calls, short budgets (smoke run)")
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    p.add_argument("--json", default=None, help="also write the raw results here")
    p.add_argument("--recipes", default=None, help="comma-separated subset of recipes/models to measure")
    p.add_argument("--budget", type=float, default=600, help="threshold part: training seconds per run before giving up")
    p.add_argument("--merge", default=None, help="results JSON of an earlier run: keep its parts, replace the ones run now")
    p.add_argument("--child", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        print(json.dumps(CHILDREN[kind](*rest)))
        return
    import tempfile

    from zoo.files import atomic_write_json, atomic_write_text

    if args.recipes:
        ONLY.update(args.recipes.split(","))
    results = json.loads(Path(args.merge).read_text()) if args.merge and Path(args.merge).exists() else {}
    results["machine"] = machine()
    print(json.dumps(results["machine"]))
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        for part in args.parts.split(","):
            print(f"[{part}]", flush=True)
            t0 = time.time()
            if part == "train":
                rows = part_train(args.quick)
            elif part == "threshold":
                rows = part_threshold(args.quick, tmp, args.budget)
            elif part == "peers":
                rows = part_peers(args.quick, tmp)
            elif part == "serving":
                rows = part_serving(args.quick)
            elif part == "load":
                rows = part_load(args.quick)
            elif part == "runtimes":
                rows = part_runtimes(args.quick, tmp)
            else:
                raise SystemExit(f"unknown part {part!r}; parts: train, threshold, peers, serving, runtimes, load")
            if ONLY and part in results:  # some rows measured again: the others stay, each saying where it was measured
                before = results.get("measured", {}).get(part)
                rows = [{"measured": before, **r} for r in results[part] if not _measured(r[ROW_KEY[part]])] + rows
            results[part] = rows
            results.setdefault("measured", {})[part] = results["machine"]
            print(f"[{part}] {time.time() - t0:.0f} s", flush=True)
            if args.json:
                atomic_write_json(args.json, results)
    text = render(results)
    print(text)
    atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
