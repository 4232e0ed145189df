"""Stores: where artifacts come from, a cache for the remote ones, and integrity checks.

A store is a folder tree in exactly the `artifacts/` layout (`zoo.layout` names every file)
plus an `index.json` that lists every model, its versions and every file of each version with
its size and sha256:

    <store>/index.json
    <store>/<name>/<name>.v<N>.keras
    <store>/<name>/<N>/saved_model.pb, variables/..., assets.extra/...

It may be a local folder (the checkout's `artifacts/` is one), an `http(s)://` address (any
static web server over such a folder) or any `tf.io.gfile` scheme (`gs://`, `s3://`,
`hdfs://`, `ram://`). Files of a remote store are downloaded once into the cache (`ZOO_HOME`,
else `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`), which has the same layout and is itself a
store; a download arrives in `.downloads/<sha256>.part` (an interrupted one is continued from
there) and is renamed into place only after its sha256 matches the index, so the cache never
holds a partial or wrong file.

Every file a load reads is checked against the index's sha256 once per file state: the
verdict is remembered by path, size and modification time, so a warm load does not hash again.

Example:
    >>> from zoo import store
    >>> local = store.Store(str(zoo.registry.artifacts_root()))
    >>> local.versions("cnn-mnist")[:3]   # grows as versions are published
    [1, 2, 3]
    >>> sorted(local.files("cnn-mnist", 1))[:2]
    ['cnn-mnist/1/assets.extra/tf_serving_warmup_requests', 'cnn-mnist/1/fingerprint.pb']
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import filelock
import requests
from tqdm import tqdm

from .files import atomic_write_bytes, atomic_write_json, read_json, sha256
from .layout import (CARD, INDEX, NAME_PATTERN, PICTURE, VERSION_KEY, card_name, keras_file, layout_problem,
                     published_versions, version_folders, version_of_card)
from .registry import ROOT, artifacts_root

STORE_ENV, HOME_ENV, OFFLINE_ENV = "ZOO_STORE", "ZOO_HOME", "ZOO_OFFLINE"
INDEX_FORMAT = 1
CHUNK = 1 << 16  # bytes written to the part file at a time: what a killed pull keeps
DOWNLOAD_ATTEMPTS = 4
PART_MAX_AGE_DAYS = 7
HTTP_TIMEOUT = (10, 60)  # seconds to connect, seconds between bytes
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_FILE_BYTES = 1 << 40


def gfile():
    """TensorFlow's `tf.io.gfile`, imported only for the stores that need it (`gs://`, `s3://`,
    `hdfs://`, `ram://`): folders and http(s) stores work without TensorFlow (`zoo.runtime`)."""
    try:
        import tensorflow as tf
    except ImportError as e:
        raise ArtifactError("stores at gs://, s3://, hdfs:// or ram:// are read through TensorFlow's tf.io.gfile, "
                            "which is not installed here: install the full zoo (pip install zoo), or copy the store "
                            "to a folder or an http(s) server") from e
    return tf.io.gfile


def is_local(location: str) -> bool:
    """Whether a store location is a folder on this machine (a path or a file:// URL)."""
    scheme = urlparse(str(location)).scheme
    return scheme in ("", "file") or len(scheme) == 1


def local_path(location: str) -> Path:
    """The folder a local store location names."""
    parsed = urlparse(str(location))
    return Path(parsed.path if parsed.scheme == "file" else str(location))


def _transient_errors() -> tuple:
    """What a dropped transfer raises: worth a retry from where it stopped."""
    errors = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    tf = sys.modules.get("tensorflow")  # a gfile transfer has imported it
    return errors + ((tf.errors.UnavailableError, tf.errors.AbortedError) if tf is not None else ())


class ArtifactError(RuntimeError):
    """An artifact is missing, corrupt, or not in any store."""


class StoreIndexError(ArtifactError):
    """A store's index, or a name in it, that cannot be trusted: refused before anything is written."""


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
def _said(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width] + "...'"


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "true or false"}.get(
        type(value), "a number")


