"""Behaviour kept: every artifact computes what it computed before the code was reorganised
(issue 13), and a few steps of every trainer give the same weights.

`tests/golden/outputs.npz` was written by `tests/golden/record.py` on the code before the
change; this test recomputes the same things with today's code. Same machine: bit-identical
expected. Another CPU (oneDNN picks other kernels) may differ in the last bits, hence the
small tolerances: 1e-6 for what the served models compute; training steps amplify round-off,
so their weight fingerprints get 1e-4 relative.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import zoo

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record  # noqa: E402

GOLDEN = np.load(Path(__file__).parent / "golden" / "outputs.npz")
KEYS = list(GOLDEN.files)


def _compare(name, fresh, prefix, rtol, atol):
    expected = {k: GOLDEN[k] for k in KEYS if k.startswith(f"{name}|{prefix}")}
    assert expected, f"nothing recorded for {name}|{prefix}"
    got = {k: v for k, v in fresh.items() if k.startswith(f"{name}|{prefix}")}
    assert set(got) == set(expected)
    for k, v in expected.items():
        if v.dtype.kind in "iub":
            np.testing.assert_array_equal(got[k], v, err_msg=k)
        else:
            np.testing.assert_allclose(got[k], v, rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("name", sorted({k.split("|")[0] for k in KEYS if "|sig|" in k}))
def test_artifact_outputs_unchanged(name):
    fresh = record.record(name, zoo.load(name))
    for prefix in ("in|", "sig|", "method|", "loss_terms"):
        if any(k.startswith(f"{name}|{prefix}") for k in KEYS):
            _compare(name, fresh, prefix, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(record.TRAINING))
def test_training_steps_unchanged(name, tmp_path):
    fresh = record.record_training(name, tmp_path)
    _compare(name, fresh, "train|", rtol=1e-4, atol=1e-6)
