import gzip
import shutil
import struct

import numpy as np
import pytest

from zoo import data


@pytest.mark.mnist
def test_mnist_files_load_with_the_documented_contents():
    x, y = data.load_arrays("mnist", "train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert abs(x.mean() - 33.32) < 0.01
    xt, yt = data.load_arrays("mnist", "test")
    assert xt.shape == (10000, 28, 28)
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert abs(xt.mean() - 33.79) < 0.01
    assert set(np.unique(yt)) == set(range(10))


def _fake_root(tmp_path, monkeypatch):
    src = data.files("mnist", "test")
    dst = tmp_path / "mnist"
    dst.mkdir()
    for p in src:
        shutil.copy(p, dst / p.name)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    data.load_arrays.cache_clear()
    return dst


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    yield _fake_root(tmp_path, monkeypatch)
    data.load_arrays.cache_clear()


@pytest.mark.mnist
def test_missing_file_names_the_file_and_the_setting(fake_root):
    (fake_root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte.gz.*ZOO_DATA_DIR"):
        data.load_arrays("mnist", "test")


@pytest.mark.mnist
def test_bad_magic_is_reported(fake_root):
    p = fake_root / "t10k-images-idx3-ubyte.gz"
    raw = gzip.open(p).read()
    with gzip.open(p, "wb") as f:
        f.write(struct.pack(">i", 1234) + raw[4:])
    with pytest.raises(data.DataError, match=r"t10k-images.*magic 1234, expected 2051"):
        data.load_arrays("mnist", "test")


@pytest.mark.mnist
def test_truncated_file_is_reported(fake_root):
    p = fake_root / "t10k-images-idx3-ubyte.gz"
    raw = gzip.open(p).read()
    with gzip.open(p, "wb") as f:
        f.write(raw[: len(raw) // 2])
    with pytest.raises(data.DataError, match="truncated"):
        data.load_arrays("mnist", "test")


@pytest.mark.mnist
def test_not_gzip_is_reported(fake_root):
    (fake_root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"hello")
    with pytest.raises(data.DataError, match="not a readable gzip"):
        data.load_arrays("mnist", "test")


@pytest.mark.mnist
def test_label_out_of_range_is_reported(fake_root):
    p = fake_root / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.open(p).read())
    raw[8] = 11
    with gzip.open(p, "wb") as f:
        f.write(bytes(raw))
    with pytest.raises(data.DataError, match="label 11 outside 0-9"):
        data.load_arrays("mnist", "test")


def test_unknown_dataset_and_split():
    with pytest.raises(data.DataError, match="unknown dataset 'cifar'"):
        data.load_arrays("cifar", "train")
    with pytest.raises(data.DataError, match="unknown split"):
        data.load_arrays("mnist", "valid")


@pytest.mark.mnist
def test_pipeline_shapes_scaling_and_labels():
    ds = data.make_dataset("mnist", "test", batch_size=32, labels=True)
    x, y = next(iter(ds))
    assert x.shape == (32, 28, 28, 1) and x.dtype.name == "float32"
    assert 0.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0
    assert y.numpy()[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # test split is not shuffled


@pytest.mark.mnist
def test_dynamic_binarisation_is_bernoulli_fresh_and_seeded():
    def first(seed):
        return next(iter(data.make_dataset("mnist", "train", 256, binarize="dynamic", seed=seed))).numpy()

    a, b, c = first(1), first(1), first(2)
    assert set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)  # same seed, same stream
    assert not np.array_equal(a, c)
    # Bernoulli with p = grey level: the binarised mean matches the grey mean of the same images.
    grey = next(iter(data.make_dataset("mnist", "train", 256, seed=1))).numpy()
    assert abs(a.mean() - grey.mean()) < 0.01


@pytest.mark.mnist
def test_noise_travels_with_the_batch():
    x, eps = next(iter(data.make_dataset("mnist", "train", 512, noise_dim=8, seed=0)))
    assert eps.shape == (512, 8)
    assert abs(float(eps.numpy().mean())) < 0.05 and abs(float(eps.numpy().std()) - 1) < 0.05


@pytest.mark.mnist
@pytest.mark.parametrize("split", ["train", "test"])
def test_batch_scaling_gives_the_per_image_stream(split):
    """With nothing random per image the pipeline scales whole batches: the same images, labels
    and order, bit for bit, as the per-image path (taken here because noise is asked for)."""
    fast = data.make_dataset("mnist", split, 100, labels=True, seed=3)
    per_image = data.make_dataset("mnist", split, 100, labels=True, seed=3, noise_dim=1)
    batches = 0
    for (x, y), (x1, y1, _) in zip(fast.take(30), per_image.take(30)):
        np.testing.assert_array_equal(x.numpy(), x1.numpy())
        np.testing.assert_array_equal(y.numpy(), y1.numpy())
        batches += 1
    assert batches == 30 and len(list(fast)) == len(list(per_image))


@pytest.mark.mnist
def test_fixed_binarised_test_set_is_repeatable():
    a = data.binarized_test_images("mnist", seed=0)
    assert a.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(a[:100], data.binarized_test_images("mnist", seed=0)[:100])


@pytest.mark.mnist
def test_checksums_cover_the_four_files():
    sums = data.checksums("mnist")
    assert len(sums) == 4 and all(len(v) == 64 for v in sums.values())


def test_the_data_setting_is_a_search_path(tmp_path, monkeypatch):
    """Each dataset is read from the first folder of ZOO_DATA_DIR that has it (MNIST from one
    place, Fashion-MNIST from Debian's /usr/share/datasets)."""
    import os

    empty, other = tmp_path / "empty", tmp_path / "other" / "fashion-mnist"
    empty.mkdir()
    other.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        with gzip.open(other / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">iiii", 2051, n, 28, 28) + rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes())
        with gzip.open(other / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">ii", 2049, n) + rng.integers(0, 10, n, dtype=np.uint8).tobytes())
    monkeypatch.setenv(data.DATA_DIR_ENV, os.pathsep.join([str(empty), str(tmp_path / "other")]))
    data.load_arrays.cache_clear()
    try:
        assert data.files("fashion-mnist", "test")[0].parent == other
        assert data.load_arrays("fashion-mnist", "test")[0].shape == (10000, 28, 28)
        with pytest.raises(data.DataError, match=str(empty / "mnist")):  # not found: names the first folder
            data.load_arrays("mnist", "test")
    finally:
        data.load_arrays.cache_clear()
