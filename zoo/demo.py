"""`make demo`: load every artifact by name, use it, and write pictures to a folder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def use(model, x) -> str:
    """Call the model's main methods once and say what came back."""
    from zoo.models import DCGAN, VAE, ConditionalGAN, DigitClassifier, PolicyValueNet, SnakeQNetwork

    if isinstance(model, PolicyValueNet):
        from zoo.games import RandomPlayer, play_match

        game = model.game()
        policy, value = model.predict_board(game.encode(game.initial())[None])
        r = play_match(game, model.player(), RandomPlayer(game, seed=0), games=10)
        return (f"opening policy argmax {int(np.argmax(policy[0]))}, value {float(value[0]):+.2f}; "
                f"10 games v random: {r['wins']} wins, {r['draws']} draws, {r['losses']} losses")
    if isinstance(model, SnakeQNetwork):
        from zoo.rl.dqn import evaluate

        r = evaluate(model, games=10)
        return f"10 greedy games on 20x20: mean {r['mean']} apples, max {r['max']}"
    if isinstance(model, DigitClassifier):
        return f"classify(4 test digits) -> {np.asarray(model.classify(x)).tolist()}"
    if isinstance(model, ConditionalGAN):
        return f"sample(labels=[0..9]) -> {tuple(model.sample(labels=np.arange(10)).shape)}"
    if isinstance(model, DCGAN):
        return f"sample(16) -> {tuple(model.sample(16).shape)}"
    line = f"reconstruction MSE on 4 test digits {float(np.mean((np.asarray(model.reconstruct(x)) - x) ** 2)):.4f}"
    if isinstance(model, VAE):
        s = np.asarray(model.sample(16))
        line += (f"; sample(16) -> {s.shape}, mean pixel {s.mean():.3f}; "
                 f"interpolate -> {tuple(model.interpolate(x[0], x[1], 8).shape)}; "
                 f"arithmetic -> {tuple(model.arithmetic(x[0], x[1], x[2]).shape)}")
    return line


def main(out="out"):
    import zoo
    from zoo.export import ae_vs_vae_picture, picture
    from zoo.hub import ArtifactError

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x = zoo.data.load_arrays("mnist", "test")[0][:4, ..., None].astype("float32") / 255.0
    pending, loaded = [], {}
    for name in zoo.list_models():
        print("=" * 100)
        if not zoo.get_entry(name).versions():
            print(f"{name}: registered with its recipe, no trained artifact published yet")
            pending.append(name)
            continue
        try:
            model = zoo.load(name)
        except ArtifactError as e:  # a corrupt artifact is an error, not a pending one
            sys.exit(f"{name}: {e}")
        print(zoo.describe(name))
        picture(model, out / f"{name}.png")
        print(f"{name}: {use(model, x)}")
        loaded[name] = model
        print(f"picture: {out / (name + '.png')}")
    if "ae-mnist" in loaded and "vae-mnist" in loaded:
        ae_vs_vae_picture(loaded["ae-mnist"], loaded["vae-mnist"], out / "ae-vs-vae.png")
        print(f"AE vs VAE decoding the same N(0, I) codes: {out / 'ae-vs-vae.png'}")
    print(f"\nloaded {len(loaded)} models: {', '.join(loaded)}" + (f"; pending: {', '.join(pending)}" if pending else ""))


if __name__ == "__main__":
    main(*sys.argv[1:])
