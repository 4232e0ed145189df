"""Evaluation: the numbers in model cards come from here (`zoo evaluate NAME --write-card`).

- vae-mnist: test negative log-likelihood in nats on the test set binarised once with a fixed
  seed, by importance sampling with K samples per image (log-mean-exp of p(x,z)/q(z|x)), and
  the ELBO with its reconstruction and KL parts.
- ae-mnist: per-pixel binary cross-entropy and squared error on the grey-level test set.
- both: FID-MNIST, MNIST score and mean classifier confidence of 10,000 decoded N(0, I) codes,
  the measured form of "a VAE's decoder turns random codes into digits, a plain AE's does not".
- cnn-mnist: test accuracy, and the real-data floor of FID-MNIST and MNIST score.
- dcgan-mnist / cgan-mnist: FID-MNIST, MNIST score; per-label accuracy for the conditional GAN.
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np


def vae_metrics(model, images: np.ndarray, k: int = 1000, seed: int = 0, verbose: bool = True) -> dict:
    import tensorflow as tf

    per_call = max(1, 20000 // k)  # images per call: ~20k decoder passes

    @tf.function(reduce_retracing=True)
    def batch_stats(x, s):
        w = model.log_importance_weights(x, k, seed=s)
        nll = -(tf.reduce_logsumexp(w, axis=1) - math.log(k))
        terms = model.loss_terms(x, training=False)  # ELBO with its own single noise draw
        return nll, terms["loss"], terms["reconstruction"], terms["kl"]

    parts = {"nll": [], "elbo": [], "rec": [], "kl": []}
    t0 = time.time()
    for i in range(0, len(images), per_call):
        x = images[i : i + per_call]
        out = batch_stats(tf.constant(x), tf.constant(seed * 1_000_003 + i, tf.int32))
        for key, v in zip(parts, out):
            parts[key].append(v.numpy())
        if verbose and (i // per_call) % 50 == 0:
            done = i + len(x)
            print(f"  {done}/{len(images)} images, NLL so far {np.concatenate(parts['nll']).mean():.2f} nats, "
                  f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    p = {k2: np.concatenate(v) for k2, v in parts.items()}
    return {
        f"test_nll_nats_is{k}": round(float(p["nll"].mean()), 3),
        "test_nll_stderr": round(float(p["nll"].std() / math.sqrt(len(images))), 3),
        "test_neg_elbo_nats": round(float(p["elbo"].mean()), 3),
        "test_reconstruction_nats": round(float(p["rec"].mean()), 3),
        "test_kl_nats": round(float(p["kl"].mean()), 3),
        "test_images": int(len(images)),
    }


def ae_metrics(model, images: np.ndarray) -> dict:
    import tensorflow as tf

    bce, mse = [], []
    for i in range(0, len(images), 1000):
        x = tf.constant(images[i : i + 1000])
        terms = model.loss_terms(x, training=False)
        bce.append(terms["bce"].numpy())
        mse.append(terms["mse"].numpy())
    return {"test_bce_per_pixel": round(float(np.concatenate(bce).mean()), 5),
            "test_mse_per_pixel": round(float(np.concatenate(mse).mean()), 6),
            "test_images": int(len(images))}


def _noise(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype("float32")


def _in_batches(fn, *arrays, size=1000):
    return np.concatenate([np.asarray(fn(*(a[i : i + size] for a in arrays))) for i in range(0, len(arrays[0]), size)])


def prior_sample_scores(model, judge, n: int = 10000) -> dict:
    """Decode n codes drawn from N(0, I) and score them: the AE-vs-VAE question in numbers."""
    imgs = _in_batches(model.decode, _noise(n, model.latent_dim, seed=1))
    return {f"prior_samples_{k}": v for k, v in judge.score(imgs).items() if k != "images"}


def classifier_metrics(model) -> dict:
    from . import data
    from .metrics import Judge

    x, y = data.load_arrays("mnist", "test")
    pred = _in_batches(model.classify, x[..., None].astype("float32") / 255.0)
    per = {str(d): round(float((pred[y == d] == d).mean()), 4) for d in range(10)}
    floor = Judge(model).real_floor()
    return {"test_accuracy": round(float((pred == y).mean()), 5), "test_errors": int((pred != y).sum()),
            "per_class_accuracy": per, "real_floor_fid_mnist": floor["fid_mnist"],
            "real_floor_mnist_score": floor["mnist_score"], "test_images": int(len(y))}


_JUDGE = []


def default_judge():
    """The `cnn-mnist` judge, loaded once per process; None if its artifact is unavailable."""
    if not _JUDGE:
        from .hub import ArtifactError
        from .metrics import Judge

        try:
            _JUDGE.append(Judge())
        except (ArtifactError, FileNotFoundError, ValueError, OSError) as err:
            print(f"no judge for per-epoch scores: {err}", file=sys.stderr)
            _JUDGE.append(None)
    return _JUDGE[0]


def dcgan_metrics(model, judge) -> dict:
    imgs = _in_batches(model.generate, _noise(10000, model.latent_dim, seed=2))
    out = judge.score(imgs)
    out["samples"] = out.pop("images")
    return out


def cgan_metrics(model, judge, per_label: int = 1000) -> dict:
    labels = np.repeat(np.arange(10, dtype=np.int32), per_label)
    imgs = _in_batches(model.generate, _noise(len(labels), model.latent_dim, seed=3), labels)
    probs = judge.probabilities(imgs)
    hit = probs.argmax(axis=1) == labels
    out = judge.score(imgs)
    out.pop("images")
    return {"label_accuracy": round(float(hit.mean()), 5),
            "per_label_accuracy": {str(d): round(float(hit[labels == d].mean()), 4) for d in range(10)},
            **out, "samples": int(len(labels))}


def evaluate(name: str, model, samples: int = 1000, limit: int | None = None, verbose: bool = True,
             judge=None) -> dict:
    from . import data
    from .metrics import Judge
    from .models import DCGAN, VAE, AutoEncoder, ConditionalGAN, DigitClassifier, PolicyValueNet, SnakeQNetwork

    if isinstance(model, PolicyValueNet):
        return alphazero_metrics(model)
    if isinstance(model, DigitClassifier):
        return classifier_metrics(model)
    if isinstance(model, SnakeQNetwork):
        return snake_metrics(model)
    judge = judge or Judge()
    if isinstance(model, VAE):
        x = data.binarized_test_images("mnist", seed=0)[:limit]
        return {**vae_metrics(model, x, k=samples, verbose=verbose), **prior_sample_scores(model, judge)}
    if isinstance(model, AutoEncoder):
        x = data.load_arrays("mnist", "test")[0][:limit, ..., None].astype("float32") / 255.0
        return {**ae_metrics(model, x), **prior_sample_scores(model, judge)}
    if isinstance(model, ConditionalGAN):
        return cgan_metrics(model, judge)
    if isinstance(model, DCGAN):
        return dcgan_metrics(model, judge)
    raise ValueError(f"no evaluation defined for {type(model).__name__}")


def alphazero_metrics(model, games: int = 100, simulations: int | None = None) -> dict:
    """Games of the network's search player (no noise, no sampled openings) against the floor's
    opponents, alternating colours: perfect play or depth-4 alpha-beta, and a random mover."""
    from .games import RandomPlayer, play_match
    from .rl.alphazero import reference_opponent

    game = model.game()
    sims = simulations or model.simulations
    ref = reference_opponent(game, seed=1)
    t0 = time.time()
    finals = []  # the search plays without noise: the opponent's random tie-breaks vary the games
    vs_ref = play_match(game, model.player(sims, seed=0), ref, games=games, finals=finals)
    vs_random = play_match(game, model.player(sims, seed=0), RandomPlayer(game, seed=2), games=games)
    name = "perfect" if game.name == "tictactoe" else "alphabeta4"

    def outcome(prefix, result, ends):
        return {**{f"{prefix}_{k}": v for k, v in result.items()}, f"{prefix}_win_rate": round(result["wins"] / games, 3),
                f"{prefix}_distinct_games": len({s.board.tobytes() for s in ends})}

    extra = {}
    if game.name == "connect4":  # depth-4 alpha-beta rarely ties, so few games differ: also play
        # from random two-move openings (one per side), the way engines are tested with a book
        rng = np.random.default_rng(3)
        starts = []
        for _ in range(games):
            s = game.initial()
            for _ in range(2):
                s = game.play(s, int(rng.integers(game.n_actions)))
            starts.append(s)
        book_finals = []
        book = play_match(game, model.player(sims, seed=0), ref, games=games, finals=book_finals, starts=starts)
        extra = outcome(f"openings_vs_{name}", book, book_finals)
    return {**extra, **outcome(f"vs_{name}", vs_ref, finals),
            "vs_random_wins": vs_random["wins"], "vs_random_draws": vs_random["draws"],
            "vs_random_losses": vs_random["losses"], "vs_random_win_rate": round(vs_random["wins"] / games, 3),
            "games_each": games, "simulations_per_move": sims, "eval_seconds": round(time.time() - t0, 1)}


def snake_metrics(model, games: int = 100) -> dict:
    """Apples per game over `games` greedy games with fixed seeds, beside an untrained network."""
    from .rl.dqn import evaluate as play

    trained, base = play(model, games=games), play(model.untrained_copy(seed=0), games=games)
    return {**{f"apples_{k}": v for k, v in trained.items() if k in ("mean", "median", "max", "min")},
            **{f"untrained_apples_{k}": v for k, v in base.items() if k in ("mean", "median", "max")},
            "games": trained["games"], "board": trained["board"], "seeds": trained["seeds"]}


TEST_SETS = {
    "vae-mnist": "NLL/ELBO: MNIST test (10,000) binarised once with seed 0; prior samples: 10,000 decoded N(0, I) codes (seed 1) scored by cnn-mnist against the test set",
    "ae-mnist": "reconstruction: MNIST test (10,000) grey levels in [0, 1]; prior samples: 10,000 decoded N(0, I) codes (seed 1) scored by cnn-mnist",
    "cnn-mnist": "MNIST test (10,000); real floor: first 10,000 training images against the test set",
    "dcgan-mnist": "10,000 samples from N(0, I) noise (seed 2) scored by cnn-mnist against the 10,000 test images",
    "cgan-mnist": "1,000 samples per digit (noise seed 3) scored by cnn-mnist against the 10,000 test images",
    "alphazero-tictactoe": "100 games each against perfect minimax (random among its best moves, seed 1) and a random mover (seed 2), colours alternating; MCTS with the card's simulations per move, no noise",
    "alphazero-connect4": "100 games each against depth-4 alpha-beta (window heuristic, random among equal moves, seed 1) and a random mover (seed 2), colours alternating; MCTS with the card's simulations per move, no noise; openings_*: 100 more games against the same alpha-beta, each from a random two-move opening (one move per side, seed 3); distinct_games counts different final positions",
    "snake-dqn": "100 greedy games on 20x20 Snake with walls, board seeds 10000-10099; untrained: same architecture, seed 0",
}


def main(args):
    import keras

    from . import hub, models  # noqa: F401
    from .export import update_card_metrics

    if args.run:
        model = keras.saving.load_model(f"{args.run}/model.keras", compile=False)
    else:
        model = hub.load(args.name)
    t0 = time.time()
    metrics = evaluate(args.name, model, samples=args.samples, limit=args.limit)
    cmd = f"zoo evaluate {args.name} --samples {args.samples}" + (f" --limit {args.limit}" if args.limit else "")
    evaluation = {"command": cmd, "seconds": round(time.time() - t0, 1), "test_set": TEST_SETS.get(args.name, "")}
    print(json.dumps(metrics, indent=1))
    if args.write_card:
        if args.run:
            raise ValueError("--write-card writes the artifact's card; evaluate the artifact, not --run")
        update_card_metrics(args.name, metrics, evaluation)
        print(f"wrote metrics into {args.name}'s card", file=sys.stderr)
