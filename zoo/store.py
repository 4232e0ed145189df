"""Stores: where artifacts come from, a cache for the remote ones, and integrity checks.

A store is a folder tree in exactly the `artifacts/` layout plus an `index.json` that lists
every model, its versions and every file of each version with its size and sha256:

    <store>/index.json
    <store>/<name>/<name>.v<N>.keras
    <store>/<name>/<N>/saved_model.pb, variables/..., assets.extra/...

It may be a local folder (the checkout's `artifacts/` is one), an `http(s)://` address (any
static web server over such a folder) or any `tf.io.gfile` scheme (`gs://`, `s3://`,
`hdfs://`, `ram://`). Files of a remote store are downloaded once into the cache (`ZOO_HOME`,
else `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`), which has the same layout and is itself a
store; a download goes to a temporary name and is renamed into place only after its sha256
matches the index, so the cache never holds a partial or wrong file.

Every file a load reads is checked against the index's sha256 once per file state: the
verdict is remembered by path, size and modification time, so a warm load does not hash again.

Example:
    >>> from zoo import store
    >>> local = store.Store(str(zoo.registry.artifacts_root()))
    >>> local.versions("cnn-mnist")
    [1]
    >>> sorted(local.files("cnn-mnist", 1))[:2]
    ['cnn-mnist/1/assets.extra/tf_serving_warmup_requests', 'cnn-mnist/1/fingerprint.pb']
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import keras
import tensorflow as tf

from .files import atomic_write_json, read_json, sha256
from .registry import ROOT, artifacts_root

INDEX = "index.json"
STORE_ENV, HOME_ENV, OFFLINE_ENV = "ZOO_STORE", "ZOO_HOME", "ZOO_OFFLINE"
INDEX_FORMAT = 1


class ArtifactError(RuntimeError):
    """An artifact is missing, corrupt, or not in any store."""


def cache_root() -> Path:
    """The download cache: `ZOO_HOME`, else `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`."""
    if os.environ.get(HOME_ENV, "").strip():
        return Path(os.environ[HOME_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "zoo"


def offline() -> bool:
    """`ZOO_OFFLINE=1`: use local folders and the cache only, never the network."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


