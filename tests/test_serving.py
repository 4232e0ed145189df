"""The serving contract, proven with the tools that ship with TensorFlow and the serving protos."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import zoo
from conftest import run_python
from test_artifacts import NAMES
from zoo import serving, signatures
from zoo.models import family_of

WARMUP_REPLAY = """
import sys
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2
model = tf.saved_model.load(sys.argv[1])
out = {}
for i, rec in enumerate(tf.data.TFRecordDataset(sys.argv[1] + "/assets.extra/tf_serving_warmup_requests")):
    req = prediction_log_pb2.PredictionLog.FromString(rec.numpy()).predict_log.request
    args = {k: tf.constant(tf.make_ndarray(v)) for k, v in req.inputs.items()}
    for name, value in model.signatures[req.model_spec.signature_name](**args).items():
        out[f"{req.model_spec.signature_name}:{name}"] = value.numpy()
np.savez(sys.argv[2], **out)
assert "zoo" not in sys.modules  # (the serving protos pull in keras through TF; zoo never)
"""


@pytest.fixture(scope="module", params=NAMES)
def served(request):
    name = request.param
    entry = zoo.get_entry(name)
    assert entry.versions(), f"{name} has no committed artifact"
    return name, entry.artifact_dir / str(entry.versions()[-1]), zoo.load(name)


def test_warmup_file_fits_the_signatures(served):
    name, sm_dir, model = served
    requests = serving.read_warmup(sm_dir)
    sigs = family_of(model).serving_signatures()
    assert sorted(s for s, _ in requests) == sorted(sigs), "one warm-up request per signature"
    for sig, inputs in requests:
        specs = {s.name: s for s in sigs[sig][1]}
        assert set(inputs) == set(specs)
        for k, v in inputs.items():
            assert v.dtype == specs[k].dtype.as_numpy_dtype and specs[k].shape.is_compatible_with(v.shape)


def test_warmup_replayed_in_fresh_process_matches_keras(served, tmp_path):
    name, sm_dir, model = served
    run_python(WARMUP_REPLAY, sm_dir, tmp_path / "out.npz")
    replayed = np.load(tmp_path / "out.npz")
    sigs = family_of(model).serving_signatures()
    for sig, inputs in serving.read_warmup(sm_dir):
        fn, specs = sigs[sig]
        live = fn(*[tf.constant(inputs[s.name]) for s in specs])
        for out_name, value in live.items():
            np.testing.assert_allclose(replayed[f"{sig}:{out_name}"], np.asarray(value), atol=1e-5)


def test_a_large_batch_gives_each_row_what_a_small_one_does(served):
    """A batch of HALVES_FROM_ROWS rows or more runs as two halves (`signatures.in_halves`):
    every signature computes each row on its own, so its rows equal those of small batches."""
    name, sm_dir, model = served
    loaded = tf.saved_model.load(str(sm_dir)).signatures
    n, small = 4 * signatures.HALVES_FROM_ROWS + 3, signatures.HALVES_FROM_ROWS - 1
    for sig, (_, specs) in family_of(model).serving_signatures().items():
        feed = {k: tf.constant(v) for k, v in family_of(model).serving_examples(specs, batch=n).items()}
        whole = loaded[sig](**feed)
        parts = [loaded[sig](**{k: v[i:i + small] for k, v in feed.items()}) for i in range(0, n, small)]
        for out, value in whole.items():
            np.testing.assert_allclose(value, np.concatenate([p[out] for p in parts]), atol=1e-5, err_msg=f"{sig}:{out}")


def test_saved_model_cli_runs_every_signature(served, tmp_path):
    name, sm_dir, model = served
    cli = Path(sys.executable).with_name("saved_model_cli")
    runs = []  # every signature's process starts at once: most of each is TensorFlow's import, on two cores
    for sig, inputs in serving.read_warmup(sm_dir):
        args = []
        for k, v in inputs.items():
            np.save(tmp_path / f"{sig}_{k}.npy", v)
            args.append(f"{k}={tmp_path / f'{sig}_{k}.npy'}")
        proc = subprocess.Popen([str(cli), "run", "--dir", str(sm_dir), "--tag_set", "serve", "--signature_def", sig,
                                 "--inputs", ";".join(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs.append((sig, inputs, proc))
    for sig, inputs, proc in runs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{sig}: {stderr[-2000:]}"
        fn, specs = family_of(model).serving_signatures()[sig]
        outputs = set(fn(*[tf.constant(inputs[s.name]) for s in specs]))
        for out in outputs:
            assert f"Result for output key {out}:" in stdout


def test_rest_bodies_round_trip(served):
    name, sm_dir, model = served
    for sig, inputs in serving.read_warmup(sm_dir):
        cols = json.loads(serving.predict_body(sig, inputs, "inputs"))
        assert cols["signature_name"] == sig
        for k, v in inputs.items():
            np.testing.assert_array_equal(np.asarray(cols["inputs"][k], dtype=v.dtype), v)
        rows = json.loads(serving.predict_body(sig, inputs, "instances"))
        assert len(rows["instances"]) == len(next(iter(inputs.values())))
        if len(inputs) == 1:
            (k, v), = inputs.items()
            np.testing.assert_array_equal(np.asarray(rows["instances"], dtype=v.dtype), v)
        else:
            for k, v in inputs.items():
                np.testing.assert_array_equal(np.asarray([r[k] for r in rows["instances"]], dtype=v.dtype), v)
        # A reply in TF Serving's two shapes decodes back to the signature's outputs.
        fn, specs = family_of(model).serving_signatures()[sig]
        outs = {k: np.asarray(v) for k, v in fn(*[tf.constant(inputs[s.name]) for s in specs]).items()}
        reply_cols = json.dumps({"outputs": {k: v.tolist() for k, v in outs.items()}})
        reply_rows = json.dumps({"predictions": [{k: v[i].tolist() for k, v in outs.items()}
                                                 for i in range(len(next(iter(outs.values()))))]})
        for reply in (reply_cols, reply_rows):
            decoded = serving.decode_reply(reply)
            for k, v in outs.items():
                np.testing.assert_allclose(decoded[k] if isinstance(decoded, dict) else decoded, v, rtol=1e-6)


def test_models_config_parses_with_the_real_proto(tmp_path, monkeypatch):
    for labels in (False, True):
        cfg = serving.parse_models_config(serving.models_config("/models", labels=labels))
        entries = {c.name: c for c in cfg.model_config_list.config}
        assert set(entries) == {n for n in NAMES if zoo.get_entry(n).versions()}
        for name, c in entries.items():
            assert c.base_path == f"/models/{name}" and c.model_platform == "tensorflow"
            if labels:
                assert c.version_labels["stable"] in zoo.get_entry(name).versions()
            else:
                assert c.model_version_policy.latest.num_versions == 1
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(tmp_path))
    for v in (1, 2, 3):  # 3 has no card: an export that never finished, not a version
        (tmp_path / "vae-mnist" / str(v)).mkdir(parents=True)
        if v < 3:
            (tmp_path / "vae-mnist" / f"card.v{v}.json").write_text(json.dumps({"version": v}))
    cfg = serving.parse_models_config(serving.models_config("/srv", labels=True))
    (c,) = cfg.model_config_list.config
    assert (c.version_labels["stable"], c.version_labels["canary"]) == (1, 2)
    assert list(c.model_version_policy.specific.versions) == [1, 2]


def test_labelled_config_and_docs_name_the_flag_tf_serving_needs(capsys, tmp_path, monkeypatch):
    """TF Serving refuses labels on versions not loaded yet unless started with the flag."""
    from zoo import cli

    text = serving.models_config("/models", labels=True)
    assert serving.LABELS_FLAG in text.split("model_config_list")[0]
    serving.parse_models_config(text)  # the comment lines are valid text proto
    assert serving.LABELS_FLAG not in serving.models_config("/models", labels=False)
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(tmp_path))
    (tmp_path / "vae-mnist" / "1").mkdir(parents=True)
    assert cli.main(["serving-config", "--labels"]) == 0
    assert serving.LABELS_FLAG in capsys.readouterr().out
    docs = (Path(__file__).resolve().parents[1] / "docs" / "serving.md").read_text()
    labelled_runs = [block for block in docs.split("```") if "docker run" in block and "labels" in docs]
    assert any(serving.LABELS_FLAG.split("=")[0] in block for block in labelled_runs)


def test_committed_configs_are_current():
    root = zoo.registry.artifacts_root()
    assert (root / "models.config").read_text() == serving.models_config("/models")
    assert serving.parse_batching_config((root / "batching.config").read_text())["max_batch_size"] > 0


def test_batching_config_rejects_unknown_fields():
    with pytest.raises(ValueError, match="line 1"):
        serving.parse_batching_config("max_batch_sise { value: 4 }")
