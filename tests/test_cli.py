import json
import shlex

import pytest

from zoo import cli


def test_list(capsys):
    assert cli.main(["list", "*mnist"]) == 0
    out = capsys.readouterr().out
    assert "ae-mnist" in out and "vae-mnist" in out


def test_unknown_model_is_exit_2_with_suggestion(capsys):
    assert cli.main(["train", "vae-mnst"]) == 2
    assert "Did you mean 'vae-mnist'" in capsys.readouterr().err


def test_bad_override_is_exit_2(capsys):
    assert cli.main(["train", "vae-mnist", "--set", "epochz=2"]) == 2
    assert "epochz" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["ae-mnist", "vae-mnist"])
def test_describe_shows_card_and_signatures_briefly(capsys, name):
    assert cli.main(["describe", name]) == 0
    out = capsys.readouterr().out
    assert "zoo train" in out and "signature_def['serving_default']" in out
    assert "metrics (from: zoo evaluate" in out and f"zoo describe {name} --requests" in out
    assert "curl -d" not in out and len(out) < 5000, "request bodies belong behind --requests"


@pytest.mark.mnist
@pytest.mark.parametrize("name", ["cgan-mnist", "cnn-mnist"])
def test_describe_requests_are_real_examples(capsys, name):
    import json
    import re

    assert cli.main(["describe", name, "--requests"]) == 0
    out = capsys.readouterr().out
    bodies = [json.loads(b) for b in re.findall(r"curl -d '(.*?)' -X POST", out)]
    assert bodies and f"/v1/models/{name}:predict" in out
    assert {"instances", "inputs"} <= {k for b in bodies for k in b}
    flat = json.dumps(bodies)
    assert re.search(r"0\.[1-9]", flat) or '"seed": [0]' in flat or '"seed": 0' in flat, "zeros are not an example"
    assert max(len(json.dumps(b)) for b in bodies) < 8000


@pytest.mark.mnist
def test_cli_train_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "ae-mnist", "--quiet", "--out", str(out), "--set", "epochs=1", "--set", "steps_per_epoch=2",
            "--set", "eval_batches=1", "--set", "model.hidden=16"]
    assert cli.main(args) == 0
    assert "finished: 2 updates" in capsys.readouterr().out
    assert {"model.keras", "recipe.toml", "history.json", "summary.json", "logs", "checkpoints"} <= {p.name for p in out.iterdir()}
    assert any((out / "logs").rglob("events.out.tfevents*")), "TensorBoard logs missing"
    assert json.loads((out / "summary.json").read_text())["command"] == shlex.join(["zoo", *args])


def test_readme_table_matches_the_cards():
    from zoo.registry import ROOT
    from zoo.reporting import README_END, README_START, model_table

    text = (ROOT / "README.md").read_text()
    block = text.split(README_START, 1)[1].split(README_END, 1)[0].strip()
    assert block == model_table(), "README's model table is stale: run `zoo readme`"


def test_play_records_a_side_by_side_gif(tmp_path, capsys):
    from PIL import Image

    gif = tmp_path / "game.gif"
    assert cli.main(["play", "snake-dqn", "--gif", str(gif), "--compare-untrained", "--max-steps", "300"]) == 0
    out = capsys.readouterr().out
    assert "untrained" in out and "trained" in out
    img = Image.open(gif)
    assert img.n_frames > 20
    assert img.size[0] == 2 * (20 * 12 + 4)  # two boards side by side


def test_play_in_the_terminal(capsys):
    assert cli.main(["play", "snake-dqn", "--ansi", "--delay", "0", "--max-steps", "40"]) == 0
    out = capsys.readouterr().out
    assert "game over:" in out and "@" in out


def test_play_refuses_other_models(capsys):
    assert cli.main(["play", "vae-mnist"]) == 2
    assert "snake-dqn" in capsys.readouterr().err


def test_play_board_game_gif(tmp_path, capsys):
    gif = tmp_path / "ttt.gif"
    assert cli.main(["play", "alphazero-tictactoe", "--gif", str(gif), "--simulations", "50"]) == 0
    out = capsys.readouterr().out
    assert gif.exists() and "network (red) v perfect" in out and "perfect wins" not in out
