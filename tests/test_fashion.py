"""Issue 16, part 3: models of another local dataset (Fashion-MNIST), each judged by the
classifier of its own dataset. The judge is chosen by the dataset, never by a model's name."""

import numpy as np
import pytest

import zoo
from zoo import data, evaluate, metrics, recipes, runs
from zoo.models import DigitClassifier


def test_the_judge_of_each_dataset_is_its_registered_classifier():
    assert zoo.registry.judge_for("mnist") == "cnn-mnist"
    assert zoo.registry.judge_for("fashion-mnist") == "cnn-fashion-mnist"
    for name in ("cgan-fashion-mnist", "cnn-fashion-mnist"):
        assert zoo.get_entry(name).dataset == "fashion-mnist"


@pytest.mark.parametrize("data_setting, expected", [(None, "fashion-mnist"), ("mnist", "mnist")])
def test_a_classifier_learns_its_dataset_from_the_recipe(data_setting, expected):
    recipe = recipes.load("cnn-fashion-mnist")
    if data_setting:
        recipe = recipes.apply_overrides(recipe, [f"data.dataset={data_setting}"])
    model = runs.build_model(zoo.get_entry("cnn-fashion-mnist"), recipe)
    assert model.dataset == expected
    assert DigitClassifier.from_config(model.get_config()).dataset == expected  # saved with the model


def test_a_recipe_cannot_set_the_dataset_in_model():
    recipe = recipes.load("cnn-fashion-mnist")
    recipe["model"]["dataset"] = "mnist"
    with pytest.raises(ValueError, match=r"belongs in \[data\]"):
        recipes.validate(recipe)


def test_a_classifier_refuses_an_unknown_dataset():
    with pytest.raises(data.DataError, match="unknown dataset 'fashion'"):
        DigitClassifier(dataset="fashion")


@pytest.mark.dataset("mnist", "fashion-mnist")
def test_the_judge_compares_with_its_own_datasets_test_set():
    clf = DigitClassifier(filters=(4, 8), feature_dim=16, dataset="fashion-mnist")
    clf.build()
    judge = metrics.Judge(clf)
    assert judge.dataset == "fashion-mnist"
    fashion = data.float_images("fashion-mnist", "test", limit=2000)
    digits = data.float_images("mnist", "test", limit=2000)
    own, other = judge.score(fashion), judge.score(digits)
    assert set(own) == {"fid_fashion_mnist", "fashion_mnist_score", "mean_confidence", "images"}
    # the test images themselves are (nearly) at distance 0 from the test set; digits are far
    assert own["fid_fashion_mnist"] < 0.1 * other["fid_fashion_mnist"]
    assert metrics.judged(own) == ("Fashion-MNIST", own["fid_fashion_mnist"], own["fashion_mnist_score"])


@pytest.mark.dataset("fashion-mnist")
def test_flip_augmentation_mirrors_about_half_and_repeats_with_the_seed():
    def first_batch(augment, seed):
        ds = data.make_dataset("fashion-mnist", "train", 512, shuffle=False, seed=seed, augment=augment)
        return next(iter(ds)).numpy()

    plain = data.float_images("fashion-mnist", "train", limit=512)
    a, b = first_batch("shift-flip", 0), first_batch("shift-flip", 0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, first_batch("shift-flip", 1))

    def mirrored(batch):  # closer to the mirrored original than to the original, allowing the shift
        def dist(u, v):
            return min(np.abs(np.roll(u, (dy, dx), (0, 1)) - v).sum() for dy in range(-2, 3) for dx in range(-2, 3))
        return np.array([dist(p[:, ::-1], q) < dist(p, q) for p, q in zip(plain[:200], batch[:200])])

    share = mirrored(a).mean()
    assert 0.35 < share < 0.65, share
    assert mirrored(first_batch("shift", 0)).mean() < 0.05  # "shift" never mirrors


def test_a_dataset_without_a_judge_is_named():
    with pytest.raises(zoo.artifacts.ArtifactError, match="no judge for dataset 'tfds:kmnist'"):
        evaluate.load_judge("tfds:kmnist")
