import atexit
import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The tests' download cache and integrity verdicts live apart from the user's ~/.cache/zoo.
os.environ["ZOO_HOME"] = tempfile.mkdtemp(prefix="zoo-test-home-")
# one folder per pytest process (each xdist worker imports this file): gone when it exits
atexit.register(shutil.rmtree, os.environ["ZOO_HOME"], ignore_errors=True)


def dataset_available(dataset: str) -> bool:
    """Whether ZOO_DATA_DIR (a search path) holds a local dataset: make test and CI point it at
    ../shared/data (MNIST) and /usr/share/datasets (Fashion-MNIST, Debian's dataset-fashion-mnist)."""
    from zoo import data

    folders = [f for f in os.environ.get("ZOO_DATA_DIR", "").split(os.pathsep) if f.strip()]
    return any((Path(f) / data.DATASETS[dataset][0] / "t10k-images-idx3-ubyte.gz").is_file() for f in folders)


def mnist_available() -> bool:
    return dataset_available("mnist")


MNIST_FIXTURES = {"test_images", "tiny_run"}  # fixtures that read MNIST (tiny_run trains on it)
# tests outside test_training.py that train the recipe their `name` parameter names
TRAINS_RECIPE_NAMED = {"test_training_steps_unchanged", "test_mixed_float16_moves_the_weights_as_float32_does"}
# tests that read the data of the model their `name` parameter (or `artifact` fixture) names
READS_MODEL_DATA = {"test_loaded_model_works"}


def needed_datasets(item) -> set[str]:
    """The local datasets a test reads: MNIST when marked `mnist` or using an MNIST fixture,
    those named by `@pytest.mark.dataset(...)`, and the dataset of a recipe it trains or of a
    model whose data it reads."""
    need = {d for m in item.iter_markers("dataset") for d in m.args}
    if "mnist" in item.keywords or MNIST_FIXTURES & set(getattr(item, "fixturenames", ())):
        need.add("mnist")
    params = getattr(getattr(item, "callspec", None), "params", {})
    name = params.get("name") or params.get("artifact")
    trains = item.path.name == "test_training.py" or item.originalname in TRAINS_RECIPE_NAMED
    if name and (trains or item.originalname in READS_MODEL_DATA):
        import zoo

        dataset = zoo.get_entry(name).dataset
        if not dataset.startswith("tfds:") and dataset in zoo.data.DATASETS:
            need.add(dataset)
    return need


def pytest_collection_modifyitems(config, items):
    """Tests that need a local dataset that is not there are skipped, saying which and how to
    get it; every other test (games, Snake, registry, layers...) still runs."""
    how = {"mnist": "set ZOO_DATA_DIR to a folder with mnist/ (make test uses ../shared/data)",
           "fashion-mnist": "apt-get install dataset-fashion-mnist (make test and CI do; it lands in "
                            "/usr/share/datasets, which ZOO_DATA_DIR's default includes)"}
    missing = {}
    for item in items:
        for dataset in sorted(needed_datasets(item)):
            if missing.setdefault(dataset, not dataset_available(dataset)):
                item.add_marker(pytest.mark.skip(reason=f"needs {dataset}: {how.get(dataset, 'see zoo.data')}"))
                break


def run_python(code: str, *args, env=None, timeout=300) -> str:
    """Run `code` in a fresh Python process (own TF runtime); fail the test on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=full_env, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError(f"subprocess failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")
    return p.stdout


def borrowed_venv(dest: Path, distributions) -> Path:
    """A fresh virtualenv that can import `distributions` and what they require, and nothing
    else (no TensorFlow, no Keras): their installed files are borrowed from this environment by
    symbolic links, so it builds offline in a second. Returns its python."""
    import re
    import venv
    from importlib import metadata

    from packaging.requirements import Requirement

    def key(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    todo, found = list(distributions), {}
    while todo:
        name = key(todo.pop())
        if name not in found:
            found[name] = metadata.distribution(name)
            wanted = [Requirement(r) for r in found[name].requires or []]
            todo += [r.name for r in wanted if r.marker is None or r.marker.evaluate({"extra": ""})]
    venv.create(dest, with_pip=False)
    borrowed = Path(dest) / "borrowed"
    borrowed.mkdir()
    for dist in found.values():
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] != ".."}:
            if not (borrowed / top).exists() and Path(dist.locate_file(top)).exists():
                (borrowed / top).symlink_to(Path(dist.locate_file(top)).resolve())
    site = next(Path(dest).glob("lib/python*/site-packages"))
    (site / "borrowed.pth").write_text(f"{borrowed}\n")
    return Path(dest) / "bin" / "python"


@pytest.fixture(scope="session")
def test_images():
    from zoo import data

    x, y = data.load_arrays("mnist", "test")
    return (x[:64, ..., None].astype("float32") / 255.0), y[:64]


# The start of a script run in a virtualenv without TensorFlow: it stops if TensorFlow or Keras
# can be imported there at all.
WITHOUT_TENSORFLOW = r'''
import json, os, sys
from pathlib import Path
import numpy as np
for name in ("tensorflow", "keras"):
    try:
        __import__(name)
        sys.exit(f"{name} is importable here")
    except ModuleNotFoundError:
        pass
'''


def runtime_build():
    """runtime/build.py, the builder of the zoo-runtime distribution, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo_runtime_build", ROOT / "runtime" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def stored_weights(sm_dir: Path) -> tuple[int, int]:
    """(bytes of the weights a SavedModel holds, bytes its files take for them): variables in its
    checkpoint (versions exported before weights became constants) plus the packed contents of
    the constants of its graph and functions (kernels, biases, shapes; a scalar is stored inline
    and not counted)."""
    # imported here, not at the top: this file sets TensorFlow's environment before it loads
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    listed = stored = 0
    if (sm_dir / "variables" / "variables.index").is_file():
        listed = sum(4 * int(np.prod(shape)) for n, shape in tf.train.list_variables(str(sm_dir / "variables" / "variables"))
                     if not n.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"))  # every weight here is 32-bit
        stored = sum(p.stat().st_size for p in (sm_dir / "variables").iterdir() if p.name.startswith("variables.data"))
    proto = saved_model_pb2.SavedModel.FromString((sm_dir / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    consts = sum(len(n.attr["value"].tensor.tensor_content) for n in nodes if n.op == "Const")
    return listed + consts, stored + consts
