"""File helpers every layer may use: atomic writes, checksums, PNG images.

An atomic write puts the bytes in a hidden temporary file beside the destination and renames
it into place (`os.replace`), so a reader or a crash never sees half a file.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_json(folder / "card.json", {"version": 1}).name
    'card.json'
    >>> read_json(folder / "card.json")
    {'version': 1}
    >>> len(sha256(folder / "card.json"))
    64
    >>> tile([np.zeros((3, 28, 28, 1))] * 2).shape
    (56, 84)
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import sys
from pathlib import Path

import filelock
import numpy as np

LOCK, OWNER = ".zoo.lock", ".zoo.lock.owner"


class FolderBusy(RuntimeError):
    """Another process is working in a folder (it holds the folder's lock)."""


@contextlib.contextmanager
def folder_lock(folder, purpose: str):
    """Hold `folder`'s lock (`.zoo.lock`, a `filelock` lock the OS releases when the holder dies)
    while the block runs. A second process asking for it gets `FolderBusy` at once, naming the
    holder's PID and what it does, instead of working on the same files.

    Example:
        >>> import tempfile
        >>> with folder_lock(tempfile.mkdtemp(), "training") as owner:
        ...     owner["purpose"], owner["pid"] == os.getpid()
        ('training', True)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(folder / LOCK), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        try:
            holder = read_json(folder / OWNER)
        except (OSError, ValueError):
            holder = {}
        who = f"process {holder['pid']} ({holder.get('purpose')}, since {holder.get('started')})" if holder else "another process"
        raise FolderBusy(f"{folder} is in use by {who}; wait for it to finish or stop it, "
                         "or use another folder") from None
    owner = {"pid": os.getpid(), "purpose": purpose, "command": " ".join(sys.argv),
             "started": datetime.datetime.now().isoformat(timespec="seconds")}
    try:
        atomic_write_json(folder / OWNER, owner)
        yield owner
    finally:
        with contextlib.suppress(OSError):
            (folder / OWNER).unlink()
        lock.release()


def _temporary(path: Path, suffix: str = ".tmp") -> Path:
    return path.with_name(f".{path.name}{suffix}")


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file and a rename."""
    path = Path(path)
    tmp = _temporary(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file and a rename."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, indent: int = 1, newline: bool = True) -> Path:
    """Write `obj` as indented JSON (a final newline unless `newline=False`), atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent) + ("\n" if newline else ""))


def read_json(path):
    """The JSON document in `path`."""
    return json.loads(Path(path).read_text())


def atomic_save_npz(path, **arrays) -> Path:
    """`np.savez` to a temporary file, then rename (numpy appends `.npz` to names without it)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def save_keras_atomic(model, path) -> Path:
    """Write a .keras file next to its destination, then rename: never a half file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)
    return path


def sha256(path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_png(grid, path, scale: int = 2) -> Path:
    """Write a PNG atomically: a (H, W) or (H, W, 1) array in [0, 1], or an (H, W, 3) uint8 image,
    each pixel repeated `scale` times in both directions."""
    from PIL import Image  # Pillow is only needed by the few callers that draw

    path = Path(path)
    grid = np.asarray(grid)
    if grid.ndim == 3 and grid.shape[-1] == 3:
        img = Image.fromarray(grid.astype("uint8"))
    else:
        img = Image.fromarray((np.clip(grid[..., 0] if grid.ndim == 3 else grid, 0, 1) * 255).astype("uint8"))
    img = img.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    tmp = path.with_name(f".{path.name}.tmp.png")
    img.save(tmp)
    os.replace(tmp, path)
    return path


def tile(rows) -> np.ndarray:
    """Stack rows of images (each (n, 28, 28, 1)) into one (rows*28, n*28) grid image."""
    return np.concatenate([np.concatenate(list(np.asarray(r)[..., 0]), axis=1) for r in rows], axis=0)
