"""`make demo`: load every artifact by name, use it, and write pictures to a folder.

Each model's family says what to show (`Family.demo`, `picture`, `demo_pictures`); this loop
knows no model family.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import artifacts, data, hub, registry, reporting
from .files import save_png
from .models import family_of


def main(out="out"):
    """Describe and use every registered model that has an artifact; pictures go to `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pending, loaded = [], {}
    for name in registry.list_models():
        print("=" * 100)
        entry = registry.get_entry(name)
        if not entry.versions():
            print(f"{name}: registered with its recipe, no trained artifact published yet")
            pending.append(name)
            continue
        try:  # four test images of its own data (MNIST for the models that use none)
            x = data.float_images(entry.dataset if entry.dataset in data.DATASETS else "mnist", limit=4)
        except data.DataError as e:
            print(f"{name}: skipped, its data is not here ({e})")
            pending.append(name)
            continue
        try:
            model = hub.load(name)
        except hub.ArtifactError as e:  # a corrupt artifact is an error, not a pending one
            sys.exit(f"{name}: {e}")
        print(reporting.summary(name))
        artifacts.save_picture(model, out / f"{name}.png")
        print(f"  used: {family_of(model).demo(x)}")
        loaded[name] = model
        print(f"  picture: {out / (name + '.png')}   (zoo describe {name} for the card and request bodies)")
    for model in loaded.values():
        for fname, image in family_of(model).demo_pictures(loaded).items():
            save_png(image, out / fname)
            print(f"{fname.rsplit('.', 1)[0]}: {out / fname}")
    print(f"\nloaded {len(loaded)} models: {', '.join(loaded)}" + (f"; pending: {', '.join(pending)}" if pending else ""))


if __name__ == "__main__":
    main(*sys.argv[1:])
