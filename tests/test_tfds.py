"""Datasets through TensorFlow Datasets (issue 16, part 2): `data.dataset = "tfds:<name>"`.

Nothing can be downloaded here, so the training test runs under `tfds.testing.mock_data`,
TFDS's own way to test code that calls `tfds.load`: it serves random examples shaped by the
builder's real feature spec (28x28x1 uint8 images, labels 0-9 for fashion_mnist)."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from zoo import cli, data


def test_a_recipe_trains_on_a_tfds_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_TFDS_DIR", str(tmp_path / "tfds"))
    data.load_arrays.cache_clear()
    with tfds.testing.mock_data(num_examples=96):
        x, y = data.load_arrays("tfds:fashion_mnist", "train")
        assert x.shape == (96, 28, 28) and x.dtype == np.uint8 and y.max() <= 9
        status = cli.main(["train", "cnn-mnist", "--set", "data.dataset=tfds:fashion_mnist", "--set", "epochs=1",
                           "--set", "steps_per_epoch=3", "--set", "batch_size=16", "--set", "model.filters=[8, 16]",
                           "--set", "eval_batches=1", "--quiet", "--out", str(tmp_path / "run")])
    data.load_arrays.cache_clear()
    assert status == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 3 and 'dataset = "tfds:fashion_mnist"' in (tmp_path / "run" / "recipe.toml").read_text()


CASES = [
    ("tfds:cifar10", "images of shape (32, 32, 3); the zoo's image models expect 28x28 grayscale"),
    ("tfds:fashon_mnist", "did you mean tfds:fashion_mnist"),
    ("tfds:kmnist", "no prepared data for kmnist in"),
    ("cifar", "or tfds:<name> for a TensorFlow Datasets builder"),
]


@pytest.mark.parametrize("name,phrase", CASES, ids=[c[0] for c in CASES])
def test_a_tfds_dataset_that_cannot_be_used_is_a_clear_error(tmp_path, monkeypatch, name, phrase):
    monkeypatch.setenv("ZOO_TFDS_DIR", str(tmp_path / "empty"))
    data.load_arrays.cache_clear()
    with pytest.raises(data.DataError) as e:
        data.load_arrays(name, "train")
    assert phrase in str(e.value)
    if name == "tfds:kmnist":  # names the folder searched and how to prepare it
        assert str(tmp_path / "empty") in str(e.value) and "tfds build kmnist" in str(e.value)


def test_the_cli_says_it_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_TFDS_DIR", str(tmp_path / "empty"))
    data.load_arrays.cache_clear()
    status = cli.main(["train", "cnn-mnist", "--set", "data.dataset=tfds:kmnist", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2 and "tfds build kmnist" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
