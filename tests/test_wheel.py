"""The zoo as its users get it: a wheel (no artifacts inside) installed outside the checkout,
models fetched from a store served over HTTP, checked, cached, then used offline."""

import http.server
import os
import shutil
import subprocess
import sys
import sysconfig
import threading

import pytest

from conftest import ROOT
from zoo import store

pytestmark = pytest.mark.slow


def _run(args, env, cwd, timeout=600):
    p = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(map(str, args))} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _is_distribution(printed: str) -> bool:
    """The printed policy sums to 1 up to float32 round-off (its last bits depend on the CPU's
    kernels: 1.0 on an Intel with AMX, 0.99999988 on an AMD EPYC)."""
    return abs(float(printed.split()[-1]) - 1.0) < 1e-5


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    wheels = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT], os.environ, ROOT)
    return next(wheels.glob("zoo-*.whl"))


def test_the_wheel_holds_every_package_and_the_recipes(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    packages = {str(p.parent.relative_to(ROOT)).replace("/", ".") for p in (ROOT / "zoo").rglob("__init__.py")}
    assert packages <= {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}, packages
    assert {f"zoo/train/{p.name}" for p in (ROOT / "train").glob("*.toml")} <= set(names)


RECIPE = ("import sys, zoo; from zoo import recipes; print(zoo.__file__); print(recipes.load('vae-mnist')['source']); "
          "from zoo import cli; sys.exit(cli.main(['train', 'vae-mnist', '--set', 'epochs=0']))")


@pytest.mark.parametrize("how", ["--target", "--prefix", "--user"])
def test_recipes_travel_with_every_kind_of_install(wheel, tmp_path, how):
    """The recipes are package data: found wherever pip puts the package, not under sys.prefix."""
    place, deps = tmp_path / "place", sysconfig.get_paths()["purelib"]  # TensorFlow etc. borrowed as above
    env = {k: v for k, v in os.environ.items() if k not in ("ZOO_ARTIFACTS_DIR", "PYTHONPATH", "PYTHONUSERBASE")}
    if how == "--user":  # the interpreter the test's venv was made from: a venv refuses --user installs
        python = getattr(sys, "_base_executable", sys.executable)
        env.update(PYTHONUSERBASE=str(place), PIP_BREAK_SYSTEM_PACKAGES="1")  # a user site, not the system's
        _run([python, "-m", "pip", "install", "-q", "--no-deps", "--user", wheel], env, tmp_path)
        installed = next(place.glob("lib/python*/site-packages"))
        env["PYTHONPATH"] = deps
    else:
        python = sys.executable
        # --ignore-installed: pip would otherwise uninstall the running venv's own (editable) zoo first
        _run([python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", how, place, wheel], env, tmp_path)
        installed = place if how == "--target" else next(place.glob("lib/python*/site-packages"))
        env["PYTHONPATH"] = f"{installed}{os.pathsep}{deps}"
    p = subprocess.run([python, "-c", RECIPE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    printed = p.stdout.split()
    assert printed[:2] == [str(installed / "zoo" / "__init__.py"), str(installed / "zoo" / "train" / "vae-mnist.toml")], \
        p.stdout + p.stderr[-2000:]
    assert p.returncode == 2 and "train.epochs = 0 is below its minimum 1" in p.stderr, p.stderr[-2000:]


def test_installed_wheel_loads_pulls_verifies_and_retrains_from_an_http_store(tmp_path, wheel):
    # A fresh venv: zoo from the wheel only; its dependencies (TensorFlow...) are borrowed from the
    # test's own environment through a .pth line, which spares a 600 MB download and does not
    # bring the checkout's editable install along (.pth files of an added path are not run).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], os.environ, tmp_path)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([venv / "bin" / "pip", "install", "-q", "--no-deps", wheel], os.environ, tmp_path)

    served = tmp_path / "served"
    for name in ("alphazero-tictactoe", "snake-dqn"):
        shutil.copytree(ROOT / "artifacts" / name, served / name)
    store.write_index(served)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {k: v for k, v in os.environ.items() if k not in ("ZOO_ARTIFACTS_DIR", "PYTHONPATH", "ZOO_OFFLINE")}
    env.update(ZOO_STORE=url, ZOO_HOME=str(tmp_path / "home"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    py, zoo_cmd = venv / "bin" / "python", venv / "bin" / "zoo"
    check = ("import zoo, numpy as np; net = zoo.load('alphazero-tictactoe'); g = net.game(); "
             "p, v = net.predict_board(g.encode(g.initial())[None]); print(zoo.__file__, float(np.sum(p)))")
    try:
        out = _run([py, "-c", check], env, work)
        assert str(site) in out and str(ROOT) not in out.split()[0], out  # the installed copy, not the checkout
        assert _is_distribution(out), out
        assert "snake-dqn version 1: checked" in _run([zoo_cmd, "pull", "snake-dqn@1"], env, work)
        assert "alphazero-tictactoe@1: ok" in _run([zoo_cmd, "verify"], env, work)
        out = _run([zoo_cmd, "train", "alphazero-tictactoe", "--out", "run", "--max-steps", "1", "--quiet", "--set",
                    "model.filters=8", "--set", "model.blocks=1", "--set", "games_per_iteration=2", "--set",
                    "train.simulations=4", "--set", "arena_games=0", "--set", "eval_games=0", "--set", "reference_games=0"],
                   env, work)
        assert "1 iterations" in out and (work / "run" / "recipe.toml").is_file()
    finally:
        server.shutdown()
    offline = {**env, "ZOO_OFFLINE": "1"}
    out = _run([py, "-c", check], offline, work)
    assert _is_distribution(out), out
    assert "snake-dqn" in _run([py, "-c", "import zoo; print(type(zoo.load('snake-dqn')).__name__, 'snake-dqn')"], offline, work)
