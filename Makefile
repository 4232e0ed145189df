# Two commands on a fresh machine:  make demo   and   make test
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
# a search path: MNIST from ../shared, Fashion-MNIST where Debian's dataset-fashion-mnist puts it
export ZOO_DATA_DIR ?= $(abspath ../shared/data):/usr/share/datasets
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install demo test test-fast bench clean

$(BIN)/zoo: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/zoo

demo: install    ## load every artifact, print its card, write sample pictures to out/
	$(BIN)/python -m zoo.demo out

test: install    ## the whole test suite
	$(BIN)/python -m pytest -q tests

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow" tests

bench: install   ## benchmark suite (minutes of CPU): prints the table, writes BENCHMARKS.md
	$(BIN)/python benchmarks/run.py --json benchmarks/results.json

clean:
	rm -rf $(VENV) out .pytest_cache
