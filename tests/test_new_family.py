"""A new model family needs its own file and recipe, and nothing else: here one is defined in
a fresh process (as its file in zoo/models/ would: the Keras model and, registered beside it,
its Family), then trained, exported, evaluated, described and put in the README's table by the
unchanged central code."""

import json

import pytest

from conftest import run_python

NEW_FAMILY = r'''
import json, sys
from pathlib import Path
import keras, numpy as np, tensorflow as tf
from keras import layers, ops
import zoo
from zoo import artifacts, evaluate, publish, recipes, registry, reporting, training
from zoo.models.base import Family, ZooModel, in_batches, register_family
from zoo.registry import register

tmp = Path(sys.argv[1])


# ---- what zoo/models/denoiser.py would hold ---------------------------------------------------
@keras.saving.register_keras_serializable(package="zoo_test")
class Denoiser(ZooModel):
    """Removes noise from digits."""

    def __init__(self, hidden=16, **kwargs):
        super().__init__(**kwargs)
        self.hidden = int(hidden)
        self.net = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(self.hidden, activation="relu"),
                                     layers.Dense(784, activation="sigmoid"), layers.Reshape((28, 28, 1))])
        self.make_trackers(["loss"])

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}

    def call(self, x, training=False):
        return self.net(x, training=training)

    def loss_terms(self, batch, training=False):
        x, noise = batch
        noisy = tf.clip_by_value(x + 0.3 * tf.reshape(noise, tf.shape(x)), 0.0, 1.0)
        return {"loss": tf.reduce_sum(tf.square(self.call(noisy, training) - x), axis=[1, 2, 3])}


@register_family(Denoiser)
class DenoiserFamily(Family):
    """What the zoo needs of a denoiser: how it is served, measured and pictured."""

    serving_default = "denoise"

    def noise_dim(self):
        return 784

    def serving_signatures(self):
        return {"denoise": (lambda images: {"images": self.model.call(images)},
                            [tf.TensorSpec((None, 28, 28, 1), tf.float32, name="images")])}

    def card_metrics(self, judge=None, samples=1000, limit=None, verbose=True):
        x = zoo.data.float_images(limit=limit or 1000)
        return {"mse": round(float(np.mean((in_batches(self.model.call, x) - x) ** 2)), 6), "test_images": len(x)}

    @classmethod
    def test_set(cls, config):
        return "the first 1,000 MNIST test images"

    @classmethod
    def headline(cls, m, config):
        return f"MSE **{m['mse']}**"

    def picture(self, seed=0):
        return np.concatenate(list(np.asarray(self.model.call(zoo.data.float_images(limit=8)))[..., 0]), axis=1)


@register("denoiser-mnist", model_class=Denoiser, task="denoising", dataset="mnist", description="A tiny denoiser.")
def denoiser_mnist(**config):
    return Denoiser(**config)


# ---- train/denoiser-mnist.toml ----------------------------------------------------------------
(tmp / "denoiser-mnist.toml").write_text("""name = "denoiser-mnist"
seed = 3
[model]
hidden = 16
[data]
noise = true
[train]
epochs = 1
steps_per_epoch = 5
eval_batches = 1
""")

# ---- and the zoo's own commands, unchanged --------------------------------------------------
recipe = recipes.load(tmp / "denoiser-mnist.toml")
summary = training.train(recipe, tmp / "run", verbose=0)
publish.publish_run(tmp / "run", verbose=False)
metrics, record = evaluate.evaluate_artifact("denoiser-mnist", write_card=True, verbose=False)
card = zoo.hub.card("denoiser-mnist")
print(json.dumps({"finished": summary["finished"], "unit": summary["unit"], "metrics": card["metrics"],
                  "test_set": card["evaluation"]["test_set"], "signatures": sorted(card["signatures"]),
                  "onnx": sorted(card["formats"]["onnx"]["signatures"]), "litert": card["formats"]["litert"]["signatures"],
                  "describe": reporting.describe("denoiser-mnist"), "table": reporting.model_table(),
                  "loaded": type(zoo.load("denoiser-mnist")).__name__,
                  "hooks_on_model": [h for h in ("card_metrics", "picture", "serving_signatures")
                                     if hasattr(zoo.load("denoiser-mnist"), h)],
                  "picture": (registry.get_entry("denoiser-mnist").artifact_dir / "samples.png").stat().st_size}))
'''


@pytest.mark.slow
@pytest.mark.mnist
def test_a_new_family_is_one_file_and_one_recipe(tmp_path):
    out = run_python(NEW_FAMILY, tmp_path, env={"ZOO_ARTIFACTS_DIR": str(tmp_path / "store")})
    got = json.loads(out.strip().splitlines()[-1])
    assert got["finished"] and got["unit"] == "updates" and got["loaded"] == "Denoiser" and not got["hooks_on_model"]
    assert got["metrics"]["test_images"] == 1000 and 0 < got["metrics"]["mse"] < 1
    assert got["test_set"] == "the first 1,000 MNIST test images"
    assert got["signatures"] == ["denoise", "serving_default"] and got["picture"] > 100
    assert got["onnx"] == got["litert"] == ["denoise"], "a new family's signatures get their ONNX and LiteRT forms"
    assert "ONNX (opset 17): denoise -> onnx/denoise.onnx" in got["describe"]
    assert "signature_def['denoise']" in got["describe"] and f"MSE **{got['metrics']['mse']}**" in got["table"]
