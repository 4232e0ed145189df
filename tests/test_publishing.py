"""Publishing you can trust (issue 35): a version says what its weights learnt, is measured on
that data, and never comes from a run that made no update."""

import json
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import artifacts, cli, data, evaluate, publish, recipes, training
from zoo.models import family_of
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
    fashion = family_of(model).reconstruction_metrics(data.float_images("fashion-mnist", limit=200))
    mnist = family_of(model).reconstruction_metrics(data.float_images("mnist", limit=200))
    assert metrics["test_mse_per_pixel"] == fashion["test_mse_per_pixel"] != mnist["test_mse_per_pixel"]
    assert record["test_set"].startswith("reconstruction: Fashion-MNIST test") and "cnn-fashion-mnist" in record["test_set"]


def test_a_dqn_run_that_made_no_update_is_not_published(no_artifacts, tmp_path):
    recipe = recipes.apply_overrides(recipes.load("snake-dqn"), ["total_steps=10", "learning_starts=500",
                                                                  "data.num_envs=4", "model.hidden=[8]"])
    summary = training.train(recipe, tmp_path / "run", verbose=0)
    assert summary["finished"] and summary["steps"] == 10
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["updates"] == 0
    with pytest.raises(artifacts.ArtifactError, match="made no optimiser update"):
        publish.publish_run(tmp_path / "run", verbose=False)
    old = fake_run(tmp_path / "old", "snake-dqn", ["model.hidden=[8]"], {"steps": 10, "env_steps": 640})
    with pytest.raises(artifacts.ArtifactError, match="made no optimiser update"):  # env steps are not updates
        publish.publish_run(old, verbose=False)
    assert zoo.get_entry("snake-dqn").versions() == []


def test_every_trainer_records_its_updates(tmp_path):
    summary = training.train(recipes.apply_overrides(recipes.load("alphazero-tictactoe"), [
        "iterations=1", "model.filters=8", "model.blocks=1", "games_per_iteration=2", "train.simulations=4",
        "arena_games=0", "eval_games=0", "reference_games=0"]), tmp_path / "az", verbose=0)
    assert summary["finished"]
    assert json.loads((tmp_path / "az" / "summary.json").read_text())["updates"] > 0
    assert np.isfinite(summary["elapsed_s"])


def test_a_version_is_measured_before_it_is_visible_and_never_silently_worse(no_artifacts, tmp_path, capsys):
    run = fake_run(tmp_path / "run", "snake-dqn", ["model.hidden=[8]"], {"steps": 5, "env_steps": 320, "updates": 3})
    assert cli.main(["publish", "--run", str(run)]) == 0  # the run names its model; the full evaluation
    card = zoo.hub.card("snake-dqn")
    assert card.version == 1 and card["evaluation"]["full"] and card.metrics["games"] == 100
    assert card["evaluation"]["command"] == "zoo evaluate snake-dqn@1 --samples 1000" and "compared_with" not in card
    better = {**card.metrics, "apples_mean": card.metrics["apples_mean"] + 5.0}  # as if version 1 had played better
    artifacts.update_card_metrics("snake-dqn", better, card["evaluation"], version=1)
    assert cli.main(["export", "snake-dqn", "--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"apples_mean is {card.metrics['apples_mean']}, worse than version 1's {better['apples_mean']}" in err, err
    assert "--allow-worse" in err and zoo.get_entry("snake-dqn").versions() == [1]
    assert sorted(p.name for p in (no_artifacts / "snake-dqn").iterdir() if not p.name.startswith(".zoo")) == [
        "1", "README.md", "card.json", "card.v1.json", "samples.png", "snake-dqn.v1.keras"]  # nothing of the refused version
    assert cli.main(["publish", "snake-dqn", "--run", str(run), "--allow-worse"]) == 0
    compared = zoo.hub.card("snake-dqn", 2)["compared_with"]
    assert compared == {"version": 1, "metric": "apples_mean", "direction": "max", "this": card.metrics["apples_mean"],
                        "newest_before": better["apples_mean"], "worse": True}
    assert publish.publish_run(run, limit=3, verbose=False) and "compared_with" not in zoo.hub.card("snake-dqn", 3)
    assert zoo.hub.card("snake-dqn", 3)["evaluation"]["full"] is False  # a reduced evaluation is never compared
