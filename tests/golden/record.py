"""Record what every published artifact computes, so a refactor can prove it changed nothing.

    python tests/golden/record.py        # on the code *before* a change: writes outputs-<cpu family>.npz

Floating-point results depend on the CPU's instruction set, because oneDNN picks its kernels
by it: the same code gives outputs 4e-6 apart on an Intel with AMX and on an AMD EPYC with
AVX2 only, and weights 0.7% apart after a few training steps. So goldens are kept per CPU
family (`cpu_family()`), each recorded by the same old code on a machine of that family.

For every artifact: each serving signature's outputs, run through the live Keras model's
family (`serving_signatures()`: the code a refactor touches, not the frozen SavedModel), and the
model's public methods, on fixed synthetic inputs (no dataset content is stored), plus a
sha256 of the warm-up inputs the exporter would write. `tests/test_golden.py` recomputes all of
it and compares. Keys are "<model>|<what>"; inputs are stored beside the outputs.
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

import zoo


def cpu_family() -> str:
    """The instruction-set family oneDNN's kernels are chosen by: "avx512-amx", "avx512" or
    "avx2" (also for any CPU whose flags cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "avx2"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    if "amx_tile" in flags:
        return "avx512-amx"
    return "avx512" if "avx512f" in flags else "avx2"


def golden_path(family: str) -> Path:
    return Path(__file__).parent / f"outputs-{family}.npz"


def positions(game, n: int = 4) -> list:
    """Board positions 1..n moves into seeded random games."""
    states = []
    for i in range(n):
        s, mover = game.initial(), zoo.games.RandomPlayer(game, seed=i)
        for _ in range(i + 1):
            s = game.play(s, mover.move(s))
        states.append(s)
    return states


def fixed_inputs(name, model, specs, rng):
    """Deterministic inputs for a list of TensorSpecs (batch 4), with no dataset content."""
    out = []
    for spec in specs:
        shape = (4,) + tuple(spec.shape[1:])
        if spec.dtype == tf.int32:
            out.append(rng.integers(0, 10, shape).astype("int32"))
        elif spec.name == "observations":
            env = zoo.envs.SnakeEnv()
            out.append(np.stack([env.reset(seed=i)[0] for i in range(4)]))
        elif spec.name == "board":
            out.append(np.stack([model.game().encode(s) for s in positions(model.game())]).astype("float32"))
        elif shape == (4, 28, 28, 1):
            out.append(rng.random(shape).astype("float32"))
        else:
            out.append(rng.standard_normal(shape).astype("float32"))
    return out


def record(name, model):
    rng = np.random.default_rng(0)
    rows = {}
    for sig, (fn, specs) in zoo.models.family_of(model).serving_signatures().items():
        args = fixed_inputs(name, model, specs, rng)
        for spec, a in zip(specs, args):
            rows[f"{name}|in|{sig}|{spec.name}"] = a
        for out_name, value in fn(*[tf.constant(a) for a in args]).items():
            rows[f"{name}|sig|{sig}|{out_name}"] = np.asarray(value)
    rows.update(methods(name, model, np.random.default_rng(1)))
    return rows


def _flat(prefix, value):
    if isinstance(value, dict):
        return {f"{prefix}|{k}": np.asarray(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return {f"{prefix}|{i}": np.asarray(v) for i, v in enumerate(value)}
    return {prefix: np.asarray(value)}


def methods(name, model, rng):
    """The public methods users call, on fixed inputs; and the training loss on a fixed batch."""
    images = rng.random((4, 28, 28, 1)).astype("float32")
    labels = np.arange(4, dtype="int32")
    out = {f"{name}|in|images": images}
    for m in ("reconstruct", "encode", "classify", "features", "predict_proba", "discriminate"):
        if hasattr(model, m):
            out.update(_flat(f"{name}|method|{m}", getattr(model, m)(images)))
    if hasattr(model, "latent_dim"):
        codes = rng.standard_normal((4, model.latent_dim)).astype("float32")
        out[f"{name}|in|codes"] = codes
        if hasattr(model, "decode"):
            out.update(_flat(f"{name}|method|decode", model.decode(codes)))
        if hasattr(model, "generate"):
            gen = model.generate(codes, labels) if model.conditional else model.generate(codes)
            out.update(_flat(f"{name}|method|generate", gen))
    if hasattr(model, "log_importance_weights"):
        out.update(_flat(f"{name}|method|log_importance_weights", model.log_importance_weights(images, 3, seed=0)))
    if hasattr(model, "interpolate"):
        out.update(_flat(f"{name}|method|interpolate", model.interpolate(images[0], images[1], steps=5)))
        out.update(_flat(f"{name}|method|arithmetic", model.arithmetic(images[0], images[1], images[2])))
    if hasattr(model, "q_values"):
        env = zoo.envs.SnakeEnv()
        obs = np.stack([env.reset(seed=i)[0] for i in range(4)])
        out.update(_flat(f"{name}|method|q_values", model.q_values(obs)))
        out.update(_flat(f"{name}|method|act", model.act(obs)))
    if hasattr(model, "predict_board"):
        game = model.game()
        states = positions(game)
        out.update(_flat(f"{name}|method|predict_board", model.predict_board(game.encode_many(states))))
        out[f"{name}|method|player_moves"] = np.array(model.player(simulations=16, seed=0).move_many(states))
    kind = type(model).__name__
    noise = rng.standard_normal((4, 2 * getattr(model, "latent_dim", 1))).astype("float32")
    batch = {"AutoEncoder": images, "VAE": (images, noise[:, : getattr(model, "latent_dim", 1)]),
             "DigitClassifier": (images, labels), "DCGAN": (images, noise), "ConditionalGAN": (images, labels, noise)}.get(kind)
    if kind == "PolicyValueNet":
        planes = game.encode_many(states).astype("float32")
        batch = (planes, np.full((4, model.n_actions), 1.0 / model.n_actions, "float32"), np.array([1, -1, 0, 1], "float32"))
    if batch is not None:
        out.update(_flat(f"{name}|loss_terms", model.loss_terms(batch, training=False)))
    return out


SMALL = ["epochs=1", "steps_per_epoch=3", "eval_batches=1", "checkpoint_every=0"]
# A few steps of every trainer on a small architecture: the weights after them and the history
# must not change when the code is reorganised.
TRAINING = {
    "ae-mnist": ["model.filters=[8, 16]", "model.hidden=32"] + SMALL,
    "vae-mnist": ["model.filters=[8, 16]", "model.hidden=32"] + SMALL,
    "cnn-mnist": ["model.filters=[8, 16]", "model.feature_dim=32"] + SMALL,
    "dcgan-mnist": ["model.g_filters=[32, 16]", "model.d_filters=[16, 32]", "model.d_dense=32", "judge=false"] + SMALL,
    "cgan-mnist": ["model.g_filters=[32, 16]", "model.d_filters=[16, 32]", "model.d_dense=32", "judge=false"] + SMALL,
    "alphazero-tictactoe": ["model.filters=8", "model.blocks=1", "iterations=1", "games_per_iteration=4",
                            "train.simulations=4", "arena_games=2", "eval_games=2", "reference_games=0",
                            "epochs_per_iteration=1", "accept_score=0.0"],
    "snake-dqn": ["model.hidden=[32, 32]", "total_steps=40", "learning_starts=20", "log_every=40",
                  "checkpoint_every=40", "data.num_envs=4", "target_update=10", "buffer_size=1000"],
}


def fingerprint(w):
    """Sum, sum of magnitudes and the first 16 values of a weight (float64): small to keep, and
    any change to the training path shows in it."""
    w = np.asarray(w, np.float64).ravel()
    return np.concatenate([[w.sum(), np.abs(w).sum()], w[:16]])


def record_training(name, out):
    """Weights and final history row after a few steps of the recipe's trainer."""
    from zoo import recipes, training

    r = recipes.apply_overrides(recipes.load(name), TRAINING[name])
    s = training.train(r, out, verbose=0)
    rows = {f"{name}|train|w{i}": fingerprint(v.numpy()) for i, v in enumerate(s["model"].weights)}
    last = s["history"][-1]
    rows.update({f"{name}|train|log|{k}": np.float64(v) for k, v in last.items()
                 if isinstance(v, float) and k != "elapsed_s"})
    return rows


def main(path):
    import tempfile

    rows = {}
    for name in zoo.list_models():
        model = zoo.load(name)
        rows.update(record(name, model))
        print(name, "recorded", flush=True)
    for name in TRAINING:
        rows.update(record_training(name, tempfile.mkdtemp()))
        print(name, "training recorded", flush=True)
    np.savez_compressed(path, **rows)
    print(f"{len(rows)} arrays -> {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else golden_path(cpu_family()))
