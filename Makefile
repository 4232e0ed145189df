# Two commands on a fresh machine:  make demo   and   make test
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
# a search path: MNIST from ../shared, Fashion-MNIST where Debian's dataset-fashion-mnist puts it
export ZOO_DATA_DIR ?= $(abspath ../shared/data):/usr/share/datasets
export TF_CPP_MIN_LOG_LEVEL ?= 2

FASHION := /usr/share/datasets/fashion-mnist

.PHONY: install data browser demo test test-fast bench clean runtime-wheel gallery

$(BIN)/zoo: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# Triton's ModelConfig proto, to check the repositories zoo serving-config --triton writes; without
	# its dependencies, whose pins (ml_dtypes<=0.5.4, protobuf<7) would downgrade TensorFlow's
	$(BIN)/pip install -q --no-deps tritonclient==2.73.0
	touch $@

# ONNX Runtime Web for the gallery, exactly as gallery/package-lock.json pins it
gallery/node_modules/.package-lock.json: gallery/package.json gallery/package-lock.json
	npm ci --prefix gallery --no-audit --no-fund --ignore-scripts

install: $(BIN)/zoo gallery/node_modules/.package-lock.json

data:    ## Fashion-MNIST from Debian when it is missing (MNIST comes from ../shared/data)
	@test -d $(FASHION) || apt-get install -y -qq dataset-fashion-mnist >/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; } \
	  || echo "make: could not install dataset-fashion-mnist (needs root): Fashion-MNIST tests are skipped, its models still load" >&2

browser: ## Debian's Chromium, which the gallery's tests drive (headless, through Playwright)
	@test -x /usr/bin/chromium || apt-get install -y -qq chromium >/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "make: could not install chromium (needs root): the gallery's browser tests are skipped" >&2

gallery: install   ## the static site where the models run in the browser: out/gallery (then: zoo gallery out/gallery --serve)
	$(BIN)/zoo gallery out/gallery

demo: install data   ## load every artifact, print its card, write sample pictures to out/
	$(BIN)/python -m zoo.demo out

# -n auto: one pytest worker per core (pytest-xdist); much of the suite waits on fresh
# processes (TensorFlow imports, saved_model_cli, workers), which a second worker overlaps
test: install data browser   ## the whole test suite
	$(BIN)/python -m pytest -q -n auto --durations=30 tests

test-fast: install data
	$(BIN)/python -m pytest -q -n auto -m "not slow" tests

bench: install   ## benchmark suite (minutes of CPU): prints the table, writes BENCHMARKS.md
	$(BIN)/python benchmarks/run.py --json benchmarks/results.json

runtime-wheel: install   ## zoo-runtime: the models without TensorFlow (zoo.runtime), as dist/zoo_runtime-*.whl
	$(BIN)/python runtime/build.py dist

clean:
	rm -rf $(VENV) out .pytest_cache
