"""Issue 16, part 1: the VAE-GAN. λ = 0 is the plain VAE exactly; λ > 0 teaches the decoder
through the discriminator and leaves the encoder to the ELBO."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.models import VAE, family_of
from zoo.models.vaegan import VAEGAN

ARCH = dict(latent_dim=8, filters=(8, 16), hidden=32)


def _pair(adversarial_weight):
    """A VAE-GAN and a VAE holding the same encoder and decoder weights, each with fresh Adam."""
    keras.utils.set_random_seed(0)
    vg = VAEGAN(**ARCH, d_filters=(8, 16), d_dense=16, adversarial_weight=adversarial_weight, seed=0)
    vg.build()
    vae = VAE(**ARCH, seed=0)
    vae.build()
    vae.encoder.set_weights(vg.encoder.get_weights())
    vae.decoder.set_weights(vg.decoder.get_weights())
    for m in (vg, vae):
        family_of(m).make_optimizers(lambda **kw: keras.optimizers.Adam(1e-3, **kw))
    return vg, vae


def _batch(n=16, latent=ARCH["latent_dim"]):
    rng = np.random.default_rng(1)
    x = rng.random((n, 28, 28, 1)).astype("float32")
    return tf.constant(x), tf.constant(rng.standard_normal((n, 2 * latent)).astype("float32"))


def test_lambda_zero_is_the_plain_vae_loss_and_update_exactly():
    vg, vae = _pair(0.0)
    batch = _batch()
    for training in (False, True):
        a, b = vg.loss_terms(batch, training=training), vae.loss_terms(batch, training=training)
        np.testing.assert_array_equal(a["loss"].numpy(), b["loss"].numpy())
        assert float(tf.reduce_mean(a["adversarial"])) > 0  # the term is there, weighted by 0
    vg.train_step(batch)
    vae.train_step(batch)
    for mine, plain in ((vg.encoder, vae.encoder), (vg.decoder, vae.decoder)):
        for u, v in zip(mine.get_weights(), plain.get_weights()):
            np.testing.assert_array_equal(u, v)


def test_lambda_teaches_the_decoder_only():
    (plain, _), (adv, _) = _pair(0.0), _pair(5.0)
    batch = _batch()
    d_before = [w.copy() for w in adv.disc_body.get_weights()]
    e_before = [w.copy() for w in adv.encoder.get_weights()]
    plain.train_step(batch)
    adv.train_step(batch)

    def gap(a, b):
        return max(float(np.abs(u - v).max()) for u, v in zip(a, b))

    # the encoder answers to the ELBO alone: its update is the plain VAE's (to float rounding:
    # with λ > 0 the decoder runs once on a larger batch), far smaller than the update itself
    encoder_moved = gap(e_before, adv.encoder.get_weights())
    assert gap(plain.encoder.get_weights(), adv.encoder.get_weights()) < 1e-3 * encoder_moved
    decoder_gap = gap(plain.decoder.get_weights(), adv.decoder.get_weights())
    assert decoder_gap > 0.05 * encoder_moved, "λ > 0 must change the decoder's update"
    assert any(not np.array_equal(a, b) for a, b in zip(d_before, adv.disc_body.get_weights())), "D did not train"


def test_loss_is_the_elbo_plus_lambda_times_the_adversarial_term():
    (plain, _), (adv, _) = _pair(0.0), _pair(5.0)
    batch = _batch()
    a, b = plain.loss_terms(batch), adv.loss_terms(batch)
    np.testing.assert_allclose(b["loss"].numpy(), a["loss"].numpy() + 5.0 * b["adversarial"].numpy(), rtol=1e-5)


def test_feature_matching_joins_the_lambda_term_and_trains_the_encoder_too():
    """Larsen et al.'s reconstruction in D's features: inside λ's term (λ = 0 stays the VAE),
    reaching the encoder as a reconstruction term should, where the adversarial term does not."""
    keras.utils.set_random_seed(0)
    fm = VAEGAN(**ARCH, d_filters=(8, 16), d_dense=16, adversarial_weight=5.0, feature_matching=True, seed=0)
    fm.build()
    (_, _), (adv, _) = _pair(0.0), _pair(5.0)
    fm.set_weights(adv.get_weights())
    batch = _batch()
    t, a = fm.loss_terms(batch), adv.loss_terms(batch)
    assert float(tf.reduce_min(t["features"])) > 0
    np.testing.assert_allclose(t["adversarial"].numpy(), a["adversarial"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(t["loss"].numpy(), a["loss"].numpy() + 5.0 * t["features"].numpy(), rtol=1e-5)
    with tf.GradientTape() as tape:
        features = tf.reduce_mean(fm.loss_terms(batch)["features"])
    grads = tape.gradient(features, fm.encoder.trainable_variables)
    assert all(g is not None for g in grads) and float(tf.linalg.global_norm(grads)) > 0
    family_of(fm).make_optimizers(lambda **kw: keras.optimizers.Adam(1e-3, **kw))
    assert VAEGAN.from_config(fm.get_config()).feature_matching and "features" in fm.train_step(batch)


def test_config_round_trip_and_bad_lambda():
    vg = VAEGAN(**ARCH, adversarial_weight=3.0, d_filters=(8, 16), d_dense=0)
    again = VAEGAN.from_config(vg.get_config())
    assert again.adversarial_weight == 3.0 and again.d_dense == 0 and "iw_samples" not in vg.get_config()
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="adversarial_weight"):
            VAEGAN(**ARCH, adversarial_weight=bad)
    with pytest.raises(ValueError, match="iw_samples = 1"):
        VAEGAN(**ARCH, iw_samples=5)


def test_the_averaged_weights_are_scored_and_exported():
    keras.utils.set_random_seed(0)
    vg = VAEGAN(**ARCH, d_filters=(8, 16), d_dense=16, adversarial_weight=1.0, ema=0.9, seed=0)
    vg.build()
    family_of(vg).make_optimizers(lambda **kw: keras.optimizers.Adam(1e-2, **{"use_ema": True, **kw} if kw.get("ema_momentum") else {}))
    for _ in range(3):
        vg.train_step(_batch())
    raw = [v.numpy() for v in vg.vae_variables()]
    with family_of(vg).averaged_weights():
        averaged = [v.numpy() for v in vg.vae_variables()]
    assert all(np.array_equal(a, b) for a, b in zip(raw, [v.numpy() for v in vg.vae_variables()]))  # restored
    assert max(float(np.abs(a - b).max()) for a, b in zip(raw, averaged)) > 1e-4
    family_of(vg).finalize_training("mnist")
    for a, v in zip(averaged, vg.vae_variables()):
        np.testing.assert_array_equal(a, v.numpy())


def test_the_fitted_prior_samples_where_the_codes_are(tmp_path):
    """prior_components > 0: a Gaussian mixture fitted to the training codes is what `sample`,
    the `sample_fitted` signature and the card's fitted-prior scores draw from."""
    keras.utils.set_random_seed(0)
    vg = VAEGAN(**ARCH, d_filters=(8, 16), d_dense=16, prior_components=3, seed=0)
    vg.build()
    noise = np.random.default_rng(0).standard_normal((6, ARCH["latent_dim"])).astype("float32")
    uniform = np.linspace(0, 0.99, 6).astype("float32")
    np.testing.assert_allclose(vg.prior_codes(noise, uniform), noise, atol=1e-6)  # unfitted: N(0, I)
    x = _batch(200)[0].numpy()
    assert not vg.prior_is_fitted()  # an epoch's scores do not report N(0, I) draws as the fitted prior's
    fit = vg.fit_prior(x)
    assert vg.prior_is_fitted()
    assert fit["prior_components"] == 3 and fit["prior_fit_codes"] == 200 and fit["prior_fit_converged"]
    codes = np.asarray(vg.encode(x)[0])
    drawn = np.asarray(vg.prior_codes(np.zeros((300, ARCH["latent_dim"]), "float32"),
                                      np.random.default_rng(1).random(300).astype("float32")))
    means = vg.prior_means.numpy()
    assert {tuple(r) for r in np.round(drawn, 4)} <= {tuple(r) for r in np.round(means, 4)}  # zero noise: a mean
    np.testing.assert_allclose(drawn.mean(0), codes.mean(0), atol=0.5 * codes.std(0).max())
    # the component is the first whose cumulative weight exceeds the uniform draw
    cumulative = vg.prior_cumulative.numpy()
    edge = np.array([0.0, np.nextafter(cumulative[0], 0), cumulative[0], 0.999999], "float32")
    picked = np.asarray(vg.prior_codes(np.zeros((4, ARCH["latent_dim"]), "float32"), edge))
    np.testing.assert_allclose(picked[[0, 1, 2]], means[[0, 0, 1]], atol=1e-6)
    assert vg.sample(7).shape == (7, 28, 28, 1) and family_of(vg).serving_default == "sample_fitted"
    rng = np.random.default_rng(0)  # the picture's sample rows are drawn from the fitted prior too
    expected = vg.prior_codes(rng.standard_normal((30, ARCH["latent_dim"])).astype("float32"),
                              rng.random(30).astype("float32"))
    np.testing.assert_array_equal(family_of(vg).picture_codes(np.random.default_rng(0), 30), expected)
    assert family_of(vg).picture().shape == (6 * 28, 10 * 28)
    fn, specs = family_of(vg).serving_signatures()["sample_fitted"]
    np.testing.assert_allclose(fn(noise, uniform)["images"], vg.decode(vg.prior_codes(noise, uniform)), atol=1e-6)
    path = tmp_path / "vg.keras"
    vg.save(path)
    again = keras.saving.load_model(path, compile=False)
    assert again.prior_components == 3 and again.prior_is_fitted()
    np.testing.assert_array_equal(again.prior_means.numpy(), means)
    with pytest.raises(ValueError, match="prior_components"):
        VAEGAN(**ARCH, prior_components=-1)
    with pytest.raises(ValueError, match="prior_components > 0"):
        VAEGAN(**ARCH).fit_prior(x)


