"""Multi-worker training on localhost: identical weights, one artifact, recovery from a kill."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT
from zoo import files

pytestmark = [pytest.mark.slow, pytest.mark.mnist]  # the workers train vae-mnist

WORKER = """
import json, sys
import numpy as np
from zoo import recipes, training
out, weights_path, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
r = recipes.apply_overrides(recipes.load("vae-mnist"), overrides)
s = training.train(r, out, strategy="multi-worker", verbose=0)
np.savez(weights_path, *[v.numpy() for v in s["model"].trainable_variables])
print(json.dumps({"chief": s["chief"], "replicas": s["replicas"], "steps": s["steps"],
                  "finished": s["finished"], "resumed_from": s["resumed_from"]}))
"""

SMALL = ["model.filters=[8, 16]", "model.hidden=32", "epochs=2", "steps_per_epoch=4", "eval_batches=1",
         "batch_size=16"]


def _ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _scratch(tmp_path):
    """The workers' temporary folder (TMPDIR), where the non-chief writes its checkpoints."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return tmp_path / "tmp"


def _start(tmp_path, overrides, tag):
    ports = _ports(2)
    procs = []
    for i in range(2):
        tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": i}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(_scratch(tmp_path))}
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "run"), str(tmp_path / f"w{i}-{tag}.npz"), json.dumps(overrides)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def _finish(procs, timeout=300):
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err[-4000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_workers_agree_and_write_one_artifact(tmp_path):
    a, b = _finish(_start(tmp_path, SMALL, "x"))
    assert (a["chief"], b["chief"]) == (True, False)
    assert a["replicas"] == b["replicas"] == 2 and a["steps"] == b["steps"] == 8
    wa, wb = np.load(tmp_path / "w0-x.npz"), np.load(tmp_path / "w1-x.npz")
    for k in wa.files:
        np.testing.assert_array_equal(wa[k], wb[k])
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != files.LOCK) == [
        "checkpoints", "history.json", "logs", "model.keras", "recipe.toml", "summary.json"]
    assert list(tmp_path.glob("**/*.keras")) == [tmp_path / "run" / "model.keras"]  # exactly one
    assert list(_scratch(tmp_path).glob("zoo-worker-ckpt-*")) == [], "the worker's scratch checkpoints outlived the run"


def test_killed_worker_then_restart_resumes_and_finishes(tmp_path):
    overrides = SMALL + ["epochs=2", "steps_per_epoch=30", "checkpoint_every=3"]
    procs = _start(tmp_path, overrides, "first")
    ckpt = tmp_path / "run" / "checkpoints" / "checkpoint"
    deadline = time.time() + 180
    while time.time() < deadline and not ckpt.exists():
        time.sleep(0.2)
    assert ckpt.exists(), "no checkpoint before the kill"
    procs[1].send_signal(signal.SIGKILL)   # lose a worker mid-epoch ...
    time.sleep(1)
    procs[0].kill()                        # ... the survivor cannot go on alone: the job restarts both
    for p in procs:
        p.wait()
    assert not (tmp_path / "run" / "model.keras").exists()
    a, b = _finish(_start(tmp_path, overrides, "second"))
    assert a["finished"] and b["finished"] and a["steps"] == 60
    assert a["resumed_from"] and b["resumed_from"], "both workers must restore the chief's checkpoint"
    wa, wb = np.load(tmp_path / "w0-second.npz"), np.load(tmp_path / "w1-second.npz")
    for k in wa.files:
        np.testing.assert_array_equal(wa[k], wb[k])
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]
    assert list(_scratch(tmp_path).glob("zoo-worker-ckpt-*")) == [], "the killed worker's scratch checkpoints were left behind"
