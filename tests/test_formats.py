"""Every version beyond TensorFlow (issue 36): each published model's serving signatures,
converted to ONNX and LiteRT the way the publishing pass converts them (`zoo.formats`), give
the SavedModel's outputs where users run them, in a virtualenv that holds numpy, ONNX Runtime
and LiteRT and no TensorFlow."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import zoo
from conftest import WITHOUT_TENSORFLOW, borrowed_venv
from zoo import formats
from zoo.models import family_of

pytestmark = pytest.mark.slow
NAMES = zoo.list_models()

RUN_WITHOUT_TENSORFLOW = r'''
import json, sys
from pathlib import Path
import numpy as np
try:
    import tensorflow
    sys.exit("tensorflow is importable here")
except ModuleNotFoundError:
    pass
import onnxruntime
from ai_edge_litert.interpreter import Interpreter

root = Path(sys.argv[1])
manifest = json.loads((root / "manifest.json").read_text())
inputs, out = np.load(root / "inputs.npz"), {}
for name, record in manifest.items():
    litert = Interpreter(model_path=str(root / name / record["litert"]["file"])) if record["litert"] else None
    for sig, onnx_model in record["onnx"]["signatures"].items():
        feed = {k: inputs[f"{name}:{sig}:{k}"] for k in onnx_model["inputs"]}
        session = onnxruntime.InferenceSession(str(root / name / onnx_model["file"]), providers=["CPUExecutionProvider"])
        got = dict(zip([o.name for o in session.get_outputs()], session.run(None, feed)))
        for key, onnx_name in onnx_model["outputs"].items():
            out[f"onnx|{name}:{sig}:{key}"] = got[onnx_name]
        if litert is not None:
            for key, value in litert.get_signature_runner(sig)(**feed).items():
                out[f"litert|{name}:{sig}:{key}"] = value
np.savez(root / "outputs.npz", **out)
print(json.dumps({"modules": sorted(m for m in ("tensorflow", "keras", "zoo") if m in sys.modules), "outputs": len(out)}))
'''


def _formats_of(name, model, folder):
    """The newest version's ONNX and LiteRT forms in `folder` and their card record: the published
    files when the version has them (what users get), else converted as the publishing pass would."""
    card = zoo.hub.card(name)
    if not (card.get("formats") or {}).get("onnx"):
        return formats.write_formats(model, folder)
    published = zoo.get_entry(name).artifact_dir / str(card.version)
    shutil.copytree(published / "onnx", folder / "onnx")
    for litert in (card["formats"]["litert"]["file"], card["formats"]["litert"]["int8"]):
        shutil.copy(published / litert, folder / litert)
    return card["formats"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Every published model's newest version's ONNX and LiteRT forms (`_formats_of`), with fixed
    inputs per signature and the published SavedModel's outputs for them."""
    root = tmp_path_factory.mktemp("formats")
    manifest, inputs, expected, signatures = {}, {}, {}, {}
    for name in NAMES:
        model = zoo.load(name)
        manifest[name] = _formats_of(name, model, root / name)
        served = zoo.load(name, format="saved_model").signatures
        signatures[name] = family_of(model).serving_signatures()
        for sig, (_, specs) in signatures[name].items():
            feed = family_of(model).serving_examples(specs, batch=4, seed=1)
            inputs.update({f"{name}:{sig}:{k}": v for k, v in feed.items()})
            expected.update({f"{name}:{sig}:{k}": np.asarray(v) for k, v in served[sig](
                **{k: tf.constant(v) for k, v in feed.items()}).items()})
    (root / "manifest.json").write_text(json.dumps(manifest))
    np.savez(root / "inputs.npz", **inputs)
    return root, manifest, expected, {name: set(sigs) for name, sigs in signatures.items()}


def test_every_signature_is_converted_or_says_why(converted):
    root, manifest, _, signatures = converted
    for name, record in manifest.items():
        sigs = signatures[name]
        onnx_sigs, not_converted = set(record["onnx"]["signatures"]), set(record["not_converted"])
        assert onnx_sigs | not_converted == sigs and not onnx_sigs & not_converted, name
        assert set(record["litert"].get("signatures", [])) == onnx_sigs, name
        assert all(len(why) > 40 for why in record["not_converted"].values()), "a reason names what cannot convert"
        assert set(record["unchecked_inputs"]) == onnx_sigs, "each converted signature says what to check first"
        for onnx_model in record["onnx"]["signatures"].values():
            assert (root / name / onnx_model["file"]).stat().st_size > 1000
    assert manifest["dcgan-mnist"]["not_converted"].keys() == {"sample"}, "only the per-seed sampler cannot convert"


