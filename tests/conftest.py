import os
import subprocess
import tempfile
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The tests' download cache and integrity verdicts live apart from the user's ~/.cache/zoo.
os.environ["ZOO_HOME"] = tempfile.mkdtemp(prefix="zoo-test-home-")


def mnist_available() -> bool:
    """Whether ZOO_DATA_DIR (a search path) holds MNIST (make test and CI point it at ../shared/data)."""
    folders = [f for f in os.environ.get("ZOO_DATA_DIR", "").split(os.pathsep) if f.strip()]
    return any((Path(f) / "mnist" / "t10k-images-idx3-ubyte.gz").is_file() for f in folders)


MNIST_FIXTURES = {"test_images", "tiny_run"}  # fixtures that read MNIST (tiny_run trains on it)
# tests outside test_training.py that train the recipe their `name` parameter names
TRAINS_RECIPE_NAMED = {"test_training_steps_unchanged", "test_mixed_float16_moves_the_weights_as_float32_does"}


def needs_mnist(item) -> bool:
    """Marked `mnist`, using an MNIST fixture, or training a recipe whose dataset is MNIST."""
    if "mnist" in item.keywords or MNIST_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    name = getattr(getattr(item, "callspec", None), "params", {}).get("name")
    trains = item.path.name == "test_training.py" or item.originalname in TRAINS_RECIPE_NAMED
    if trains and name:  # `name` is the recipe it trains
        import zoo

        return zoo.get_entry(name).dataset == "mnist"
    return False


def pytest_collection_modifyitems(config, items):
    """Tests that need MNIST are skipped without it (saying why); every other test (games,
    Snake, registry, layers...) still runs."""
    if mnist_available():
        return
    skip = pytest.mark.skip(reason="needs MNIST: set ZOO_DATA_DIR to a folder with mnist/ (make test uses ../shared/data)")
    for item in items:
        if needs_mnist(item):
            item.add_marker(skip)


def run_python(code: str, *args, env=None, timeout=300) -> str:
    """Run `code` in a fresh Python process (own TF runtime); fail the test on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=full_env, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError(f"subprocess failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")
    return p.stdout


@pytest.fixture(scope="session")
def test_images():
    from zoo import data

    x, y = data.load_arrays("mnist", "test")
    return (x[:64, ..., None].astype("float32") / 255.0), y[:64]


def copy_version(dest_root: Path, name: str, version: int = 1) -> Path:
    """A copy of one published version of a checkout artifact (its Keras file, SavedModel and
    card; card.json is that card) into the store folder `dest_root`, as if it were the only one."""
    import shutil

    source, folder = ROOT / "artifacts" / name, Path(dest_root) / name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / str(version), folder / str(version))
    for fname in (f"{name}.v{version}.keras", f"card.v{version}.json", "samples.png"):
        shutil.copy(source / fname, folder / fname)
    shutil.copy(source / f"card.v{version}.json", folder / "card.json")
    return folder
