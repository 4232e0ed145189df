"""Nothing silently wrong (issue 15): what a hostile but realistic user does, and what the zoo
answers. Each case names the exact exception type and a phrase of its message; the CLI cases
also check the exit status (2) and that stderr holds no traceback. Cases that already behaved
well are here too, so that they stay so."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import games
from conftest import ROOT, copy_version, run_python
from test_training import ONE_PER_FAMILY, SMALL_ARCH
from zoo import artifacts, cli, evaluate, files, publish, recipes, reporting, runs, serving, store, training
from zoo.models import family_of

# --- recipes: (recipe, overrides, exception, phrase) ------------------------------------------------
RECIPE_CASES = [
    ("vae-mnist", ["epoch=2"], recipes.RecipeError, "did you mean 'epochs' (train.epochs)"),
    ("vae-mnist", ["train.epoch=2"], recipes.RecipeError, "[train] has no key 'epoch'; did you mean 'epochs'"),
    ("vae-mnist", ["optimizer.lerning_rate=1"], recipes.RecipeError, "did you mean 'learning_rate'"),
    ("vae-mnist", ["epochs=abc"], recipes.RecipeError, "train.epochs = 'abc' is not an integer"),
    ("vae-mnist", ["epochs=2.5"], recipes.RecipeError, "train.epochs = 2.5 is not an integer"),
    ("vae-mnist", ["batch_size=0"], recipes.RecipeError, "train.batch_size = 0 is below its minimum 1"),
    ("vae-mnist", ["epochs=0"], recipes.RecipeError, "train.epochs = 0 is below its minimum 1"),
    ("vae-mnist", ["epochs=-1"], recipes.RecipeError, "train.epochs = -1 is below its minimum 1"),
    ("vae-mnist", ["steps_per_epoch=0"], recipes.RecipeError, "train.steps_per_epoch = 0 is below its minimum 1"),
    ("vae-mnist", ["optimizer.learning_rate=-1"], recipes.RecipeError, "below its minimum 0"),
    ("vae-mnist", ["optimizer.name=adamm"], recipes.RecipeError, "did you mean 'adam'"),
    ("vae-mnist", ["deterministic=yes"], recipes.RecipeError, "train.deterministic = 'yes' is not true or false"),
    ("vae-mnist", ["strategy=mirored"], recipes.RecipeError, "did you mean 'mirrored'"),
    ("vae-mnist", ["model.latent=3"], recipes.RecipeError, "did you mean 'latent_dim' (model.latent_dim)"),
    ("vae-mnist", ["model.latent_dim=big"], recipes.RecipeError, "model.latent_dim = 'big' is not an integer"),
    ("vae-mnist", ["data.binarize=dynamik"], recipes.RecipeError, "did you mean 'dynamic'"),
    ("vae-mnist", ["model.epochs=3"], recipes.RecipeError, "it belongs in [train] (train.epochs)"),
    ("vae-mnist", ["seed=-3"], recipes.RecipeError, "seed = -3 is below its minimum 0"),
    ("vae-mnist", ["epochs"], recipes.RecipeError, "key=value"),
    ("vae-mnist", ["foo.bar=1"], recipes.RecipeError, "unknown section 'foo'"),
    ("snake-dqn", ["epochs=2"], recipes.RecipeError, "no recipe key 'epochs'"),
    ("snake-dqn", ["gamma=1.5"], recipes.RecipeError, "train.gamma = 1.5 is above its maximum 1"),
    ("snake-dqn", ["data.size=3"], recipes.RecipeError, "data.size = 3 is below its minimum 5"),
    ("alphazero-tictactoe", ["steps_per_epoch=3"], recipes.RecipeError, "no recipe key 'steps_per_epoch'"),
    ("alphazero-tictactoe", ["checkpoint_every=3"], recipes.RecipeError, "no recipe key 'checkpoint_every'"),
    # issue 34: NaN and infinity pass every range check; list and model values have ranges too
    ("vae-mnist", ["learning_rate=nan"], recipes.RecipeError, "optimizer.learning_rate = nan is not a finite number"),
    ("vae-mnist", ["learning_rate=inf"], recipes.RecipeError, "optimizer.learning_rate = inf is not a finite number"),
    ("vae-mnist", ["alpha=nan"], recipes.RecipeError, "optimizer.alpha = nan is not a finite number"),
    ("vae-mnist", ["hold=nan"], recipes.RecipeError, "optimizer.hold = nan is not a finite number"),
    ("vae-mnist", ["clipnorm=nan"], recipes.RecipeError, "optimizer.clipnorm = nan is not a finite number"),
    ("vae-mnist", ["beta_1=nan"], recipes.RecipeError, "optimizer.beta_1 = nan is not a finite number"),
    ("snake-dqn", ["gamma=nan"], recipes.RecipeError, "train.gamma = nan is not a finite number"),
    ("snake-dqn", ["eps_end=-inf"], recipes.RecipeError, "train.eps_end = -inf is not a finite number"),
    ("vaegan-mnist", ["model.adversarial_weight=nan"], recipes.RecipeError, "adversarial_weight = nan is not a finite"),
    ("vaegan-mnist", ["model.adversarial_weight=-1"], recipes.RecipeError, "adversarial_weight = -1.0 is below its minimum 0"),
    ("vae-mnist", ["model.filters=[]"], recipes.RecipeError, "model.filters = [] needs at least 1 item"),
    ("vae-mnist", ["model.filters=[32, 0]"], recipes.RecipeError, "model.filters[1] = 0 is below its minimum 1"),
    ("vae-mnist", ["model.filters=[32, nan]"], recipes.RecipeError, "model.filters[1] = nan is not a finite number"),
    ("vae-mnist", ["model.latent_dim=0"], recipes.RecipeError, "model.latent_dim = 0 is below its minimum 1"),
    ("dcgan-mnist", ["model.ema=1.0"], recipes.RecipeError, "model.ema = 1.0 is above its maximum 0.9999"),
    ("dcgan-mnist", ["model.seed=-1"], recipes.RecipeError, "model.seed = -1 is below its minimum 0"),
    ("cnn-mnist", ["model.num_classes=1"], recipes.RecipeError, "model.num_classes = 1 is below its minimum 2"),
]


@pytest.mark.parametrize("name,overrides,error,phrase", RECIPE_CASES,
                         ids=[f"{c[0]}:{' '.join(c[1])}" for c in RECIPE_CASES])
def test_a_bad_override_is_refused_naming_the_key(name, overrides, error, phrase):
    with pytest.raises(error) as e:
        recipes.apply_overrides(recipes.load(name), overrides)
    assert phrase in str(e.value)


FILE_CASES = [
    ("[train]\nepoch = 1\n", "[train] has no key 'epoch'; did you mean 'epochs'"),
    ("[optimizer]\nlerning_rate = 1.0\n", "[optimizer] has no key 'lerning_rate'; did you mean 'learning_rate'"),
    ("[train]\nbatch_size = \"big\"\n", "train.batch_size = 'big' is not an integer"),
    ("[data]\nlabels = 1\n", "data.labels = 1 is not true or false"),
    ("[model]\nfilters = 8\n", "model.filters = 8 is not a list"),
    ("model = 3\n", "[model] must be a table"),
]


@pytest.mark.parametrize("body,phrase", FILE_CASES, ids=[c[1][:40] for c in FILE_CASES])
def test_a_bad_recipe_file_is_refused_naming_the_key_and_the_file(tmp_path, body, phrase):
    path = tmp_path / "mine.toml"
    path.write_text('name = "ae-mnist"\nseed = 0\n' + body)
    with pytest.raises(recipes.RecipeError) as e:
        recipes.load(path)
    assert phrase in str(e.value) and str(path) in str(e.value)


def test_every_shipped_recipe_passes_its_own_checks():
    for name in zoo.list_models():
        r = recipes.load(name)
        assert recipes.validate(r)["train"] == r["train"]


def test_a_library_caller_is_checked_too(tmp_path):
    r = recipes.load("ae-mnist")
    r["train"]["epochs"] = 0  # a dict edited by hand, never through apply_overrides
    with pytest.raises(recipes.RecipeError, match="train.epochs = 0 is below its minimum 1"):
        training.train(r, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="max_iterations must be a positive whole number"):
        training.train(recipes.load("alphazero-tictactoe"), tmp_path / "run", verbose=0, max_iterations=0)


def test_a_recipe_is_checked_once_unless_edited(tmp_path, monkeypatch):
    recipe = recipes.apply_overrides(recipes.load("ae-mnist"), ["epochs=1"])
    checks, real = [], recipes.schema
    monkeypatch.setattr(recipes, "schema", lambda name: checks.append(name) or real(name))  # one per real check
    (tmp_path / "afile").write_text("x")
    with pytest.raises(runs.RunFolderError):  # refused after the recipe check, before anything runs
        training.train(recipe, tmp_path / "afile" / "run", verbose=0)
    assert checks == []  # zoo train's recipe, checked by load and apply_overrides, is not checked a third time
    recipe["train"]["epochs"] = 2
    with pytest.raises(runs.RunFolderError):
        training.train(recipe, tmp_path / "afile" / "run", verbose=0)
    assert checks == ["ae-mnist"]  # edited since: checked again


# --- run folders --------------------------------------------------------------------------------------
def _fake_checkpointed_run(out: Path, recipe: dict):
    """A run folder as a killed run leaves it: its recipe and a checkpoint."""
    import tensorflow as tf

    out.mkdir(parents=True)
    (out / "recipe.toml").write_text(recipes.dumps(recipe))
    tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(out / "checkpoints"), 2).save()


def test_resuming_with_a_changed_model_setting_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    _fake_checkpointed_run(out, recipes.load("vae-mnist"))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    changed = recipes.apply_overrides(recipes.load("vae-mnist"), ["model.latent_dim=16"])
    with pytest.raises(runs.RunFolderError, match=r"model.latent_dim 32 -> 16"):
        training.train(changed, out, verbose=0)
    with pytest.raises(runs.RunFolderError, match=r"name 'vae-mnist' -> 'ae-mnist'"):
        training.train(recipes.load("ae-mnist"), out, verbose=0)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_run_folder_through_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(runs.RunFolderError, match="afile is a file, not a folder"):
        training.train(recipes.load("ae-mnist"), tmp_path / "afile" / "sub", verbose=0)


HOLD = """
import sys, time
from zoo import files
with files.folder_lock(sys.argv[1], "zoo train vae-mnist"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_process_on_a_locked_folder_is_refused_with_the_holders_pid(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(files.FolderBusy, match=rf"in use by process {holder.pid} \(zoo train vae-mnist"):
            training.train(recipes.apply_overrides(recipes.load("alphazero-tictactoe"), ["iterations=1"]), out,
                           verbose=0)
        assert not (out / "recipe.toml").exists()
        with pytest.raises(files.FolderBusy, match=f"process {holder.pid}"):
            with files.folder_lock(out, "zoo export"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with files.folder_lock(out, "after") as owner:  # the OS released the dead holder's lock
        assert owner["pid"] == os.getpid()


# --- exports --------------------------------------------------------------------------------------------
@pytest.fixture
def isolated_artifacts(tmp_path, monkeypatch):
    """A private artifacts folder holding a copy of alphazero-tictactoe version 1 (small) alone."""
    root = tmp_path / "artifacts"
    copy_version(root, "alphazero-tictactoe", 1)
    store.write_index(root)
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(root))
    monkeypatch.delenv("ZOO_STORE", raising=False)
    return root


def _run_folder(tmp_path: Path, steps: int) -> Path:
    """A finished run folder of alphazero-tictactoe (its model, recipe, history, summary)."""
    run = tmp_path / f"run-{steps}"
    run.mkdir()
    recipe = recipes.load("alphazero-tictactoe")
    model = zoo.get_entry("alphazero-tictactoe").build(**recipe["model"])
    model.build()
    model.save(run / "model.keras")
    (run / "recipe.toml").write_text(recipes.dumps(recipe))
    (run / "history.json").write_text(json.dumps([{"iteration": steps, "step": steps}] if steps else []))
    (run / "summary.json").write_text(json.dumps({"iterations": steps, "command": "zoo train alphazero-tictactoe"}))
    return run


def test_a_run_that_trained_zero_steps_is_not_exported(isolated_artifacts, tmp_path):
    with pytest.raises(artifacts.ArtifactError, match="trained 0 steps"):
        publish.publish_run(_run_folder(tmp_path, 0), verbose=False)
    assert zoo.get_entry("alphazero-tictactoe").versions() == [1]


EXPORT = "import sys, zoo.publish; zoo.publish.publish_run(sys.argv[1], limit=4)"
STAGES = {  # what to wait for before the kill, in the order an export writes
    "keras-file": lambda d: (d / "alphazero-tictactoe.v2.keras").exists(),
    "saved-model-aside": lambda d: any(d.glob(".2.tmp-*")),
    "card": lambda d: (d / "card.v2.json").exists(),
    "version-folder": lambda d: (d / "2").is_dir(),
}


def _seen_versions(root: Path) -> dict:
    """What every reader sees of alphazero-tictactoe."""
    entry = zoo.get_entry("alphazero-tictactoe")
    serving.write_configs(root, "/models", False)
    return {"versions": entry.versions(), "index": store.Store(str(root)).versions("alphazero-tictactoe"),
            "describe": artifacts.Card.of_version(entry.artifact_dir).version,
            "served": _served(root)}


def _served(root: Path) -> list[int]:
    """The version TF Serving would load for alphazero-tictactoe under the written config's
    `latest` policy: the newest numeric folder holding a saved_model.pb."""
    config = (root / "models.config").read_text()
    assert 'name: "alphazero-tictactoe"' in config and "latest { num_versions: 1 }" in config
    folders = [int(p.name) for p in (root / "alphazero-tictactoe").iterdir()
               if p.name.isdigit() and (p / "saved_model.pb").is_file()]
    return sorted(folders)[-1:]


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_a_killed_export_is_never_half_visible_and_the_next_export_repairs_it(isolated_artifacts, tmp_path, stage):
    run, folder = _run_folder(tmp_path, 3), isolated_artifacts / "alphazero-tictactoe"
    env = {**os.environ, "ZOO_ARTIFACTS_DIR": str(isolated_artifacts)}
    p = subprocess.Popen([sys.executable, "-c", EXPORT, str(run)], env=env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and p.poll() is None and not STAGES[stage](folder):
        time.sleep(0.002)
    p.send_signal(signal.SIGKILL)
    p.wait()
    seen = _seen_versions(isolated_artifacts)
    complete = (folder / "2").is_dir()
    assert all(artifacts.Card.of_version(folder, v).metrics for v in seen["versions"]), "a version without metrics"
    # old or complete new, never a partial one; and every reader agrees
    assert seen["versions"] in ([1], [1, 2]) and seen["versions"] == ([1, 2] if complete else [1]), seen
    if complete:
        zoo.load("alphazero-tictactoe", version=2)
    assert seen["describe"] == seen["versions"][-1] and seen["served"] == seen["versions"][-1:], seen
    assert seen["index"] in ([1], seen["versions"]), seen
    zoo.load("alphazero-tictactoe")
    # the next export cleans the leftovers and publishes the next complete version
    made = publish.publish_run(run, verbose=False, limit=4)
    versions = zoo.get_entry("alphazero-tictactoe").versions()
    assert made.name == str(versions[-1]) and not [p.name for p in folder.iterdir() if ".tmp" in p.name]
    assert sorted(p.name for p in folder.glob("*.keras")) == [f"alphazero-tictactoe.v{v}.keras" for v in versions]
    assert _seen_versions(isolated_artifacts)["served"] == versions[-1:]
    assert store.verify_store(str(isolated_artifacts)) == {f"alphazero-tictactoe@{v}": [] for v in versions}


def test_a_second_export_of_one_model_is_refused_with_the_holders_pid(isolated_artifacts, tmp_path):
    folder = isolated_artifacts / "alphazero-tictactoe"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(files.FolderBusy, match=rf"in use by process {holder.pid}"):
            artifacts.republish("alphazero-tictactoe", 1, verbose=False)
    finally:
        holder.kill()
        holder.wait()
    assert zoo.get_entry("alphazero-tictactoe").versions() == [1]


# --- cards and evaluation ---------------------------------------------------------------------------
def test_a_reduced_evaluation_never_replaces_the_cards_full_one(isolated_artifacts, capsys, monkeypatch):
    card = isolated_artifacts / "alphazero-tictactoe" / "card.v1.json"
    before = card.read_bytes()

    def evaluated(*args, **kwargs):
        raise AssertionError("refused only after evaluating")

    monkeypatch.setattr(evaluate, "evaluate", evaluated)
    assert cli.main(["evaluate", "alphazero-tictactoe", "--limit", "10", "--write-card"]) == 2
    err = capsys.readouterr().err
    assert "a reduced evaluation (--limit 10" in err and "Traceback" not in err
    assert card.read_bytes() == before
    with pytest.raises(ValueError, match="--samples must be a whole number from 1"):
        evaluate.evaluate_artifact("alphazero-tictactoe", samples=0)


def test_a_card_that_is_not_json_is_named_before_any_work(isolated_artifacts, capsys):
    card = isolated_artifacts / "alphazero-tictactoe" / "card.v1.json"
    card.write_text('{"version": 1, "metrics": ')
    assert cli.main(["evaluate", "alphazero-tictactoe", "--write-card"]) == 2
    err = capsys.readouterr().err
    assert f"model card {card} is not valid JSON" in err and "Traceback" not in err
    assert f"model card {card} is not valid JSON" in reporting.describe("alphazero-tictactoe")


def test_describe_and_readme_survive_a_card_missing_keys(isolated_artifacts):
    card_path = isolated_artifacts / "alphazero-tictactoe" / "card.v1.json"
    card = json.loads(card_path.read_text())
    for key in ("training", "parameters", "signatures", "evaluation"):
        card.pop(key)
    card["metrics"] = {"something_else": 1.0}
    card_path.write_text(json.dumps(card))
    text = reporting.describe("alphazero-tictactoe")
    assert "version 1" in text and "metrics incomplete" in reporting.summary("alphazero-tictactoe")
    assert "alphazero-tictactoe" in reporting.model_table()


# --- the command line: (argv, phrase) -- exit status 2, no traceback, nothing left behind ----------
CLI_CASES = [
    (["train", "ae-mnist", "--set", "epoch=2"], "did you mean 'epochs'"),
    (["train", "ae-mnist", "--set", "epochs=abc"], "train.epochs = 'abc' is not an integer"),
    (["train", "ae-mnist", "--set", "batch_size=0"], "below its minimum 1"),
    (["train", "snake-dqn", "--max-steps", "0"], "max_env_steps must be a positive whole number"),
    (["train", "no-such-model"], "no-such-model"),
    (["describe", "vae-mnist@x"], "write a version as NAME@N"),
    (["pull", "vae-mnist@99"], "99"),
    (["export", "vae-mnist", "--run", "/nonexistent/run"], "is /nonexistent/run a run folder"),
]


@pytest.mark.parametrize("argv,phrase", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_the_cli_answers_a_users_mistake_in_one_line(argv, phrase, capsys, tmp_path):
    out = tmp_path / "out"
    status = cli.main(argv + (["--out", str(out)] if argv[0] == "train" else []))
    err = capsys.readouterr().err
    assert status == 2 and phrase in err and "Traceback" not in err, err
    assert not out.exists()


def test_a_run_folder_through_a_file_and_an_ended_input_are_one_line_each(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    assert cli.main(["train", "ae-mnist", "--out", str(tmp_path / "afile" / "sub")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["play", "alphazero-tictactoe", "--ansi"]) == 2
    err = capsys.readouterr().err
    assert "input ended" in err and "Traceback" not in err


def test_no_data_folder_and_no_network_names_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ZOO_DATA_DIR"}
    env.update(HOME=str(tmp_path), KERAS_HOME=str(tmp_path / "keras"), https_proxy="http://127.0.0.1:9",
               http_proxy="http://127.0.0.1:9")
    p = subprocess.run([sys.executable, "-m", "zoo.cli", "train", "ae-mnist", "--out", str(tmp_path / "run")],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "ZOO_DATA_DIR is not set" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "run").exists()


# --- models' Keras methods: inputs that used to give plausible wrong answers -----------------------
@pytest.fixture(scope="module")
def models():
    cache = {}
    return lambda name: cache.setdefault(name, zoo.load(name))


IMG0 = np.zeros((0, 28, 28, 1), "float32")
IMG = np.full((2, 28, 28, 1), 0.5, "float32")
BAD_INPUT_CASES = [
    ("vae-mnist", lambda m: m.encode(IMG * 255), ValueError, "divide by 255"),
    ("vae-mnist", lambda m: m.encode((IMG * 255).astype("int64").tolist()), ValueError, "must be in [0, 1]"),
    ("vae-mnist", lambda m: m.encode(np.where(IMG > 0, np.nan, 0).astype("float32")), ValueError, "NaN or infinite"),
    ("vae-mnist", lambda m: m.reconstruct(-IMG), ValueError, "must be in [0, 1]"),
    ("vae-mnist", lambda m: m.decode(np.full((1, 32), np.inf, "float32")), ValueError, "codes contain NaN or infinite"),
    ("vae-mnist", lambda m: m.encode(IMG.astype("uint8")), TypeError, "/ 255"),
    ("vae-mnist", lambda m: m.sample(10**9), ValueError, "above the 65,536 samples one call returns"),
    ("vae-mnist", lambda m: m.sample(-1), ValueError, "0 or more"),
    ("vae-mnist", lambda m: m.sample(True), TypeError, "whole number of samples"),
    ("vae-mnist", lambda m: m.sample(2.5), TypeError, "whole number of samples"),
    ("ae-mnist", lambda m: m.encode(IMG * 3), ValueError, "must be in [0, 1]"),
    ("dcgan-mnist", lambda m: m.sample(10**6), ValueError, "draw them in several calls"),
    ("dcgan-mnist", lambda m: m.discriminate(IMG * 255), ValueError, "divide by 255"),
    ("cgan-mnist", lambda m: m.generate(np.zeros((3, 64), "float32"), [10, -1, 1000]), ValueError, "digits 0-9"),
    ("cgan-mnist", lambda m: m.sample(n=2, labels=[1, 2, 3]), ValueError, "3 labels for 2 images"),
    ("cgan-mnist", lambda m: m.sample(labels=[1.5]), TypeError, "labels must be integers"),
    ("cnn-mnist", lambda m: m.classify(IMG * 255), ValueError, "divide by 255"),
    ("snake-dqn", lambda m: m.act(np.full((1, m.obs_dim), np.nan, "float32")), ValueError, "NaN or infinite"),
    ("alphazero-tictactoe", lambda m: m.predict_board(np.full((1, 3, 3, 2), 2.0, "float32")), ValueError,
     "must be in [0, 1]"),
]


@pytest.mark.parametrize("name,call,error,phrase", BAD_INPUT_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)])
def test_a_models_method_refuses_what_would_be_a_plausible_wrong_answer(models, name, call, error, phrase):
    with pytest.raises(error) as e:
        call(models(name))
    assert phrase in str(e.value)


EMPTY_CASES = [  # (model, method on an empty batch, the same on a batch of one)
    ("vae-mnist", lambda m, n: m.encode(IMG[:n])),
    ("vae-mnist", lambda m, n: m.reconstruct(IMG[:n])),
    ("vae-mnist", lambda m, n: m.decode(np.zeros((n, 32), "float32"))),
    ("vae-mnist", lambda m, n: m.sample(n)),
    ("ae-mnist", lambda m, n: m.encode(IMG[:n])),
    ("ae-mnist", lambda m, n: m.decode(np.zeros((n, m.latent_dim), "float32"))),
    ("dcgan-mnist", lambda m, n: m.generate(np.zeros((n, 64), "float32"))),
    ("dcgan-mnist", lambda m, n: m.sample(n)),
    ("dcgan-mnist", lambda m, n: m.discriminate(IMG[:n])),
    ("cgan-mnist", lambda m, n: m.generate(np.zeros((n, 64), "float32"), np.zeros((n,), "int32"))),
    ("cgan-mnist", lambda m, n: m.sample(labels=list(range(n)))),
    ("cnn-mnist", lambda m, n: m.classify(IMG[:n])),
    ("cnn-mnist", lambda m, n: m.predict_proba(IMG[:n])),
    ("cnn-mnist", lambda m, n: m.features(IMG[:n])),
    ("snake-dqn", lambda m, n: m.act(np.zeros((n, m.obs_dim), "float32"))),
    ("snake-dqn", lambda m, n: m.q_values(np.zeros((n, m.obs_dim), "float32"))),
    ("alphazero-tictactoe", lambda m, n: m.predict_board(np.zeros((n, 3, 3, 2), "float32"))),
]


@pytest.mark.parametrize("name,call", EMPTY_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(EMPTY_CASES)])
def test_an_empty_batch_gives_an_empty_batch_of_the_usual_shape(models, name, call):
    m = models(name)
    empty, one = tf.nest.flatten(call(m, 0)), tf.nest.flatten(call(m, 1))
    assert [tuple(np.shape(e)) for e in empty] == [(0,) + tuple(np.shape(o))[1:] for o in one]
    assert [np.asarray(e).dtype for e in empty] == [np.asarray(o).dtype for o in one]


def test_sampling_many_is_chunked_and_still_one_batch(models):
    vae = models("vae-mnist")
    assert tuple(vae.sample(5000).shape) == (5000, 28, 28, 1)
    assert tuple(models("cgan-mnist").sample(n=4100).shape) == (4100, 28, 28, 1)


# --- loading by name and version -----------------------------------------------------------------------
HUB_CASES = [
    (lambda: zoo.load("vae-mnist", version="1"), TypeError, "write version=1"),
    (lambda: zoo.load("vae-mnist", version=True), TypeError, "whole number from 1"),
    (lambda: zoo.load("vae-mnist", version=0), TypeError, "whole number from 1"),
    (lambda: zoo.load("VAE-MNIST"), zoo.registry.UnknownModelError, "Did you mean 'vae-mnist'"),
    (lambda: zoo.load("vae-mnist", version=99), zoo.hub.ArtifactError, "has no version 99"),
    (lambda: zoo.load("vae-mnist", format="onnx"), ValueError, "format must be 'keras' or 'saved_model'"),
    (lambda: zoo.load("artifacts/vae-mnist"), ValueError, "looks like a path"),
]


@pytest.mark.parametrize("call,error,phrase", HUB_CASES, ids=[c[2][:30] for c in HUB_CASES])
def test_loading_a_wrong_name_or_version_says_what_to_write(call, error, phrase):
    with pytest.raises(error) as e:
        call()
    assert phrase in str(e.value)


# --- board games: states from outside ------------------------------------------------------------------
TTT, C4 = games.TicTacToe(), games.ConnectFour()
FULL = np.array([[1, -1, 1], [1, -1, -1], [-1, 1, 1]], np.int8)
WON = np.array([[1, 1, 1], [-1, -1, 0], [0, 0, 0]], np.int8)
GAME_CASES = [
    (lambda: games.PerfectTicTacToe().move(games.State(FULL, -1)), games.IllegalMove, "the game is over (a draw)"),
    (lambda: games.PerfectTicTacToe().move(games.State(FULL, 1)), games.InvalidState, "it is -1's turn"),
    (lambda: games.RandomPlayer(TTT).move(games.State(WON, -1)), games.IllegalMove, "+1 has won"),
    (lambda: TTT.play(games.State(WON, -1), 8), games.IllegalMove, "the game is over"),
    (lambda: TTT.play(games.State(np.ones((3, 3), np.int8), 1), 0), games.InvalidState, "9 stones of +1 and 0 of -1"),
    (lambda: TTT.play(games.State(np.zeros((3, 4), np.int8), 1), 0), games.InvalidState, "shape (3, 3)"),
    (lambda: TTT.play(games.State(np.full((3, 3), 2, np.int8), 1), 0), games.InvalidState, "+1, -1 or 0"),
    (lambda: TTT.play(games.State(np.zeros((3, 3), np.int8), 1, moves=4), 0), games.InvalidState, "moves=4"),
    (lambda: C4.play(games.State(np.pad(np.ones((1, 1), np.int8), ((0, 5), (0, 6))), -1), 0), games.InvalidState,
     "floats over an empty cell"),
    (lambda: games.AlphaBeta(depth=1).move(games.State(np.pad(np.ones((1, 1), np.int8), ((5, 0), (0, 6))), 1)),
     games.InvalidState, "it is -1's turn"),
]


@pytest.mark.parametrize("call,error,phrase", GAME_CASES, ids=[c[2][:30] for c in GAME_CASES])
def test_a_position_that_cannot_arise_is_refused(call, error, phrase):
    with pytest.raises(error) as e:
        call()
    assert phrase in str(e.value)


def test_a_search_player_refuses_a_finished_game_and_plays_a_real_one(models):
    player = models("alphazero-tictactoe").player(simulations=8)
    with pytest.raises(games.IllegalMove, match="the game is over"):
        player.move(games.State(WON, -1))
    s = TTT.play(TTT.initial(), 4)
    assert TTT.legal(s)[player.move(s)]


# --- the signatures check their inputs in the graph, as the methods do -----------------------------
def _invalid(fn, **feed) -> str:
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        fn(**{k: tf.constant(v) for k, v in feed.items()})
    return e.value.message


def test_republished_weights_get_checked_signatures(isolated_artifacts):
    folder = isolated_artifacts / "alphazero-tictactoe"
    old = json.loads((folder / "card.v1.json").read_text())
    made = artifacts.republish("alphazero-tictactoe", 1, note="in-graph input checks", verbose=False)
    assert made == folder / "2" and zoo.get_entry("alphazero-tictactoe").versions() == [1, 2]
    assert (folder / "alphazero-tictactoe.v2.keras").read_bytes() == (folder / "alphazero-tictactoe.v1.keras").read_bytes()
    new = json.loads((folder / "card.v2.json").read_text())
    assert new["metrics"] == old["metrics"] and new["training"] == old["training"] and new["version"] == 2
    assert new["republished_from"]["version"] == 1 and new["republished_from"]["note"] == "in-graph input checks"
    assert json.loads((folder / "card.json").read_text()) == new
    assert store.verify_store(str(isolated_artifacts)) == {"alphazero-tictactoe@1": [], "alphazero-tictactoe@2": []}
    sm = zoo.load("alphazero-tictactoe", format="saved_model")
    predict = sm.signatures["predict"]
    too_big = np.full((1, 3, 3, 2), 2.0, "float32")
    assert "board must hold 0/1 planes in [0, 1] (encode a position" in _invalid(predict, board=too_big)
    assert "and no NaN" in _invalid(predict, board=np.full((1, 3, 3, 2), np.nan, "float32"))
    empty = predict(board=tf.zeros((0, 3, 3, 2)))
    assert {k: tuple(v.shape) for k, v in empty.items()} == {"policy": (0, 9), "value": (0,)}
    board = np.zeros((2, 3, 3, 2), "float32")
    v1 = zoo.load("alphazero-tictactoe", version=1, format="saved_model").signatures["predict"](board=tf.constant(board))
    v2 = predict(board=tf.constant(board))
    for k in v1:
        np.testing.assert_allclose(v1[k].numpy(), v2[k].numpy(), atol=1e-6)


def _published_signatures():
    return [(name, sig) for name in zoo.list_models() if zoo.get_entry(name).versions()
            for sig in artifacts.Card.of_version(zoo.get_entry(name).artifact_dir)["signatures"]]


@pytest.fixture(scope="module")
def saved_models():
    cache = {}
    return lambda name: cache.setdefault(name, zoo.load(name, format="saved_model"))


@pytest.mark.parametrize("name,sig", _published_signatures(), ids=[f"{n}:{s}" for n, s in _published_signatures()])
def test_every_published_signature_checks_its_inputs_and_takes_an_empty_batch(saved_models, name, sig):
    fn = saved_models(name).signatures[sig]
    specs = fn.structured_input_signature[1]
    bounds = family_of(zoo.get_entry(name).model_class).serving_input_bounds

    def feed(rows, **override):
        out = {k: tf.zeros([rows] + s.shape.as_list()[1:], s.dtype) for k, s in specs.items()}
        return {**out, **override}

    empty = fn(**feed(0))
    declared = {k: s.shape.as_list()[1:] for k, s in fn.structured_outputs.items()}
    assert {k: v.shape.as_list() for k, v in empty.items()} == {k: [0] + d for k, d in declared.items()}
    fn(**feed(2))  # zeros are valid for every input
    checked = 0
    for k, s in specs.items():
        if s.dtype.is_floating:
            bad = tf.fill([2] + s.shape.as_list()[1:], float("nan"))
        elif bounds.get(k) is not None:
            bad = tf.fill([2] + s.shape.as_list()[1:], tf.cast(bounds[k][1] + 1, s.dtype))
        else:
            continue  # an integer seed: every value is valid
        with pytest.raises(tf.errors.InvalidArgumentError, match=k):
            fn(**feed(2, **{k: bad}))
        checked += 1
    assert checked or all(not s.dtype.is_floating and bounds.get(k) is None for k, s in specs.items())
    if len(specs) > 1:
        first = next(iter(specs))
        with pytest.raises(tf.errors.InvalidArgumentError, match="the same number of rows"):
            fn(**feed(2, **{first: feed(3)[first]}))


# --- GPU precision: mixed_float16 trains like float32 ---------------------------------------------
# Every trainer scales the loss through its optimiser, so float16 gradients neither underflow nor
# come back divided by the loss scale. Each recipe (a small architecture) takes a few steps from
# the same weights on the same data in float32 and in mixed_float16 (float16 matmuls run on CPU
# too); the two updates must agree as closely as float16 allows. Before the fix the model's step
# never scaled the loss while `compile` wrapped its optimiser in a LossScaleOptimizer, so every
# gradient was divided by the scale (three Adam steps of vae-mnist moved the weights 0.046x as far
# as in float32), and the GANs', DQN's and AlphaZero's optimisers were not wrapped at all.
PRECISION = """
import json, sys
import numpy as np
import tensorflow as tf
from zoo import recipes, training
name, out, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
weights = {}
for label, more in (("init", ["optimizer.learning_rate=0.0", "mixed_precision=float32"]),
                    ("float32", ["mixed_precision=float32"]), ("float16", ["mixed_precision=mixed_float16"])):
    r = recipes.apply_overrides(recipes.load(name), extra + more)
    s = training.train(r, f"{out}/{label}", verbose=0)
    weights[label] = [v.numpy().astype("float64") for v in s["model"].trainable_variables]
moved = {k: sum(float(np.abs(a - b).sum()) for a, b in zip(weights[k], weights["init"])) for k in ("float32", "float16")}
diff = sum(float(np.abs(a - b).sum()) for a, b in zip(weights["float32"], weights["float16"]))
checkpoint = tf.train.latest_checkpoint(f"{out}/float16/checkpoints")  # each optimiser keeps its scale, resumably
scales = [n for n, _ in tf.train.list_variables(checkpoint) if n.endswith("dynamic_scale/.ATTRIBUTES/VARIABLE_VALUE")]
print(json.dumps({"moved": moved, "diff": diff, "scales": len(scales)}))
"""


# SGD: an update linear in the gradient, so a gradient left multiplied or divided by the loss
# scale shows at once (Adam divides by the gradient's own size and hides it until the scaled
# gradient nears its epsilon). A start scale of 32 does not overflow these small nets, so
# every step is taken in both precisions; the overflow test covers the skipping.
SGD16 = ["optimizer.name=sgd", "optimizer.learning_rate=0.005", "optimizer.initial_loss_scale=32"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_mixed_float16_moves_the_weights_as_float32_does(name, tmp_path):
    extra = [o for o in SMALL_ARCH[name] if not o.startswith("mixed_precision")] + SGD16
    out = json.loads(run_python(PRECISION, name, tmp_path, json.dumps(extra)).strip().splitlines()[-1])
    moved32, moved16 = out["moved"]["float32"], out["moved"]["float16"]
    assert moved32 > 0, "training did not move the weights: the comparison would be empty"
    assert 0.8 < moved16 / moved32 < 1.25, out  # the unscaled bug gives ~0.05
    assert out["diff"] < 0.25 * moved32, out    # and in the same direction, to float16's precision
    assert out["scales"] == (2 if "gan" in name else 1), out  # every optimiser scales its loss


def test_an_overflowing_step_is_skipped_and_the_scale_lowered():
    from zoo.models import AutoEncoder as AE

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        ae = AE(latent_dim=4, filters=(4, 8), hidden=8)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    ae.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    ae.train_on_batch(x)  # builds the optimiser
    assert isinstance(ae.optimizer, keras.optimizers.LossScaleOptimizer)
    before = [v.numpy().copy() for v in ae.trainable_variables]
    ae.optimizer.dynamic_scale.assign(2.0 ** 60)  # loss x 2^60: every float16 gradient overflows
    ae.train_on_batch(x)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, ae.trainable_variables)), "the step was applied"
    assert float(ae.optimizer.dynamic_scale.numpy()) == 2.0 ** 59
    ae.optimizer.dynamic_scale.assign(16.0)
    ae.train_on_batch(x)  # a finite step is applied
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, ae.trainable_variables))