def test_serves_the_vaes_signatures_plus_discriminate():
    vg = VAEGAN(**ARCH, d_filters=(8, 16), d_dense=16)
    vg.build()
    sigs = family_of(vg).serving_signatures()
    assert set(sigs) == set(family_of(VAE(**ARCH)).serving_signatures()) | {"discriminate"}
    fn, specs = sigs["discriminate"]
    p = fn(tf.zeros((3, 28, 28, 1)))["real_probability"].numpy()
    assert p.shape == (3,) and ((0 < p) & (p < 1)).all()


@pytest.mark.mnist
@pytest.mark.slow
def test_the_lambda_sweep_trains_measures_tabulates_plots_and_resumes(tmp_path, capsys):
    from zoo import cli

    small = ["model.filters=[8, 16]", "model.hidden=32", "model.d_filters=[8, 16]", "model.d_dense=32",
             "model.prior_components=2", "judge=false", "epochs=1", "steps_per_epoch=3", "checkpoint_every=0"]
    argv = ["sweep", "vaegan-mnist", "model.adversarial_weight=0,5", "--out", str(tmp_path / "sweep"), "--quiet",
            "--limit", "300",
            "--columns", "test_neg_elbo_nats,prior_samples_fid_mnist,reconstructions_label_kept",
            "--plot", str(tmp_path / "lambda.png"), "--plot-y", "prior_samples_fid_mnist:test_mse_per_pixel"]
    for s in small:
        argv += ["--set", s]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| adversarial_weight | test_neg_elbo_nats | prior_samples_fid_mnist | reconstructions_label_kept |" in printed
    rows = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["rows"]
    assert [r["value"] for r in rows] == [0, 5] and all(r["prior_samples_fid_mnist"] > 0 for r in rows)
    assert all(r["limit"] == 300 and r["test_images"] == 300 for r in rows)
    assert (tmp_path / "lambda.png").read_bytes()[:4] == b"\x89PNG"
    # a second call finds every value measured: nothing is trained or measured again
    stamp = [(tmp_path / "sweep" / f"adversarial_weight={v}" / "sweep_metrics.json").stat().st_mtime_ns for v in (0, 5)]
    assert cli.main(argv) == 0
    assert stamp == [(tmp_path / "sweep" / f"adversarial_weight={v}" / "sweep_metrics.json").stat().st_mtime_ns
                     for v in (0, 5)]
    # other settings: refused before anything is trained or measured, naming what changed
    assert cli.main(argv + ["--set", "epochs=2"]) == 2
    assert "train.epochs 1 -> 2" in capsys.readouterr().err
    assert stamp == [(tmp_path / "sweep" / f"adversarial_weight={v}" / "sweep_metrics.json").stat().st_mtime_ns
                     for v in (0, 5)]
    assert cli.main(["sweep", "vaegan-mnist", "model.adversarial_weight=3", "--out", str(tmp_path / "x")]) == 2


def test_a_sweep_gives_training_the_datasets_judge(tmp_path, monkeypatch):
    """`train.judge = true` in a swept recipe gets per-epoch scores, as under `zoo train`."""
    from zoo import evaluate, sweep, training

    given = {}

    def train(recipe, out, **kwargs):
        given.update(kwargs)
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(training, "train", train)
    with pytest.raises(KeyboardInterrupt):
        sweep.run("vaegan-mnist", "model.adversarial_weight", [0, 1], tmp_path, verbose=0)
    assert given["judge"] is evaluate.default_judge