def check_index(index, where: str) -> dict:
    """`index` if it is a well-formed store index, else `StoreIndexError` naming `where` (the
    index's address) and the first wrong field. Every model is a model name, every version key a
    whole number from 1 in its one spelling with at least one file, every file a name of the
    layout (`layout_problem`) with a size and a sha256: what a store says is checked before
    any file it names is fetched, read or written.

    Example:
        >>> check_index({"format": 1, "models": {"x": {"versions": {"01": {"files": {}}}}}}, "index.json")
        Traceback (most recent call last):
        ...
        zoo.store.StoreIndexError: index.json: models['x'].versions['01'] is not a version (a whole number from 1 \
written without sign or leading zeros); nothing was read or written from it
    """

    def bad(field: str, why: str):
        raise StoreIndexError(f"{where}: {field} {why}; nothing was read or written from it")

    if not isinstance(index, dict):
        bad("the index", f"is {_kind(index)}, not an object with \"models\"")
    fmt = index.get("format", INDEX_FORMAT)
    if fmt != INDEX_FORMAT or isinstance(fmt, bool):
        bad("format", f"is {_said(fmt)}; this zoo reads format {INDEX_FORMAT} (a newer index needs a newer zoo)")
    if not isinstance(index.get("models"), dict):
        bad("models", f"is {_kind(index.get('models'))}, not an object of models")
    for name, model in index["models"].items():
        field = f"models[{_said(name)}]"
        if not NAME_PATTERN.match(name):
            bad(field, "is not a model name (lowercase letters and digits joined by '-')")
        if not isinstance(model, dict) or not isinstance(model.get("versions"), dict):
            bad(f"{field}.versions", "is missing or not an object")
        for key, entry in model["versions"].items():
            fv = f"{field}.versions[{_said(key)}]"
            if not VERSION_KEY.match(key):
                bad(fv, "is not a version (a whole number from 1 written without sign or leading zeros)")
            files = entry.get("files") if isinstance(entry, dict) else None
            if not isinstance(files, dict) or not files:
                bad(f"{fv}.files", "is missing or empty: a version has files")
            for rel, meta in files.items():
                ff = f"{fv}.files[{_said(rel)}]"
                problem = layout_problem(name, int(key), rel)
                if problem:
                    bad(ff, f"is {problem}")
                size, digest = (meta.get("size"), meta.get("sha256")) if isinstance(meta, dict) else (None, None)
                if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_FILE_BYTES:
                    bad(f"{ff}.size", f"is {_said(size)}, not a whole number of bytes")
                if not isinstance(digest, str) or not SHA256_HEX.match(digest):
                    bad(f"{ff}.sha256", f"is {_said(digest)}, not 64 lowercase hex digits")
    return index


def parse_index(text, where: str) -> dict:
    """The checked index in `text` (bytes or str) read from `where`; `StoreIndexError` if it is
    not JSON (an HTML page where the index should be says so) or not a valid index."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        index = json.loads(text)
    except ValueError:
        start = text.lstrip()[:40]
        page = " (an HTML page: is this the folder that holds index.json?)" if start.lower().startswith(("<!doc", "<html")) \
            else ""
        raise StoreIndexError(f"{where} is not JSON{page}; it begins {_said(start)}") from None
    return check_index(index, where)


def inside(root: Path, rel: str) -> Path:
    """`root / rel`, refused (`StoreIndexError`) unless it lies inside `root` once links are
    followed: the last guard before a store's name becomes a path that is written."""
    root = Path(root).resolve()
    path = (root / rel).resolve()
    if path == root or not path.is_relative_to(root):
        raise StoreIndexError(f"{rel!r} would be written outside {root}; refused")
    return path


