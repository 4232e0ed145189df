"""Build `zoo-runtime`: the zoo's models without TensorFlow, as a second distribution made from
this repository's own files (like opencv-python-headless beside opencv-python).

It holds the modules that never import TensorFlow or Keras: `zoo/__init__.py` (lazy: it imports
nothing), `files`, `layout`, `limits`, `registry`, `store` (folders and http(s) stores),
`games` (rules, search, opponents) and `runtime` (ONNX Runtime). Its users write
`zoo.runtime.load("vae-mnist")`; `zoo.load` there says to use that or install the full zoo.
Installing both distributions into one environment is not supported (they share `zoo/`).

    python runtime/build.py OUT      # writes OUT/zoo_runtime-<version>-py3-none-any.whl

The build is setuptools' (through `pip wheel --no-build-isolation`), from a staging folder.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["__init__.py", "files.py", "layout.py", "limits.py", "registry.py", "store.py"]
PACKAGES = ["games", "runtime"]
REQUIRES = ["numpy>=1.26,<3", "onnxruntime>=1.20,<2", "requests>=2.31,<3", "filelock>=3.12,<5", "tqdm>=4.60,<5"]

PYPROJECT = """[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "zoo-runtime"
version = "{version}"
description = "The zoo's trained models without TensorFlow: ONNX Runtime, numpy and the zoo's stores"
readme = "README.md"
license = {{text = "Apache-2.0"}}
requires-python = ">=3.10"
dependencies = {requires}

[tool.setuptools]
packages = ["zoo", "zoo.games", "zoo.runtime"]
"""

README = """# zoo-runtime

The zoo's trained models without TensorFlow or Keras: each published version's ONNX forms,
fetched from a store, checked against its index, cached, and run by ONNX Runtime with the same
inference methods as the Keras models.

    import zoo.runtime
    vae = zoo.runtime.load("vae-mnist")
    images = vae.sample(16)
"""


def version() -> str:
    """The zoo's version, read from zoo/__init__.py (which this build does not import)."""
    return re.search(r'^__version__ = "([^"]+)"', (ROOT / "zoo" / "__init__.py").read_text(), re.M).group(1)


def stage(dest: Path) -> Path:
    """The staging folder of the distribution: its pyproject.toml, README and zoo/ subset."""
    package = dest / "zoo"
    package.mkdir(parents=True)
    for name in MODULES:
        shutil.copy2(ROOT / "zoo" / name, package / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / "zoo" / name, package / name, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "pyproject.toml").write_text(PYPROJECT.format(version=version(), requires=REQUIRES))
    (dest / "README.md").write_text(README)
    return dest


def build(out: Path) -> Path:
    """Build the wheel into `out`; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zoo-runtime-") as tmp:
        source = stage(Path(tmp) / "src")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                        str(source)], check=True)
    return next(out.glob(f"zoo_runtime-{version()}-*.whl"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder the wheel is written to")
    print(build(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
