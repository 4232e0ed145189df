"""Behaviour kept: every artifact computes what it computed before the code was reorganised
(issue 13), and a few steps of every trainer give the same weights.

`tests/golden/outputs-<cpu family>.npz` were written by `tests/golden/record.py` on the code
before the change (the AVX2 file by that same commit, checked out and run on an AMD EPYC in
session 7); this test recomputes the same things with today's code and compares with the file
of this machine's CPU family: 1e-6 for what the served models compute, 1e-4 relative for the
weights after training steps (which amplify round-off). On a family with no recorded file it
compares with each recorded one at the tolerances measured between the families (AMX v AVX2:
outputs 5.7e-6 apart, or 1.5e-7 of themselves where large; after the training steps weights
0.7% apart, and the GANs' near-zero ones up to 6.1e-3, a few Adam steps whose tiny gradients
changed sign), with margin: outputs 2e-5 relative + 2e-5 absolute, weights 2e-2 + 2e-2.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import zoo

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import record  # noqa: E402

FAMILY = record.cpu_family()
RECORDED = {p.stem.removeprefix("outputs-"): p for p in sorted((Path(__file__).parent / "golden").glob("outputs-*.npz"))}
# (outputs' rtol = atol, trained weights' (rtol, atol)): within a family, and across families
SAME_FAMILY, CROSS_FAMILY = (1e-6, (1e-4, 1e-6)), (2e-5, (2e-2, 2e-2))
GOLDENS = ([(FAMILY, np.load(RECORDED[FAMILY]), *SAME_FAMILY)] if FAMILY in RECORDED
           else [(f, np.load(p), *CROSS_FAMILY) for f, p in RECORDED.items()])
KEYS = list(GOLDENS[0][1].files)
assert all(set(g.files) == set(KEYS) for _, g, _, _ in GOLDENS), "the golden files record different things"


def _compare(name, fresh, prefix, golden, rtol, atol, family):
    expected = {k: golden[k] for k in KEYS if k.startswith(f"{name}|{prefix}")}
    assert expected, f"nothing recorded for {name}|{prefix}"
    got = {k: v for k, v in fresh.items() if k.startswith(f"{name}|{prefix}")}
    assert set(got) == set(expected)
    for k, v in expected.items():
        if v.dtype.kind in "iub":
            np.testing.assert_array_equal(got[k], v, err_msg=k)
        else:
            np.testing.assert_allclose(got[k], v, rtol=rtol, atol=atol, err_msg=f"{k} (golden: {family}, here: {FAMILY})")


@pytest.mark.parametrize("name", sorted({k.split("|")[0] for k in KEYS if "|sig|" in k}))
def test_artifact_outputs_unchanged(name):
    fresh = record.record(name, zoo.load(name))
    for family, golden, tol, _ in GOLDENS:
        for prefix in ("in|", "sig|", "method|", "loss_terms"):
            if any(k.startswith(f"{name}|{prefix}") for k in KEYS):
                _compare(name, fresh, prefix, golden, rtol=tol, atol=tol, family=family)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(record.TRAINING))
def test_training_steps_unchanged(name, tmp_path):
    fresh = record.record_training(name, tmp_path)
    for family, golden, _, (rtol, atol) in GOLDENS:
        _compare(name, fresh, "train|", golden, rtol=rtol, atol=atol, family=family)


def test_recorded_families_agree_within_the_cross_family_tolerance():
    """What a machine of an unrecorded family is held to: the recorded families agree within it."""
    files = {f: np.load(p) for f, p in RECORDED.items()}
    for (fa, a), (fb, b) in zip(list(files.items()), list(files.items())[1:]):
        for k in KEYS:
            if a[k].dtype.kind in "iub":
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{k}: {fa} v {fb}")
            elif "|train|" in k:
                rtol, atol = CROSS_FAMILY[1]
                np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=f"{k}: {fa} v {fb}")
            else:
                np.testing.assert_allclose(a[k], b[k], rtol=CROSS_FAMILY[0], atol=CROSS_FAMILY[0], err_msg=f"{k}: {fa} v {fb}")