def version_files(root: Path, name: str, version: int) -> list[str]:
    """Store-relative paths of one version's files in a local folder: the Keras file and the
    SavedModel folder."""
    root = Path(root)
    out = [keras_file(name, version)] if (root / keras_file(name, version)).is_file() else []
    folder = root / name / str(version)
    out += sorted(p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
    return out


def version_entries(root: Path, name: str, version: int) -> dict:
    """{store-relative path: {"size", "sha256"}} of one version's files in a local folder: what
    the index lists for it (and the card's checksums)."""
    root = Path(root)
    return {rel: {"size": (root / rel).stat().st_size, "sha256": sha256(root / rel)}
            for rel in version_files(root, name, version)}


def build_index(root, names=None) -> dict:
    """The index of a local store folder: every model folder, its versions, every file's size
    and sha256 (`names` limits it to some models)."""
    root = Path(root)
    models = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name)):
        if names is not None and d.name not in names:
            continue
        carded = any(version_of_card(p.name) for p in d.iterdir())  # a folder with cards publishes by its cards
        versions = {str(v): {"files": version_entries(root, d.name, v)}
                    for v in (published_versions(d) if carded else version_folders(d))}
        if versions:
            models[d.name] = {"versions": versions}
    return {"format": INDEX_FORMAT, "models": models}