# --- the index -------------------------------------------------------------------------------------
def version_files(root: Path, name: str, version: int) -> list[str]:
    """Store-relative paths of one version's files in a local folder: the Keras file and the
    SavedModel folder."""
    root = Path(root)
    out = [f"{name}/{name}.v{version}.keras"] if (root / name / f"{name}.v{version}.keras").is_file() else []
    folder = root / name / str(version)
    out += sorted(p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
    return out


def local_versions(root: Path, name: str) -> list[int]:
    """Numeric version folders of `name` under a local store, ascending."""
    d = Path(root) / name
    return sorted(int(p.name) for p in d.iterdir() if p.is_dir() and p.name.isdigit()) if d.is_dir() else []


def build_index(root, names=None) -> dict:
    """The index of a local store folder: every model folder, its versions, every file's size
    and sha256 (`names` limits it to some models)."""
    root = Path(root)
    models = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if names is not None and d.name not in names:
            continue
        versions = {}
        for v in local_versions(root, d.name):
            versions[str(v)] = {"files": {rel: {"size": (root / rel).stat().st_size, "sha256": sha256(root / rel)}
                                          for rel in version_files(root, d.name, v)}}
        if versions:
            models[d.name] = {"versions": versions}
    return {"format": INDEX_FORMAT, "models": models}


def write_index(root, names=None) -> Path:
    """Rebuild `index.json` of a local store (atomically); with `names`, only those models'
    entries are recomputed and the others kept."""
    root = Path(root)
    index = read_json(root / INDEX) if (root / INDEX).is_file() and names is not None else {"models": {}}
    fresh = build_index(root, names)
    models = {k: v for k, v in index.get("models", {}).items() if names is None or k not in names}
    models.update(fresh["models"])
    return atomic_write_json(root / INDEX, {"format": INDEX_FORMAT, "models": dict(sorted(models.items()))})


# --- integrity -------------------------------------------------------------------------------------
class Verifier:
    """Checks files against expected sha256 digests, remembering each verdict by the file's
    path, size and modification time (in `<cache>/verified.json`), so an unchanged file is
    hashed once."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else cache_root() / "verified.json"
        self.changed = False
        try:
            self.known = read_json(self.path) if self.path.is_file() else {}
        except ValueError:  # a damaged verdict file only costs a re-hash
            self.known = {}

    def check(self, file: Path, expected: str, fix: str):
        """Raise `ArtifactError` naming the file, both hashes and `fix` unless `file` hashes to `expected`."""
        file = Path(file).resolve()
        st = file.stat()
        key, state = str(file), [st.st_size, st.st_mtime_ns, expected]
        if self.known.get(key) == state:
            return
        found = sha256(file)
        if found != expected:
            raise ArtifactError(f"{file} is corrupt or incomplete: its sha256 is {found}, the store's index says "
                                f"{expected}. {fix}")
        self.known[key], self.changed = state, True

    def save(self):
        """Remember new verdicts (best effort: a read-only home only costs re-hashing)."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path, self.known)
        except OSError:
            pass


# --- stores ----------------------------------------------------------------------------------------
class Store:
    """One store, by location: a folder path or `file://` URL, `http(s)://`, or another
    `tf.io.gfile` scheme (`gs://`, `s3://`, `hdfs://`, `ram://`)."""

    def __init__(self, location: str):
        self.location = str(location).rstrip("/")
        scheme = urlparse(self.location).scheme
        if scheme in ("", "file") or len(scheme) == 1:  # a path (or a Windows drive letter)
            self.kind, self.root = "local", Path(urlparse(self.location).path if scheme == "file" else self.location)
        else:
            self.kind, self.root = ("http" if scheme in ("http", "https") else "gfile"), None
        self._index = None

    def __repr__(self):
        return f"Store({self.location!r})"

    @property
    def remote(self) -> bool:
        """Whether reading it needs the network (and the cache)."""
        return self.kind != "local"

    def index(self) -> dict:
        """The store's index.json (a local folder without one is indexed on the fly from its
        cards' checksums: the checkout before `zoo index`)."""
        if self._index is None:
            self._index = self._read_index()
        return self._index

    def _read_index(self) -> dict:
        if self.kind == "local":
            if (self.root / INDEX).is_file():
                return read_json(self.root / INDEX)
            return _index_from_cards(self.root)
        url = f"{self.location}/{INDEX}"
        try:
            if self.kind == "http":
                with tempfile.TemporaryDirectory() as tmp:
                    path = keras.utils.get_file(fname=INDEX, origin=url, cache_dir=tmp, cache_subdir="")
                    return read_json(path)
            with tf.io.gfile.GFile(url, "r") as f:
                return json.loads(f.read())
        except Exception as e:  # noqa: BLE001  any transport error: the store is unavailable
            raise ArtifactError(f"cannot read the index of store {self.location} ({type(e).__name__}: {e})") from e

    def versions(self, name: str) -> list[int]:
        """The versions of `name` the store holds, ascending."""
        return sorted(int(v) for v in self.index().get("models", {}).get(name, {}).get("versions", {}))

    def files(self, name: str, version: int) -> dict:
        """{store-relative path: {"size", "sha256"}} of one version."""
        return self.index()["models"][name]["versions"][str(version)]["files"]

    def fetch(self, name: str, version: int, only=None, cache: Path | None = None, progress: bool = True) -> Path:
        """A local folder in the store layout holding `name` version `version` (or the files of
        it listed in `only`): the store's own folder, or the cache after downloading, each file
        checked against the index, what the cache lacks."""
        files = self.files(name, version)
        if self.kind == "local":
            return self.root
        cache = Path(cache or cache_root())
        clean_partial_downloads(cache)
        for rel, meta in files.items():
            if only is not None and rel not in only:
                continue
            dest = cache / rel
            if dest.is_file() and dest.stat().st_size == meta["size"] and sha256(dest) == meta["sha256"]:
                continue
            self._download(rel, meta, dest, cache, progress)
        write_index_entry(cache, name, version, files)
        return cache

    def fix_hint(self, rel: str) -> str:
        """How to repair a corrupt file of this store."""
        if self.kind == "local" and (ROOT / "artifacts") == self.root.resolve():
            return f"Restore it with `git checkout -- artifacts/{rel}` or re-export the model."
        if self.kind == "local":
            return f"Copy it again from the store it came from, or delete {self.root / rel} and `zoo pull` it."
        return "The store's copy is wrong: publish the version again with `zoo push NAME --to STORE`."

    def _download(self, rel: str, meta: dict, dest: Path, cache: Path, progress: bool):
        """Fetch one file to a temporary name in the cache, check its sha256, then rename."""
        partial_dir = cache / ".downloads"
        partial_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=partial_dir, prefix=f"{os.getpid()}-"))
        try:
            target = tmp / "file"
            url = f"{self.location}/{rel}"
            if self.kind == "http":
                keras.utils.get_file(fname="file", origin=url, cache_dir=str(tmp), cache_subdir="",
                                     file_hash=meta["sha256"], hash_algorithm="sha256")
            else:
                tf.io.gfile.copy(url, str(target), overwrite=True)
            found = sha256(target)
            if found != meta["sha256"]:
                raise ArtifactError(f"{url} does not match the store's index: sha256 {found}, expected {meta['sha256']}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target, dest)
        except ArtifactError:
            raise
        except Exception as e:  # noqa: BLE001  transport errors of every kind
            raise ArtifactError(f"could not download {self.location}/{rel} ({type(e).__name__}: {e})") from e
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def write_index_entry(root: Path, name: str, version: int, files: dict):
    """Add one version's entry to a local store's index.json (the cache's, after a download)."""
    index = read_json(root / INDEX) if (root / INDEX).is_file() else {"format": INDEX_FORMAT, "models": {}}
    index.setdefault("models", {}).setdefault(name, {"versions": {}})["versions"][str(version)] = {"files": files}
    atomic_write_json(root / INDEX, index)


def _index_from_cards(root: Path) -> dict:
    """An index of a local folder from its cards' `files` checksums (sizes from the files)."""
    models = {}
    for card_path in sorted(Path(root).glob("*/card.json")):
        name = card_path.parent.name
        card = read_json(card_path)
        version = card.get("version")
        files = {f"{name}/{rel}": {"size": (root / name / rel).stat().st_size if (root / name / rel).is_file() else -1,
                                   "sha256": digest} for rel, digest in card.get("files", {}).items()}
        if version is not None and files:
            models[name] = {"versions": {str(version): {"files": files}}}
    return {"format": INDEX_FORMAT, "models": models}


def clean_partial_downloads(cache: Path | None = None):
    """Remove the temporary folders of downloads whose process is gone."""
    partial_dir = Path(cache or cache_root()) / ".downloads"
    for d in partial_dir.glob("*-*") if partial_dir.is_dir() else []:
        pid = d.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def verify_store(location: str, names=None) -> dict:
    """Hash every file of every version (of `names`, else all) of a store against its index,
    downloading remote files into the cache first. Returns {"name@version": [problems]}."""
    s = Store(location)
    report = {}
    for name in sorted(names or s.index().get("models", {})):
        for version in s.versions(name) or [None]:
            key = f"{name}@{version}"
            if version is None:
                report[key] = [f"the store has no {name}"]
                continue
            problems = []
            try:
                root = s.fetch(name, version)
                for rel, meta in s.files(name, version).items():
                    found = sha256(root / rel) if (root / rel).is_file() else None
                    if found != meta["sha256"]:
                        problems.append(f"{rel}: {'missing' if found is None else 'sha256 ' + found}, expected {meta['sha256']}")
            except ArtifactError as e:
                problems.append(str(e))
            report[key] = problems
    return report


def _gfile_write_atomic(url: str, data: bytes):
    tmp = f"{url}.tmp-{os.getpid()}"
    with tf.io.gfile.GFile(tmp, "wb") as f:
        f.write(data)
    tf.io.gfile.rename(tmp, url, overwrite=True)


def push(name: str, version: int, source, destination: str) -> list[str]:
    """Publish one version from a local store to another store (a folder, `file://`, or a
    `tf.io.gfile` scheme such as `gs://`): each file checked against the source index, written
    under a temporary name and renamed, then the destination's index.json updated (last, so
    readers never see a version whose files are not all there). Returns the paths written."""
    dest = Store(destination)
    if dest.kind == "http":
        raise ArtifactError(f"{destination} is read-only over http(s): push to the folder or bucket the web server "
                            "serves (e.g. gs://bucket/zoo or /srv/zoo)")
    src = Store(str(source))
    files = src.files(name, version)
    root = src.fetch(name, version)
    written = []
    for rel, meta in files.items():
        found = sha256(root / rel)
        if found != meta["sha256"]:
            raise ArtifactError(f"not pushing {rel}: its sha256 is {found}, the index says {meta['sha256']}")
        url = f"{dest.location}/{rel}"
        tf.io.gfile.makedirs(os.path.dirname(url))
        _gfile_write_atomic(url, (root / rel).read_bytes())
        written.append(url)
    for extra in ("card.json", f"card.v{version}.json", "samples.png"):  # what describe and people read
        if (root / name / extra).is_file():
            _gfile_write_atomic(f"{dest.location}/{name}/{extra}", (root / name / extra).read_bytes())
    index_url = f"{dest.location}/{INDEX}"
    index = json.loads(tf.io.gfile.GFile(index_url, "r").read()) if tf.io.gfile.exists(index_url) else {
        "format": INDEX_FORMAT, "models": {}}
    index.setdefault("models", {}).setdefault(name, {"versions": {}})["versions"][str(version)] = {"files": files}
    _gfile_write_atomic(index_url, (json.dumps(index, indent=1) + "\n").encode())
    return written + [index_url]


# --- resolution -----------------------------------------------------------------------------------
def candidate_stores(store: str | None = None) -> list[Store]:
    """Where to look, in order: an explicit `store`, `ZOO_STORE`, the local artifacts folder
    (`ZOO_ARTIFACTS_DIR`, else the checkout's `artifacts/` when running from a source tree),
    the cache. `ZOO_OFFLINE=1` drops the remote ones."""
    out = []
    for loc in (store, os.environ.get(STORE_ENV, "").strip() or None):
        if loc:
            out.append(Store(loc))
    local = artifacts_root()
    from_source = (ROOT / "setup.cfg").is_file()  # a checkout (or editable install), not site-packages
    if os.environ.get("ZOO_ARTIFACTS_DIR", "").strip() or (local.is_dir() and from_source):
        out.append(Store(str(local)))
    out.append(Store(str(cache_root())))
    return [s for s in out if not (offline() and s.remote)]


def default_location() -> str:
    """The store commands act on by default: `ZOO_STORE`, else the local artifacts folder."""
    return os.environ.get(STORE_ENV, "").strip() or str(artifacts_root())


def locate(name: str, version: int | None = None, store: str | None = None) -> tuple[Store, int]:
    """The first store that holds `name` (at `version`, else its newest), and the version."""
    tried, available = [], {}
    for s in candidate_stores(store):
        try:
            versions = s.versions(name)
        except ArtifactError as e:
            tried.append(f"{s.location} ({e})")
            continue
        if versions and (version is None or version in versions):
            return s, version or versions[-1]
        if versions:
            available[s.location] = versions
        tried.append(f"{s.location} ({'versions ' + str(versions) if versions else 'no ' + name})")
    if available:
        where, versions = next(iter(available.items()))
        raise ArtifactError(f"{name!r} has no version {version}; available: {versions} (in {where})")
    what = f"{name!r}" + (f" version {version}" if version else "")
    raise ArtifactError(
        f"no store has {what}; tried: {'; '.join(tried)}"
        + (" (offline: ZOO_OFFLINE is set, remote stores skipped)" if offline() else "")
        + f". Set {STORE_ENV} (a folder, http(s)://, gs://, ...) or pass store=..., or train one with "
        f"`zoo train {name} --out runs/{name}` and export it with `zoo export {name} --run runs/{name}`.")

