"""Datasets in: MNIST and Fashion-MNIST as validated arrays and `tf.data` pipelines.

The folder comes from the `ZOO_DATA_DIR` setting (environment variable) and holds one
sub-folder per dataset with the four canonical IDX files::

    $ZOO_DATA_DIR/mnist/train-images-idx3-ubyte.gz ...
    $ZOO_DATA_DIR/fashion-mnist/t10k-labels-idx1-ubyte.gz ...

With no setting the normal Keras download is used, for users who have internet.

Example:
    >>> from zoo import data
    >>> x, y = data.load_arrays("mnist", "test")        # uint8 (10000, 28, 28), uint8 (10000,)
    >>> ds = data.make_dataset("mnist", "train", batch_size=128, binarize="dynamic", seed=0)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "ZOO_DATA_DIR"

DATASETS = {
    # name: (folder, keras loader module, number of train/test examples)
    "mnist": ("mnist", "mnist", {"train": 60000, "test": 10000}),
    "fashion-mnist": ("fashion-mnist", "fashion_mnist", {"train": 60000, "test": 10000}),
}
_PREFIX = {"train": "train", "test": "t10k"}
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049


class DataError(RuntimeError):
    """A data file is missing, corrupt or of the wrong shape."""


def data_dir() -> Path | None:
    """The folder named by `ZOO_DATA_DIR`, or None when the setting is empty."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _check_name(name: str, split: str) -> None:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    if split not in _PREFIX:
        raise DataError(f"unknown split {split!r}; use 'train' or 'test'")


def files(name: str, split: str, root: Path | None = None) -> tuple[Path, Path]:
    """Paths of the (images, labels) IDX files of one split under the data folder."""
    _check_name(name, split)
    root = root or data_dir()
    if root is None:
        raise DataError(f"{DATA_DIR_ENV} is not set")
    folder = root / DATASETS[name][0]
    p = _PREFIX[split]
    return folder / f"{p}-images-idx3-ubyte.gz", folder / f"{p}-labels-idx1-ubyte.gz"


def _read_idx(path: Path, magic: int, count: int) -> np.ndarray:
    hint = f"Check the file, or point {DATA_DIR_ENV} at a folder with the canonical MNIST-layout files."
    if not path.is_file():
        raise DataError(f"missing data file {path} ({DATA_DIR_ENV}={os.environ.get(DATA_DIR_ENV, '')!r}). {hint}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"corrupt data file {path}: not a readable gzip file ({e}). {hint}") from e
    ndim = magic & 0xFF
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"corrupt data file {path}: {len(raw)} bytes is too short for an IDX header. {hint}")
    (found,) = struct.unpack(">i", raw[:4])
    if found != magic:
        raise DataError(f"corrupt data file {path}: IDX magic {found}, expected {magic}. {hint}")
    dims = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    if dims[0] != count or (ndim == 3 and dims[1:] != (28, 28)):
        raise DataError(f"data file {path} holds shape {dims}, expected ({count}{', 28, 28' if ndim == 3 else ''}). {hint}")
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"corrupt data file {path}: {body.size} values for a header of shape {dims} (truncated?). {hint}")
    return body.reshape(dims)


@lru_cache(maxsize=8)
def load_arrays(name: str = "mnist", split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, N×28×28) and labels (uint8, N) of one split, validated."""
    _check_name(name, split)
    count = DATASETS[name][2][split]
    root = data_dir()
    if root is None:
        import keras  # the download fallback, for users with internet

        loader = getattr(keras.datasets, DATASETS[name][1])
        (xtr, ytr), (xte, yte) = loader.load_data()
        x, y = (xtr, ytr) if split == "train" else (xte, yte)
    else:
        img_path, lbl_path = files(name, split, root)
        x = _read_idx(img_path, _IMAGE_MAGIC, count)
        y = _read_idx(lbl_path, _LABEL_MAGIC, count)
        if y.max() > 9:
            raise DataError(f"corrupt data file {lbl_path}: label {int(y.max())} outside 0-9")
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def checksums(name: str = "mnist") -> dict[str, str]:
    """sha256 of each data file used, for model cards (empty when downloading)."""
    if data_dir() is None:
        return {}
    out = {}
    for split in ("train", "test"):
        for p in files(name, split):
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def float_images(name: str = "mnist", split: str = "test", limit: int | None = None) -> np.ndarray:
    """One split's images as float32 (n, 28, 28, 1) in [0, 1], the first `limit` if given."""
    return load_arrays(name, split)[0][:limit, ..., None].astype("float32") / 255.0


def binarized_test_images(name: str = "mnist", seed: int = 0) -> np.ndarray:
    """The test set binarised once with a fixed seed (float32, N×28×28×1): the fixed
    evaluation set for Bernoulli likelihoods, so every evaluation sees the same bits."""
    x, _ = load_arrays(name, "test")
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x.astype(np.float32) / 255.0).astype(np.float32)[..., None]


def make_dataset(
    name: str = "mnist",
    split: str = "train",
    batch_size: int = 128,
    *,
    binarize: str = "none",
    shuffle: bool | None = None,
    seed: int = 0,
    labels: bool = False,
    noise_dim: int | None = None,
    augment: str = "none",
    drop_remainder: bool | None = None,
):
    """A `tf.data` pipeline of float32 images in [0, 1], shaped (batch, 28, 28, 1).

    Images stay uint8 in memory and are scaled on the fly (4× less to cache).
    `augment="shift"` moves each image by up to 2 pixels; `binarize="dynamic"` draws fresh Bernoulli pixels each time an image is seen (the VAE's
    likelihood); `labels=True` yields `(image, label)`; `noise_dim` adds a per-example
    standard-normal vector, so stochastic models get their noise from the input pipeline and
    a distributed step splits it across replicas exactly as it splits the images.
    Every random choice derives from `seed`: the same seed gives the same stream.
    """
    import tensorflow as tf

    if augment not in ("none", "shift"):
        raise ValueError(f"augment must be 'none' or 'shift', got {augment!r}")
    if binarize not in ("none", "dynamic"):
        raise ValueError(f"binarize must be 'none' or 'dynamic', got {binarize!r}")
    train = split == "train"
    shuffle = train if shuffle is None else shuffle
    drop_remainder = train if drop_remainder is None else drop_remainder
    x, y = load_arrays(name, split)
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32))).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=False)
    # One int64 seed per example from a seeded stream: stateless ops stay deterministic.
    ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(seed=seed + 1)))

    def prepare(xy, s):
        img, lab = xy
        img = tf.cast(img, tf.float32)[..., None] / 255.0
        key = tf.stack([s, tf.cast(seed, tf.int64)])
        if augment == "shift":  # up to 2 pixels each way, per example
            img = tf.image.stateless_random_crop(tf.pad(img, [[2, 2], [2, 2], [0, 0]]), [28, 28, 1], seed=key + 2)
        if binarize == "dynamic":
            img = tf.cast(tf.random.stateless_uniform(tf.shape(img), seed=key) < img, tf.float32)
        out = (img,)
        if labels:
            out += (lab,)
        if noise_dim:
            out += (tf.random.stateless_normal([noise_dim], seed=key + 1),)
        return out[0] if len(out) == 1 else out

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