def write_index(root, names=None) -> Path:
    """Rebuild `index.json` of a local store (atomically); with `names`, only those models'
    entries are recomputed and the others kept. An index that would not pass `check_index` (a
    file the layout has no place for) is refused, not written."""
    root = Path(root)
    index = read_index_at(str(root)) if names is not None else {"models": {}}
    fresh = build_index(root, names)
    models = {k: v for k, v in index.get("models", {}).items() if names is None or k not in names}
    models.update(fresh["models"])
    index = check_index({"format": INDEX_FORMAT, "models": dict(sorted(models.items()))}, str(root / INDEX))
    return atomic_write_json(root / INDEX, index)


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
        except (ValueError, OSError):  # a damaged verdict file only costs a re-hash
            self.known = {}
        if not isinstance(self.known, dict):
            self.known = {}

    @staticmethod
    def _state(file: Path, expected: str) -> tuple[str, list]:
        st = file.stat()
        return str(file), [st.st_size, st.st_mtime_ns, expected]

    def found(self, file: Path, expected: str) -> str:
        """`expected` if `file` is known to hash to it in its present state, else its sha256
        (remembered when it matches)."""
        file = Path(file).resolve()
        key, state = self._state(file, expected)
        if self.known.get(key) == state:
            return expected
        digest = sha256(file)
        if digest == expected:
            self.known[key], self.changed = state, True
        return digest

    def matches(self, file: Path, expected: str) -> bool:
        """Whether `file` exists and hashes to `expected` (hashing it only if its state is new)."""
        return Path(file).is_file() and self.found(file, expected) == expected

    def check(self, file: Path, expected: str, fix: str):
        """Raise `ArtifactError` naming the file, both hashes and `fix` unless `file` hashes to `expected`."""
        found = self.found(file, expected)
        if found != expected:
            raise ArtifactError(f"{Path(file).resolve()} is corrupt or incomplete: its sha256 is {found}, the store's "
                                f"index says {expected}. {fix}")

    def remember(self, file: Path, expected: str):
        """Record that `file` (just checked by its writer) hashes to `expected`."""
        key, state = self._state(Path(file).resolve(), expected)
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
    `tf.io.gfile` scheme (`gs://`, `s3://`, `hdfs://`, `ram://`). `named`: how the user named
    it ("store=" for `store=` and `--store`, or `ZOO_STORE`), so it must answer: it is never
    skipped for the next one; "" for the stores looked in by default."""

    def __init__(self, location: str, named: str = ""):
        self.location, self.named = str(location).rstrip("/"), named
        scheme = urlparse(self.location).scheme
        if is_local(self.location):  # a path (or a Windows drive letter)
            self.kind, self.root = "local", local_path(self.location)
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
        """The store's index.json, checked (`check_index`); a local folder without one is
        indexed on the fly from its cards' checksums (the checkout before `zoo index`)."""
        if self._index is None:
            self._index = self._read_index()
        return self._index

    def _read_index(self) -> dict:
        if self.kind == "local":
            index = read_index_at(str(self.root))
            return _add_carded_versions(self.root, index)
        url = f"{self.location}/{INDEX}"
        try:
            if self.kind == "http":
                response = requests.get(url, timeout=HTTP_TIMEOUT)
                response.raise_for_status()
                text = response.content
            else:
                with gfile().GFile(url, "rb") as f:
                    text = f.read()
        except ArtifactError:
            raise
        except Exception as e:  # noqa: BLE001  any transport error: the store is unavailable
            raise ArtifactError(f"cannot read the index of store {self.location} ({type(e).__name__}: {e})") from e
        return parse_index(text, f"store {self.location}: {url}")

    def versions(self, name: str) -> list[int]:
        """The versions of `name` the store holds, ascending."""
        return sorted(int(v) for v in self.index().get("models", {}).get(name, {}).get("versions", {}))

    def files(self, name: str, version: int) -> dict:
        """{store-relative path: {"size", "sha256"}} of one version."""
        return self.index()["models"][name]["versions"][str(version)]["files"]

    def fetch(self, name: str, version: int, only=None, verifier: "Verifier | None" = None) -> Path:
        """A local folder in the store layout holding `name` version `version` (or the files of
        it listed in `only`): the store's own folder, or the cache after downloading what it
        lacks (a cached file counts only if it matches the index)."""
        files = self.files(name, version)
        if self.kind == "local":
            return self.root
        cache, verifier = cache_root(), verifier or Verifier()
        read_index_at(str(cache))  # the cache's own index is checked before anything is written
        targets = {rel: inside(cache, rel) for rel in files if only is None or rel in only}
        clean_partial_downloads(cache)
        for rel, dest in targets.items():
            if not verifier.matches(dest, files[rel]["sha256"]):
                self._download(rel, files[rel], dest, cache)
                verifier.remember(dest, files[rel]["sha256"])
        add_index_entry(str(cache), name, version, files)
        return cache

    def checked(self, name: str, version: int, only=None) -> Path:
        """`fetch`, then check every wanted file against the index (a verdict is kept per file
        state, so an unchanged file is hashed once); returns the local folder."""
        files, verifier = self.files(name, version), Verifier()
        wanted = list(files) if only is None else list(only)
        root = self.fetch(name, version, only=set(wanted), verifier=verifier)
        for rel in wanted:
            if rel not in files or not (root / rel).is_file():
                raise ArtifactError(f"missing file {root / rel} of {name} version {version}; "
                                    f"re-export with `zoo export {name}` or pull it again")
            verifier.check(root / rel, files[rel]["sha256"], self.fix_hint(rel))
        verifier.save()
        return root

    def fix_hint(self, rel: str) -> str:
        """How to repair a corrupt file of this store."""
        if self.kind == "local" and (ROOT / "artifacts") == self.root.resolve():
            return f"Restore it with `git checkout -- artifacts/{rel}` or re-export the model."
        if self.kind == "local":
            return f"Copy it again from the store it came from, or delete {self.root / rel} and `zoo pull` it."
        return "The store's copy is wrong: publish the version again with `zoo push NAME --to STORE`."

    def _download(self, rel: str, meta: dict, dest: Path, cache: Path):
        """Fetch one file into the cache. The bytes arrive in `.downloads/<sha256>.part`, which an
        interrupted download leaves behind (a dropped connection, a killed process) and the next
        attempt continues from (an HTTP Range request, a seek on a `tf.io.gfile` file); the part
        is renamed into place only after its sha256 matches the index. One process at a time
        downloads into a cache (its file lock); another waiting for it finds the file done."""
        partial_dir = cache / ".downloads"
        partial_dir.mkdir(parents=True, exist_ok=True)
        expected, size = meta["sha256"], int(meta.get("size", -1))
        part = partial_dir / f"{expected}.part"
        url = f"{self.location}/{rel}"
        with filelock.FileLock(partial_dir / "lock"):
            if dest.is_file() and (size < 0 or dest.stat().st_size == size) and sha256(dest) == expected:
                return
            for fresh in (False, True):  # a part that fails the hash is never trusted: start over once
                if fresh:
                    part.unlink(missing_ok=True)
                part.touch()
                self._receive(url, part, size)
                found = sha256(part)
                if found == expected:
                    break
            else:
                part.unlink(missing_ok=True)
                raise ArtifactError(f"{url} does not match the store's index: sha256 {found}, expected {expected}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, dest)

    def _receive(self, url: str, part: Path, size: int):
        """Append the rest of `url` to `part`, retrying a dropped transfer from where it stopped."""
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                if self.kind == "http":
                    return _http_append(url, part, size)
                return _gfile_append(url, part, size)
            except _transient_errors() as e:
                if attempt == DOWNLOAD_ATTEMPTS - 1:
                    raise ArtifactError(
                        f"could not download {url} ({type(e).__name__}: {e}); the {_bytes(part)} that arrived "
                        f"are kept in {part} and the next pull continues from them") from e
                time.sleep(min(2 ** attempt, 10))
            except ArtifactError:
                raise
            except Exception as e:  # noqa: BLE001  anything else the transport raises: not worth a retry
                raise ArtifactError(f"could not download {url} ({type(e).__name__}: {e})") from e


def _bytes(path: Path) -> str:
    return f"{path.stat().st_size:,} bytes" if path.is_file() else "0 bytes"


class _Progress:
    """A download's progress bar (tqdm's, in bytes, on stderr), updated with the bytes so far."""

    def __init__(self, size: int, done: int, what: str):
        self.bar = tqdm(total=size if size > 0 else None, initial=done, unit="B", unit_scale=True, desc=what,
                        leave=False, disable=None)  # disable=None: no bar where stderr is not a terminal
        self.done = done

    def update(self, have: int):
        self.bar.update(have - self.done)
        self.done = have

    def close(self):
        self.bar.close()


def _progress(size: int, done: int, url: str = "") -> _Progress:
    """The progress bar of one download of `size` bytes (-1: unknown) of which `done` arrived."""
    return _Progress(size, done, url.rsplit("/", 1)[-1])


def _resume_offset(part: Path, size: int) -> int | None:
    """Where to continue `part` of a file of `size` bytes (-1: unknown): its length, 0 for a
    part longer than the file (dropped), None when it is complete (the hash decides)."""
    have = part.stat().st_size if part.is_file() else 0
    if 0 <= size <= have:
        if have == size:
            return None
        part.unlink()
        return 0
    return have


def _http_append(url: str, part: Path, size: int):
    have = _resume_offset(part, size)
    if have is None:
        return
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, headers=headers, stream=True, timeout=HTTP_TIMEOUT) as response:
        if response.status_code == 416:  # nothing after `have`: the part is all there is
            return
        response.raise_for_status()
        resumed = response.status_code == 206 and response.headers.get("Content-Range", "").startswith(
            f"bytes {have}-")
        if not resumed:  # the server ignored the Range (plain static servers do): start over
            have = 0
        bar = _progress(size, have, url)
        with open(part, "ab" if resumed else "wb") as f:
            for chunk in response.iter_content(CHUNK):
                have = _append(f, chunk, have, size, url)
                bar.update(have)
        bar.close()


