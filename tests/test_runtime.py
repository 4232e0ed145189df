"""The zoo without TensorFlow (issue 36, part 3): the `zoo-runtime` wheel installed into a fresh
virtualenv that has no TensorFlow or Keras loads published models from a store over HTTP, checks
and caches their ONNX files (and nothing else), answers as the Keras models do, checks inputs as
the SavedModel does, and then works offline; a manifest that cannot be trusted is refused."""

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from functools import partial

import numpy as np
import pytest

import zoo
from conftest import ROOT, WITHOUT_TENSORFLOW, borrowed_venv, runtime_build
from zoo import runtime, store

pytestmark = pytest.mark.slow
MODELS = {"cnn-mnist": 6, "snake-dqn": 6}  # versions published with their ONNX forms

CLIENT = WITHOUT_TENSORFLOW + r'''
import zoo, zoo.runtime

work = Path(sys.argv[1])
inputs, out, errors = np.load(work / "inputs.npz"), {}, {}
cnn = zoo.runtime.load("cnn-mnist", seed=0)
snake = zoo.runtime.load("snake-dqn", threads=1)
out["classify"], out["proba"] = cnn.classify(inputs["x"]), cnn.predict_proba(inputs["x"])
out["act"], out["q"] = snake.act(inputs["obs"]), snake.q_values(inputs["obs"])
out["int8"] = zoo.runtime.load("cnn-mnist", precision="int8").predict_proba(inputs["x"])
bad = {"pixels": inputs["x"] * 255, "no_channel": inputs["x"][..., 0], "one_image": inputs["x"][0],
       "uint8": (inputs["x"] * 255).astype("uint8"), "nan": np.full_like(inputs["x"], np.nan)}
for what, x in bad.items():
    try:
        cnn.classify(x)
        errors[what] = "accepted"
    except (TypeError, ValueError) as e:
        errors[what] = str(e)
try:
    zoo.load("cnn-mnist")
    errors["zoo.load"] = "accepted"
except ImportError as e:
    errors["zoo.load"] = str(e)
np.savez(work / "outputs.npz", **out)
print(json.dumps({"modules": sorted(m for m in ("tensorflow", "keras") if m in sys.modules), "errors": errors,
                  "repr": repr(cnn), "version": cnn.version}))
'''


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A store of two published versions with ONNX forms, served over HTTP on 127.0.0.1."""
    root = tmp_path_factory.mktemp("store")
    for name, version in MODELS.items():
        source, folder = ROOT / "artifacts" / name, root / name
        folder.mkdir()
        shutil.copytree(source / str(version), folder / str(version))
        shutil.copy(source / f"{name}.v{version}.keras", folder)
        shutil.copy(source / f"card.v{version}.json", folder)
    store.write_index(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def client_python(tmp_path_factory):
    """A fresh virtualenv with the zoo-runtime wheel installed and its dependencies borrowed:
    no TensorFlow, no Keras."""
    place = tmp_path_factory.mktemp("client")
    wheel = runtime_build().build(place / "wheels")
    python = borrowed_venv(place / "venv", ["numpy", "onnxruntime", "requests", "filelock", "tqdm"])
    p = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return python


def _client(python, work, env):
    p = subprocess.run([str(python), "-c", CLIENT, str(work)], capture_output=True, text=True, timeout=300, env=env,
                       cwd=work)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_the_runtime_wheel_loads_models_over_http_then_offline_without_tensorflow(served, client_python, tmp_path,
                                                                                   test_images):
    root, url = served
    x = test_images[0][:8]
    snake = zoo.load("snake-dqn", version=MODELS["snake-dqn"])
    obs = np.stack([zoo.envs.SnakeEnv().reset(seed=i)[0] for i in range(4)])
    np.savez(tmp_path / "inputs.npz", x=x, obs=obs)
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    report = _client(client_python, tmp_path, {**env, "ZOO_STORE": url, "ZOO_HOME": str(cache)})
    assert report["modules"] == [], "TensorFlow or Keras was imported"
    assert report["version"] == MODELS["cnn-mnist"] and "ClassifierRuntime cnn-mnist version 6 (float32)" in report["repr"]
    cnn = zoo.load("cnn-mnist", version=MODELS["cnn-mnist"])
    got = np.load(tmp_path / "outputs.npz")
    np.testing.assert_array_equal(got["classify"], np.asarray(cnn.classify(x)))
    np.testing.assert_allclose(got["proba"], np.asarray(cnn.predict_proba(x)), atol=1e-5)
    np.testing.assert_array_equal(got["act"], np.asarray(snake.act(obs)))
    np.testing.assert_allclose(got["q"], np.asarray(snake.q_values(obs)), rtol=1e-5, atol=1e-5)
    assert np.abs(got["int8"] - got["proba"]).max() < 0.2 and (got["int8"].argmax(1) == got["classify"]).mean() >= 0.75
    errors = report["errors"]
    assert "divide by 255" in errors["pixels"] and "x[..., None]" in errors["no_channel"]
    assert "x[None]" in errors["one_image"] and "dtype uint8" in errors["uint8"] and "NaN" in errors["nan"]
    assert "zoo.runtime.load" in errors["zoo.load"]
    cached = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())
    fetched = [p for p in cached if p.startswith(("cnn-mnist/", "snake-dqn/"))]
    assert fetched and all("/onnx/" in p for p in fetched), f"only ONNX files are fetched: {fetched}"
    assert any(p.endswith("int8/classify.onnx") for p in fetched) and not any(p.endswith(".keras") for p in fetched)
    shutil.rmtree(root / "cnn-mnist")  # the store is gone: the cache alone answers
    offline = _client(client_python, tmp_path, {**env, "ZOO_OFFLINE": "1", "ZOO_HOME": str(cache)})
    assert offline["modules"] == [] and offline["version"] == MODELS["cnn-mnist"]
    np.testing.assert_array_equal(np.load(tmp_path / "outputs.npz")["classify"], got["classify"])


def _store_with(tmp_path, name="snake-dqn"):
    root = tmp_path / "store"
    (root / name).mkdir(parents=True)
    shutil.copytree(ROOT / "artifacts" / name / str(MODELS[name]), root / name / str(MODELS[name]))
    return root, root / name / str(MODELS[name]) / "onnx" / "manifest.json"


@pytest.mark.parametrize("change, says", [
    (lambda m: m["signatures"]["act"]["files"].update(float32="onnx/../../../../escape.onnx"), "files.float32"),
    (lambda m: m["signatures"]["act"]["files"].update(float32="/etc/passwd"), "files.float32"),
    (lambda m: m["signatures"]["act"]["files"].update(int8="onnx/q_values.onnx", float32="saved_model.pb"), "onnx"),
    (lambda m: m["signatures"]["act"]["inputs"][0].update(dtype="float64"), "dtype"),
    (lambda m: m["signatures"]["act"]["inputs"][0].update(shape=[4, 16]), "shape"),
    (lambda m: m.update(format=2), "format"),
    (lambda m: m["signatures"]["act"].update(outputs={"action": "q_values"}), "not the manifest's"),
])
def test_a_manifest_that_cannot_be_trusted_is_refused(tmp_path, monkeypatch, change, says):
    root, path = _store_with(tmp_path)
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    store.write_index(root)  # the index agrees with the tampered file: the manifest itself is checked
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "cache"))
    with pytest.raises((runtime.ManifestError, ValueError)) as e:
        runtime.load("snake-dqn", store=str(root))
    assert says in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "escape.onnx").exists()


def test_a_file_that_does_not_match_the_index_is_not_loaded(tmp_path, monkeypatch):
    root, path = _store_with(tmp_path)
    store.write_index(root)
    onnx_file = path.parent / "act.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "cache"))
    with pytest.raises(store.ArtifactError, match="corrupt or incomplete"):
        runtime.load("snake-dqn", store=str(root))


def test_what_a_user_asks_wrongly_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "cache"))
    for kwargs, says in (({"name": "../x"}, "not a model name"), ({"name": "cnn-mnist", "precision": "int4"}, "precision"),
                         ({"name": "cnn-mnist", "threads": 0}, "threads"),
                         ({"name": "dcgan-mnist"}, "has ONNX forms")):
        with pytest.raises((ValueError, store.ArtifactError), match=says):
            runtime.load(**kwargs)
    with pytest.raises(store.ArtifactError, match="no ONNX forms"):
        runtime.load("cnn-mnist", version=1)
    model = runtime.load("cnn-mnist")
    with pytest.raises(ValueError, match="has no ONNX signature 'sample'; it has classify, features"):
        model.run("sample", np.zeros((1, 28, 28, 1), "float32"))
    with pytest.raises(TypeError, match="missing images"):
        model.run("classify")