def test_every_converted_signature_gives_the_saved_models_outputs_without_tensorflow(converted, tmp_path):
    root, manifest, expected, _ = converted
    python = borrowed_venv(tmp_path / "venv", ["numpy", "onnxruntime", "ai-edge-litert"])
    p = subprocess.run([str(python), "-c", RUN_WITHOUT_TENSORFLOW, str(root)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["modules"] == [], "TensorFlow, Keras or the zoo was imported"
    got = np.load(root / "outputs.npz")
    checked = 0
    for key in got.files:
        runtime, what = key.split("|")
        name, sig, _ = what.split(":")
        if sig in manifest[name]["onnx"]["signatures"]:
            np.testing.assert_allclose(got[key], expected[what], rtol=1e-5, atol=1e-5, err_msg=key)
            checked += 1
    converted_outputs = sum(len(s["outputs"]) for r in manifest.values() for s in r["onnx"]["signatures"].values())
    assert checked == 2 * converted_outputs, "every output of every converted signature, in both runtimes"


def _triton_model_config():
    """Triton's own model configuration protos, from the generated module tritonclient ships (loaded
    by path: the `tritonclient.grpc` package imports grpc, which only this proto's file spares)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("tritonclient")
    path = Path(spec.submodule_search_locations[0]) / "grpc" / "model_config_pb2.py"
    module_spec = importlib.util.spec_from_file_location("triton_model_config_pb2", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_a_triton_repository_serves_every_onnx_signature(tmp_path, monkeypatch):
    """Issue 36, part 6: `zoo serving-config --triton DIR` lays out a Triton model repository
    (one model per ONNX signature, `<version>/model.onnx`, `config.pbtxt`) that Triton's own
    ModelConfig proto parses, whose names, types and shapes are the ONNX files'."""
    import onnx
    from google.protobuf import text_format

    from conftest import copy_version
    from zoo import artifacts, cli, store

    root = tmp_path / "artifacts"
    copy_version(root, "cgan-mnist", 5)
    copy_version(root, "snake-dqn", 5)
    store.write_index(root)
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(root))
    monkeypatch.delenv("ZOO_STORE", raising=False)
    for name in ("cgan-mnist", "snake-dqn"):  # versions 6 carry the formats
        artifacts.republish(name, 5, note="the formats", verbose=False)
    assert cli.main(["serving-config", "--triton", str(tmp_path / "triton")]) == 0
    protos = _triton_model_config()
    models = sorted(p.name for p in (tmp_path / "triton").iterdir())
    assert models == ["cgan-mnist-generate", "snake-dqn-act", "snake-dqn-q_values"], models
    onnx_types = {1: "TYPE_FP32", 6: "TYPE_INT32", 7: "TYPE_INT64"}
    for model in models:
        config = text_format.Parse((tmp_path / "triton" / model / "config.pbtxt").read_text(), protos.ModelConfig())
        assert config.name == model and config.platform == "onnxruntime_onnx" and config.max_batch_size == 256
        assert [p.name for p in (tmp_path / "triton" / model).iterdir() if p.is_dir()] == ["6"], "only versions with ONNX"
        graph = onnx.load(str(tmp_path / "triton" / model / "6" / "model.onnx")).graph
        for declared, actual in ((config.input, graph.input), (config.output, graph.output)):
            assert [t.name for t in declared] == [v.name for v in actual]
            for t, v in zip(declared, actual):
                dims = [d.dim_value or -1 for d in v.type.tensor_type.shape.dim]
                assert onnx_types[v.type.tensor_type.elem_type] == protos.DataType.Name(t.data_type), (model, t.name)
                assert (list(t.dims) if not t.HasField("reshape") else []) == dims[1:], (model, t.name, dims)


# --- zoo.runtime: the Keras models' methods without TensorFlow (issue 36, part 3) -------------------
RUNTIME_METHODS = WITHOUT_TENSORFLOW + r'''
import zoo.runtime
from zoo.games import RandomPlayer, play_game

root, out, report = Path(sys.argv[1]), {}, {}
calls = json.loads((root / "calls.json").read_text())
inputs = np.load(root / "method_inputs.npz")
for name, methods in calls.items():
    model = zoo.runtime.load_folder(root / name, name, 1, seed=0)
    report[name] = type(model).__name__
    for method, args in methods:
        result = getattr(model, method)(*[inputs[a] if isinstance(a, str) else a for a in args])
        for i, part in enumerate(result if isinstance(result, tuple) else (result,)):
            out[f"{name}:{method}:{i}"] = part
    if hasattr(model, "sample"):
        out[f"{name}:sample:0"] = model.sample(labels=[1, 2, 3]) if hasattr(model, "num_classes") else model.sample(3)
    if hasattr(model, "player"):
        game = model.game()
        _, states = play_game(game, {1: model.player(8, seed=0), -1: RandomPlayer(game, seed=1)})
        out[f"{name}:game:0"] = np.array([s.board for s in states])
    int8 = zoo.runtime.load_folder(root / name, name, 1, precision="int8")
    sig, record = next(iter(int8.manifest["signatures"].items()))
    out[f"{name}:int8:0"] = next(iter(int8.run(sig, *[inputs[f"{name}:{sig}:{r['name']}"] for r in record["inputs"]]).values()))
np.savez(root / "method_outputs.npz", **out)
print(json.dumps({"modules": sorted(m for m in ("tensorflow", "keras") if m in sys.modules), "classes": report}))
'''

KIND_METHODS = {  # what each kind of runtime model is called with: inputs by name ("x": 6 test digits...)
    "autoencoder": [("encode", ["x"]), ("decode", ["z"]), ("reconstruct", ["x"])],
    "vae": [("encode", ["x"]), ("decode", ["z"]), ("reconstruct", ["x"]), ("interpolate", ["x0", "x1", 5]),
            ("arithmetic", ["x01", "x23", "x45"])],
    "gan": [("generate", ["z"]), ("discriminate", ["x"])],
    "conditional_gan": [("generate", ["z", "labels"])],
    "classifier": [("classify", ["x"]), ("predict_proba", ["x"]), ("features", ["x"])],
    "q_agent": [("act", ["obs"]), ("q_values", ["obs"])],
    "policy_value": [("predict_board", ["board"])],
}
KIND_METHODS["vaegan"] = KIND_METHODS["vae"] + [("discriminate", ["x"])]


def test_the_runtime_has_the_keras_models_methods_without_tensorflow(converted, tmp_path, test_images):
    """`zoo.runtime` over each model's converted files (manifest included), in a virtualenv without
    TensorFlow or Keras: every method gives the Keras method's result within 1e-5, samples are
    images in [0, 1], a board game played from the same seeds makes the Keras player's moves, and
    the int8 files load and run."""
    from conftest import runtime_build
    from zoo.games import RandomPlayer, play_game

    root, manifest, _, _ = converted
    x = test_images[0][:6]
    arrays = {"x": x, "x0": x[0], "x1": x[1], "x01": x[0:2], "x23": x[2:4], "x45": x[4:6],
              "labels": np.arange(6, dtype="int32")}
    calls, expected = {}, {}
    for name in NAMES:
        model, kind = zoo.load(name), json.loads((root / name / "onnx" / "manifest.json").read_text())["runtime"]
        sigs = json.loads((root / name / "onnx" / "manifest.json").read_text())["signatures"]
        for sig, record in sigs.items():
            arrays.update({f"{name}:{sig}:{r['name']}": v for r, v in zip(record["inputs"], _example(model, sig))})
        own = {"z": f"{name}:z", "obs": f"{name}:obs", "board": f"{name}:board"}
        if kind in ("autoencoder", "vae", "vaegan", "gan", "conditional_gan"):
            arrays[own["z"]] = np.random.default_rng(3).standard_normal((6, model.latent_dim)).astype("float32")
        for key, sig in (("obs", "act"), ("board", "predict")):
            if sig in sigs:
                arrays[own[key]] = _example(model, sig)[0]
        calls[name] = [(m, [own.get(a, a) for a in args]) for m, args in KIND_METHODS[kind]]
        for method, args in calls[name]:
            result = getattr(model, method)(*[arrays[a] if isinstance(a, str) else a for a in args])
            for i, part in enumerate(result if isinstance(result, tuple) else (result,)):
                expected[f"{name}:{method}:{i}"] = np.asarray(part)
        if kind == "policy_value":
            game = model.game()
            _, states = play_game(game, {1: model.player(8, seed=0), -1: RandomPlayer(game, seed=1)})
            expected[f"{name}:game:0"] = np.array([s.board for s in states])
    (root / "calls.json").write_text(json.dumps(calls))
    np.savez(root / "method_inputs.npz", **arrays)
    python = borrowed_venv(tmp_path / "venv", ["numpy", "onnxruntime", "requests", "filelock", "tqdm"])
    runtime_build().stage(tmp_path / "runtime")  # the zoo-runtime distribution's files, on the path
    p = subprocess.run([str(python), "-c", RUNTIME_METHODS, str(root)], capture_output=True, text=True, timeout=600,
                       cwd=tmp_path / "runtime")
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["modules"] == [], "TensorFlow or Keras was imported"
    assert report["classes"]["vae-mnist"] == "VAERuntime" and report["classes"]["alphazero-connect4"] == "PolicyValueRuntime"
    got = np.load(root / "method_outputs.npz")
    for key, want in expected.items():
        assert got[key].shape == want.shape, key
        if np.issubdtype(want.dtype, np.integer):
            np.testing.assert_array_equal(got[key], want, err_msg=key)
        else:
            np.testing.assert_allclose(got[key], want, rtol=1e-5, atol=1e-5, err_msg=key)
    samples = [k for k in got.files if k.endswith(":sample:0")]
    assert {k.split(":")[0] for k in samples} == {"cgan-fashion-mnist", "cgan-mnist", "dcgan-mnist", "vae-mnist",
                                                   "vaegan-mnist"} and all(got[k].shape[1:] == (28, 28, 1) and 0 <= got[k].min() <= got[k].max() <= 1
                                     for k in samples), samples
    assert all(np.isfinite(got[f"{name}:int8:0"]).all() for name in NAMES)


def _example(model, sig):
    """The inputs, in order, of the serving examples of one signature (two of them)."""
    _, specs = family_of(model).serving_signatures()[sig]
    feed = family_of(model).serving_examples(specs, batch=2, seed=4)
    return [np.asarray(feed[s.name]) for s in specs]