def _gfile_append(url: str, part: Path, size: int):
    have = _resume_offset(part, size)
    if have is None:
        return
    bar = _progress(size, have, url)
    with gfile().GFile(url, "rb") as source, open(part, "ab") as f:
        source.seek(have)
        while chunk := source.read(CHUNK):
            have = _append(f, chunk, have, size, url)
            bar.update(have)
    bar.close()


def _append(f, chunk: bytes, have: int, size: int, url: str) -> int:
    """Write `chunk` after `have` bytes; a source sending more than the index's `size` is cut
    off (a store cannot fill the disk)."""
    if 0 <= size < have + len(chunk):
        raise ArtifactError(f"{url} sent more than the {size:,} bytes the store's index lists; refused")
    f.write(chunk)
    return have + len(chunk)


def read_index_at(location: str) -> dict:
    """The checked index.json of a folder (a local store, the cache) or a `tf.io.gfile`
    location; an empty index when it has none."""
    url = f"{str(location).rstrip('/')}/{INDEX}"
    try:
        if is_local(location):
            path = local_path(location) / INDEX
            if not path.exists():
                return {"format": INDEX_FORMAT, "models": {}}
            text = path.read_bytes()
        else:
            fs = gfile()
            if not fs.exists(url):
                return {"format": INDEX_FORMAT, "models": {}}
            with fs.GFile(url, "rb") as f:
                text = f.read()
    except ArtifactError:
        raise
    except Exception as e:  # noqa: BLE001  OSError, or TensorFlow's OpError for a gfile scheme
        raise StoreIndexError(f"cannot read {url} ({type(e).__name__}: {e})") from e
    return parse_index(text, url)


