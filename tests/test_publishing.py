"""Publishing you can trust (issue 35): a version says what its weights learnt, is measured on
that data, and never comes from a run that made no update."""

import json
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import artifacts, cli, data, evaluate, recipes, training
from zoo.runs import build_model


@pytest.fixture
def no_artifacts(tmp_path, monkeypatch):
    """An empty artifacts folder: whatever an export would publish lands here."""
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.delenv("ZOO_STORE", raising=False)
    return tmp_path / "artifacts"


def fake_run(folder: Path, name: str, overrides=(), summary=None) -> Path:
    """A finished run folder of `name` (untrained weights) as `zoo train` leaves one."""
    recipe = recipes.apply_overrides(recipes.load(name), list(overrides))
    folder.mkdir(parents=True)
    model = build_model(zoo.get_entry(name), recipe)
    model.build()
    model.save(folder / "model.keras")
    (folder / "recipe.toml").write_text(recipes.dumps(recipe))
    (folder / "summary.json").write_text(json.dumps(summary or {"steps": 2, "updates": 2}))
    return folder


def test_a_run_on_another_dataset_never_replaces_the_judge(no_artifacts, tmp_path, capsys):
    run = fake_run(tmp_path / "run", "cnn-mnist", ["data.dataset=fashion-mnist"])
    assert cli.main(["export", "cnn-mnist", "--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert "was trained on 'fashion-mnist', but cnn-mnist is the model of 'mnist'" in err, err
    assert zoo.get_entry("cnn-mnist").versions() == [] and not (no_artifacts / "cnn-mnist" / "1").exists()
    assert zoo.registry.judge_for("mnist") == "cnn-mnist"


def test_a_run_of_another_model_class_is_not_evaluated_as_this_one(tmp_path, capsys):
    run = fake_run(tmp_path / "run", "ae-mnist", ["model.hidden=8"])
    assert cli.main(["evaluate", "cnn-mnist", "--run", str(run), "--limit", "5"]) == 2
    assert "holds a AutoEncoder, but 'cnn-mnist' is a DigitClassifier" in capsys.readouterr().err


@pytest.mark.dataset("mnist", "fashion-mnist")
def test_a_run_is_measured_on_the_data_it_was_trained_on(tmp_path):
    run = fake_run(tmp_path / "run", "ae-mnist", ["data.dataset=fashion-mnist", "model.hidden=8"])
    metrics, record = evaluate.evaluate_artifact("ae-mnist", run=str(run), limit=200, verbose=False)
    model = artifacts.load_run_model("ae-mnist", run)
    fashion = model.reconstruction_metrics(data.float_images("fashion-mnist", limit=200))
    mnist = model.reconstruction_metrics(data.float_images("mnist", limit=200))
    assert metrics["test_mse_per_pixel"] == fashion["test_mse_per_pixel"] != mnist["test_mse_per_pixel"]
    assert record["test_set"].startswith("reconstruction: Fashion-MNIST test") and "cnn-fashion-mnist" in record["test_set"]


def test_a_dqn_run_that_made_no_update_is_not_published(no_artifacts, tmp_path):
    recipe = recipes.apply_overrides(recipes.load("snake-dqn"), ["total_steps=10", "learning_starts=500",
                                                                  "data.num_envs=4", "model.hidden=[8]"])
    summary = training.train(recipe, tmp_path / "run", verbose=0)
    assert summary["finished"] and summary["steps"] == 10
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["updates"] == 0
    with pytest.raises(artifacts.ArtifactError, match="made no optimiser update"):
        artifacts.export_artifact("snake-dqn", tmp_path / "run", verbose=False)
    old = fake_run(tmp_path / "old", "snake-dqn", ["model.hidden=[8]"], {"steps": 10, "env_steps": 640})
    with pytest.raises(artifacts.ArtifactError, match="made no optimiser update"):  # env steps are not updates
        artifacts.export_artifact("snake-dqn", old, verbose=False)
    assert zoo.get_entry("snake-dqn").versions() == []


def test_every_trainer_records_its_updates(tmp_path):
    summary = training.train(recipes.apply_overrides(recipes.load("alphazero-tictactoe"), [
        "iterations=1", "model.filters=8", "model.blocks=1", "games_per_iteration=2", "train.simulations=4",
        "arena_games=0", "eval_games=0", "reference_games=0"]), tmp_path / "az", verbose=0)
    assert summary["finished"]
    assert json.loads((tmp_path / "az" / "summary.json").read_text())["updates"] > 0
    assert np.isfinite(summary["elapsed_s"])
