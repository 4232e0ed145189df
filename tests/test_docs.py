"""The examples in the package's docstrings, README.md and docs/*.md run, and say what they print; their links resolve."""

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


DOCS = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))
# pages whose python blocks are sessions a reader can type (docs/serving.md's sketch paths like <N>)
EXAMPLE_DOCS = ["README.md", "docs/retraining.md", "docs/self-play.md"]


def python_blocks(doc: str = "README.md") -> list[str]:
    """The ```python blocks of one page (README.md or a docs/ page)."""
    return re.findall(r"```python\n(.*?)```", (ROOT / doc).read_text(), flags=re.S)


EXAMPLES = [(doc, i) for doc in EXAMPLE_DOCS for i in range(len(python_blocks(doc)))]


def test_readme_python_examples_are_examples():
    blocks = [b for doc in EXAMPLE_DOCS for b in python_blocks(doc)]
    assert len(python_blocks()) >= 2 and len(blocks) >= 4, "the front page and the docs show runnable examples"
    assert all(">>>" in b for b in blocks), "python blocks are written as examples"


@pytest.mark.mnist
@pytest.mark.parametrize("doc, index", EXAMPLES, ids=[f"{d}:{i + 1}" for d, i in EXAMPLES])
def test_readme_python_examples_run(doc, index, tmp_path, monkeypatch):
    """A page's python blocks, in order, share one namespace, as a reader's session would."""
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    globs = {"np": np, "zoo": zoo}
    for block in python_blocks(doc)[: index + 1]:  # earlier blocks set up what later ones use
        test = doctest.DocTestParser().get_doctest(block, globs, f"{doc} block {index + 1}", doc, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, clear_globs=False)
        globs = test.globs
    assert runner.failures == 0, f"{doc} python block {index + 1} failed (see the output above)"


def test_every_link_to_a_file_of_the_repository_resolves():
    """The README and the docs pages link each other and the code: no link to a file that is not there."""
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", (ROOT / doc).read_text()):
            if not re.match(r"[a-z]+://", target) and not ((ROOT / doc).parent / target).exists():
                broken.append(f"{doc}: {target}")
    assert not broken, "\n".join(broken)