def add_index_entry(location: str, name: str, version: int, files: dict) -> str:
    """Add one version's entry to the index.json of a store that can be written (a folder such
    as the cache, or a `tf.io.gfile` location), atomically; returns the index's address. The
    index there is checked first, and so is the new entry."""
    url = f"{str(location).rstrip('/')}/{INDEX}"
    index = read_index_at(location)
    index.setdefault("models", {}).setdefault(name, {"versions": {}})["versions"][str(version)] = {"files": files}
    check_index(index, url)
    _gfile_write_atomic(url, (json.dumps(index, indent=1) + "\n").encode())
    return url


def _add_carded_versions(root: Path, index: dict) -> dict:
    """`index` with the published versions of a local folder it lacks added from their cards'
    checksums (sizes from the files): a folder before `zoo index`, or an export killed after
    publishing its version but before updating the index. A card naming a file outside its
    version's layout is refused (`StoreIndexError`), as an index would be."""
    for card_path in sorted(Path(root).glob("*/card.v*.json")):
        name, number = card_path.parent.name, version_of_card(card_path.name)
        version = str(number)
        known = index.setdefault("models", {}).get(name, {}).get("versions", {})
        if number is None or not NAME_PATTERN.match(name) or version in known or not (card_path.parent / version).is_dir():
            continue
        try:
            card = read_json(card_path)
        except ValueError:
            continue  # a broken card is reported where the card is read
        folder, listed = card_path.parent, card.get("files") if isinstance(card, dict) else None
        files = {}
        for rel, digest in (listed.items() if isinstance(listed, dict) else ()):
            problem = layout_problem(name, int(version), f"{name}/{rel}")
            if problem or not isinstance(digest, str) or not SHA256_HEX.match(digest):
                raise StoreIndexError(f"{card_path}: files[{_said(rel)}] is {problem or 'not listed with a sha256'}; "
                                      "nothing was read or written from it")
            files[f"{name}/{rel}"] = {"size": (folder / rel).stat().st_size if (folder / rel).is_file() else -1,
                                      "sha256": digest}
        if files:
            index["models"].setdefault(name, {"versions": {}})["versions"][version] = {"files": files}
    return index