# --- issue 34: runs are never lost and never shared ------------------------------------------------------
TINY_AE = ["epochs=3", "steps_per_epoch=4", "checkpoint_every=2", "eval_batches=1", "model.hidden=8",
           "model.filters=[4, 8]", "model.latent_dim=2"]


def _history_epochs(out: Path) -> list:
    return [row["epoch"] for row in json.loads((out / "history.json").read_text())]


@pytest.mark.mnist
@pytest.mark.parametrize("damage", ["index", "data", "flipped"])
def test_a_damaged_newest_checkpoint_is_skipped_and_the_run_resumes_from_the_one_before(tmp_path, capfd, damage):
    recipe = recipes.apply_overrides(recipes.load("ae-mnist"), TINY_AE)
    out = tmp_path / "run"
    training.train(recipe, out, verbose=0, max_updates=6)  # epoch 1 (ckpt-1, ckpt-2), then ckpt-3 at step 2 of epoch 2
    assert [Path(p).name for p in runs.checkpoint_prefixes(out / "checkpoints")] == ["ckpt-4", "ckpt-3"]
    assert _history_epochs(out) == [1]
    newest = out / "checkpoints" / "ckpt-4"
    if damage == "index":
        Path(f"{newest}.index").unlink()
    else:
        data = next(newest.parent.glob("ckpt-4.data-*"))
        if damage == "data":
            data.unlink()
        else:
            raw = bytearray(data.read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            data.write_bytes(bytes(raw))
    capfd.readouterr()
    summary = training.train(recipe, out, verbose=0)
    err = capfd.readouterr().err
    assert summary["finished"] and summary["resumed_from"].endswith("ckpt-3"), summary["resumed_from"]
    assert "skipped checkpoint" in err and "ckpt-4:" in err and "resuming from the older ckpt-3" in err, err
    assert _history_epochs(out) == [1, 2, 3]  # the epoch-1 row kept, nothing started again from step 0
    assert summary["steps"] == 12


@pytest.mark.mnist
def test_a_run_whose_every_checkpoint_is_damaged_is_refused_not_overwritten(tmp_path):
    recipe = recipes.apply_overrides(recipes.load("ae-mnist"), TINY_AE)
    out = tmp_path / "run"
    training.train(recipe, out, verbose=0, max_updates=6)
    for index in (out / "checkpoints").glob("*.index"):
        index.unlink()
    before = (out / "history.json").read_bytes()
    with pytest.raises(runs.RunFolderError, match="cannot resume and a fresh start would overwrite its history"):
        training.train(recipe, out, verbose=0)
    assert (out / "history.json").read_bytes() == before
    assert cli.main(["train", "ae-mnist", *[a for o in TINY_AE for a in ("--set", o)], "--out", str(out)]) == 2


def test_a_divergence_before_any_checkpoint_does_not_name_one(tmp_path):
    run = runs.Run(recipes.load("alphazero-tictactoe"), tmp_path / "run")
    with run.strategy.scope():
        model, step = run.build_model(), tf.Variable(0, dtype=tf.int64)
    run.open(model=model, step=step)
    text = str(run.diverged("loss became nan", "step 3"))
    assert "No checkpoint was saved before it" in text and "None" not in text


STALE_TF_CONFIGS = ['{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}', "[]", "not json"]


def test_a_stale_tf_config_neither_unlocks_nor_breaks_a_one_process_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for tf_config in STALE_TF_CONFIGS:  # this process as worker 1, or garbage: still the one that writes
            monkeypatch.setenv("TF_CONFIG", tf_config)
            with pytest.raises(files.FolderBusy, match=rf"in use by process {holder.pid}"):
                training.train(recipes.apply_overrides(recipes.load("alphazero-tictactoe"), ["iterations=1"]), out,
                               strategy="default", verbose=0)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("tf_config,phrase", [("[]", "TF_CONFIG is not a JSON object"),
                                              ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps"}}',
                                               "task.type must be one of"),
                                              ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
                                               "task.index must be 0 to 0")])
