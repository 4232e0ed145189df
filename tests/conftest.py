import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if not os.environ.get("ZOO_DATA_DIR"):
    pytest.exit("ZOO_DATA_DIR is not set: point it at a folder with mnist/ (make test sets ../shared/data)", returncode=4)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