def clean_partial_downloads(cache: Path | None = None, max_age_days: float = PART_MAX_AGE_DAYS):
    """Remove partial downloads nobody resumed for `max_age_days` (a part is kept that long so
    an interrupted pull can continue; one being written, whose lock is held, is left alone)."""
    partial_dir = Path(cache or cache_root()) / ".downloads"
    cutoff = time.time() - max_age_days * 86400
    if not partial_dir.is_dir():
        return
    try:
        with filelock.FileLock(partial_dir / "lock", timeout=0):
            for part in partial_dir.glob("*.part"):
                if part.stat().st_mtime < cutoff:
                    part.unlink()
    except filelock.Timeout:  # a download is running: it is the one that may need them
        pass


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
    if is_local(url):
        local_path(url).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(local_path(url), data)
        return
    fs = gfile()
    tmp = f"{url}.tmp-{os.getpid()}"
    with fs.GFile(tmp, "wb") as f:
        f.write(data)
    fs.rename(tmp, url, overwrite=True)


def push(name: str, version: int, source, destination: str) -> list[str]:
    """Publish one version from a local store to another store (a folder, `file://`, or a
    `tf.io.gfile` scheme such as `gs://`): each file checked against the source index, written
    under a temporary name and renamed, then the destination's index.json updated (last, so
    readers never see a version whose files are not all there). The destination's index is
    checked before anything is copied, and a version it already publishes is refused: a
    published version never changes. Returns the paths written."""
    dest = Store(destination)
    if dest.kind == "http":
        raise ArtifactError(f"{destination} is read-only over http(s): push to the folder or bucket the web server "
                            "serves (e.g. gs://bucket/zoo or /srv/zoo)")
    published = read_index_at(dest.location)["models"].get(name, {}).get("versions", {})
    if str(version) in published:
        raise ArtifactError(f"{destination} already publishes {name} version {version}, and a published version is "
                            f"never replaced; export a new version (zoo export {name}) and push that")
    src = Store(str(source))
    files = src.files(name, version)
    root = src.checked(name, version)  # never publish a file that does not match its index
    if dest.kind == "local":
        for rel in files:
            inside(dest.root, rel)
    written = []
    for rel in files:
        url = f"{dest.location}/{rel}"
        if is_local(url):
            local_path(url).parent.mkdir(parents=True, exist_ok=True)
        else:
            gfile().makedirs(os.path.dirname(url))
        _gfile_write_atomic(url, (root / rel).read_bytes())
        written.append(url)
    newest = all(int(v) < version for v in published)  # card.json and the picture are the newest version's
    for extra in (CARD, card_name(version), PICTURE):  # what describe and people read
        if (root / name / extra).is_file() and (newest or extra == card_name(version)):
            _gfile_write_atomic(f"{dest.location}/{name}/{extra}", (root / name / extra).read_bytes())
    return written + [add_index_entry(dest.location, name, version, files)]


# --- resolution -----------------------------------------------------------------------------------
def candidate_stores(store: str | None = None) -> list[Store]:
    """Where to look, in order: an explicit `store`, `ZOO_STORE`, the local artifacts folder
    (`ZOO_ARTIFACTS_DIR`, else the checkout's `artifacts/` when running from a source tree),
    the cache. `ZOO_OFFLINE=1` drops the remote ones."""
    out = []
    for loc, how in ((store, "store="), (os.environ.get(STORE_ENV, "").strip() or None, STORE_ENV)):
        if loc:
            out.append(Store(loc, named=how))
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
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        fix = f"; write version={int(version)}" if isinstance(version, str) and version.strip().isdigit() else ""
        raise TypeError(f"version must be a whole number from 1 (or None for the newest), got {version!r}{fix}")
    tried, available = [], {}
    for s in candidate_stores(store):
        try:
            versions = s.versions(name)
        except ArtifactError as e:
            if s.named:  # a store the user named answers, or the user hears why not
                raise type(e)(f"{e} (named by {s.named}; with ZOO_OFFLINE=1 the cache alone is used)") from e
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

