"""`make demo`: load every artifact by name, use it, and write pictures to a folder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(out="out"):
    import zoo
    from zoo.export import picture
    from zoo.hub import ArtifactError

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x = zoo.data.load_arrays("mnist", "test")[0][:4, ..., None].astype("float32") / 255.0
    failed = []
    for name in zoo.list_models():
        print("=" * 100)
        try:
            model = zoo.load(name)
        except ArtifactError as e:
            print(f"{name}: {e}")
            failed.append(name)
            continue
        print(zoo.describe(name))
        picture(model, out / f"{name}.png")
        err = float(np.mean((np.asarray(model.reconstruct(x)) - x) ** 2))
        line = f"{name}: reconstruction MSE on 4 test digits {err:.4f}"
        if hasattr(model, "sample"):
            s = np.asarray(model.sample(16))
            line += f"; sample(16) -> {s.shape}, mean pixel {s.mean():.3f}"
            v = model.arithmetic(x[0], x[1], x[2])
            line += f"; arithmetic -> {tuple(v.shape)}"
        print(line)
        print(f"picture: {out / (name + '.png')}")
    if failed:
        sys.exit(f"no artifact for: {', '.join(failed)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