def test_a_broken_tf_config_for_multi_worker_is_one_line(tmp_path, capsys, monkeypatch, tf_config, phrase):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    assert cli.main(["train", "alphazero-tictactoe", "--strategy", "multi-worker", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


# --- issue 34: inputs that gave plausible wrong answers ------------------------------------------------
def test_an_integer_board_is_the_same_board_and_a_wrong_one_gets_the_boards_hint(models):
    net = models("alphazero-connect4")
    game = net.game()
    s = game.initial()
    for move in (3, 3, 2):
        s = game.play(s, move)
    board = np.stack([game.encode(s)])
    for a, b in zip(net.predict_board(board.astype("int64")), net.predict_board(board.astype("float32"))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError) as e:
        net.predict_board(board * 255)
    assert "game.encode(state)" in str(e.value) and "divide by 255" not in str(e.value)


def test_a_finished_snake_episode_cannot_be_stepped():
    from gymnasium.error import ResetNeeded

    env = zoo.envs.SnakeEnv(size=6)
    with pytest.raises(ResetNeeded, match="not started"):
        env.step(0)
    env.reset(seed=0)
    terminated = False
    for _ in range(50):  # straight ahead: into a wall within the board's width
        _, _, terminated, truncated, info = env.step(0)
        if terminated:
            break
    assert terminated
    score = info["score"]
    with pytest.raises(ResetNeeded, match="the episode is terminated; call reset"):
        env.step(0)
    assert env.reset(seed=1)[1]["score"] == 0 and score >= 0
    env.step(0)  # a new episode steps again


VAEGAN_CASES = [
    (lambda m: m.prior_codes(np.zeros((2, m.latent_dim), "float32"), np.array([0.5, 1.5], "float32")), ValueError,
     "uniform must be in [0, 1]"),
    (lambda m: m.prior_codes(np.zeros((2, m.latent_dim), "float32"), np.array([-0.1, 0.5], "float32")), ValueError,
     "uniform must be in [0, 1]"),
    (lambda m: m.prior_codes(np.zeros((1, m.latent_dim), "float32"), np.array([np.nan], "float32")), ValueError,
     "uniform contain NaN"),
    (lambda m: m.prior_codes(np.zeros((1, m.latent_dim), "float32"), np.array([1], "int32")), TypeError,
     "floating point in [0, 1]"),
    (lambda m: m.sample(2, temperature=float("nan")), ValueError, "temperature must be a finite number from 0"),
    (lambda m: m.sample(2, temperature=-1.0), ValueError, "temperature must be a finite number from 0"),
    (lambda m: m.sample(2, temperature="hot"), TypeError, "temperature must be a number"),
]


@pytest.mark.parametrize("call,error,phrase", VAEGAN_CASES, ids=[c[2][:30] + str(i) for i, c in enumerate(VAEGAN_CASES)])
def test_the_fitted_priors_inputs_are_checked(models, call, error, phrase):
    with pytest.raises(error) as e:
        call(models("vaegan-mnist"))
    assert phrase in str(e.value)
    assert np.isfinite(np.asarray(models("vae-mnist").sample(2, temperature=0.0))).all()


def test_an_exported_fitted_prior_refuses_a_uniform_outside_0_1(tmp_path):
    vg = zoo.get_entry("vaegan-mnist").model_class(latent_dim=4, filters=(4, 8), hidden=8, d_filters=(4, 8), d_dense=8, prior_components=2, seed=0)
    vg.build()
    artifacts.write_saved_model(vg, tmp_path / "1", "vaegan-mnist")
    fn = tf.saved_model.load(str(tmp_path / "1")).signatures["sample_fitted"]
    noise = tf.zeros((2, 4))
    assert tuple(fn(noise=noise, uniform=tf.constant([0.0, 1.0]))["images"].shape) == (2, 28, 28, 1)
    for bad in ([0.5, 1.5], [-0.5, 0.5], [float("nan"), 0.5]):
        with pytest.raises(tf.errors.InvalidArgumentError, match="uniform must hold values in"):
            fn(noise=noise, uniform=tf.constant(bad))


# --- issue 34: one meaning of a version number, and one line for a user's mistake -------------------------
@pytest.mark.parametrize("argv", [["evaluate", "cnn-mnist@0"], ["pull", "cnn-mnist@0"], ["describe", "cnn-mnist@0"],
                                  ["push", "cnn-mnist@0", "--to", "ram://never"], ["pull", "cnn-mnist@01"],
                                  ["evaluate", "cnn-mnist@-1"], ["pull", "cnn-mnist@"]])
def test_version_0_means_nothing_anywhere(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "N a whole number from 1" in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not tf.io.gfile.exists("ram://never/index.json")


def test_export_version_0_publishes_nothing(isolated_artifacts, tmp_path, capsys):
    run = _run_folder(tmp_path, 3)
    assert cli.main(["export", "alphazero-tictactoe", "--run", str(run), "--version", "0"]) == 2
    assert "a version is a whole number from 1" in capsys.readouterr().err
    assert cli.main(["export", "alphazero-tictactoe", "--from-version", "0"]) == 2
    assert zoo.get_entry("alphazero-tictactoe").versions() == [1]


@pytest.mark.parametrize("argv,phrase", [
    (["play", "snake-dqn", "--seed", "-1"], "--seed must be a whole number from 0"),
    (["play", "snake-dqn", "--size", "3"], "--size must be a whole number from 5"),
    (["play", "snake-dqn", "--delay", "nan"], "--delay must be a number of seconds"),
    (["play", "alphazero-tictactoe", "--simulations", "0"], "--simulations must be a whole number from 1"),
    (["train", "ae-mnist", "--set", "model.filters=[]"], "model.filters = [] needs at least 1 item"),
])
def test_more_mistakes_are_one_line(argv, phrase, capsys, tmp_path):
    out = tmp_path / "out"
    assert cli.main(argv + (["--out", str(out)] if argv[0] == "train" else [])) == 2
    err = capsys.readouterr().err
    assert phrase in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.mnist
@pytest.mark.parametrize("flag", [["--columns", "test_mse_per_pixel,nope"], ["--plot-y", "test_mse_per_pixel:nope"]])
def test_a_sweep_column_no_run_has_is_refused_before_training(tmp_path, capsys, flag):
    out = tmp_path / "sweep"
    argv = ["sweep", "ae-mnist", "model.hidden=8,16", "--set", "epochs=1", "--set", "steps_per_epoch=2", "--out", str(out)]
    assert cli.main(argv + flag) == 2
    err = capsys.readouterr().err
    assert "no metric 'nope' in a ae-mnist run" in err and "test_mse_per_pixel" in err and "Traceback" not in err, err
    assert not out.exists()


def test_a_swept_value_cannot_name_a_folder_outside_the_sweep(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "ae-mnist", "model.activation=relu,../../escaped", "--set", "epochs=1", "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "'../../escaped' cannot" in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("base", ['/models" } config { name: "evil" base_path: "/etc', "/models\nx", "C:\\models", ""])
def test_a_serving_base_path_cannot_inject_config(base, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(tmp_path))
    copy_version(tmp_path, "snake-dqn", 1)
    assert cli.main(["serving-config", "--base-path", base]) == 2
    err = capsys.readouterr().err
    assert "--base-path must be a folder or URI" in err and "Traceback" not in err, err
    assert not (tmp_path / "models.config").exists()
