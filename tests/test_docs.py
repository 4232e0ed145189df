"""The examples in the package's docstrings and in README.md run, and say what they print."""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import zoo

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(info.name for info in pkgutil.walk_packages(zoo.__path__, "zoo.")) + ["zoo"]
WITH_EXAMPLES = [m for m in MODULES if ">>>" in (Path(importlib.import_module(m).__file__).read_text())]
READS_MNIST = {"zoo.data", "zoo.evaluate", "zoo.metrics", "zoo.models.autoencoders", "zoo.models.classifier", "zoo.training"}


@pytest.mark.parametrize("module", [pytest.param(m, marks=pytest.mark.mnist) if m in READS_MNIST else m
                                    for m in WITH_EXAMPLES])
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"np": np, "zoo": zoo}, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {module} failed (see the output above)"


def readme_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_examples_are_examples():
    blocks = readme_blocks()
    assert len(blocks) >= 3 and all(">>>" in b for b in blocks), "README's python blocks are written as examples"


@pytest.mark.mnist
@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_python_examples_run(index, tmp_path, monkeypatch):
    """The README's python blocks, in order, share one namespace, as a reader's session would."""
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    globs = {"np": np, "zoo": zoo}
    for block in readme_blocks()[: index + 1]:  # earlier blocks set up what later ones use
        test = doctest.DocTestParser().get_doctest(block, globs, f"README.md block {index + 1}", "README.md", 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, clear_globs=False)
        globs = test.globs
    assert runner.failures == 0, f"README.md python block {index + 1} failed (see the output above)"
