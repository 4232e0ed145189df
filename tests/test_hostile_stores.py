"""Stores are hostile (issue 34): what an index, a path in it or a store's answer says is
checked before anything is fetched, read or written, and nothing is ever written outside the
folder meant for it. The stores are a local web server serving crafted indexes over real
files, TensorFlow's in-memory ram:// filesystem and local folders."""

import json
import random
import shutil
import time
from pathlib import Path

import pytest
import tensorflow as tf

import zoo
from zoo import cli, layout, store
from conftest import copy_version
from test_stores import SMALL, _Quiet, _serve, isolated, small_store  # noqa: F401  (isolated: a fixture)

NAME = "alphazero-tictactoe"
KERAS = f"{NAME}/{NAME}.v1.keras"


class _Crafted(_Quiet):
    """A static server whose index.json is whatever `server.index` holds (bytes)."""

    def do_GET(self):
        if self.path.rstrip("/").endswith("/index.json") and self.server.index is not None:
            body = self.server.index
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if body.lstrip().startswith(b"<") else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A web server over a real store folder (the small models' version 1), its index replaceable."""
    folder = small_store(tmp_path_factory.mktemp("served"))
    server, url = _serve(folder, _Crafted)
    server.index = None
    yield server, url, folder
    server.shutdown()


def real_index(folder: Path) -> dict:
    return json.loads((folder / "index.json").read_text())


def files_under(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


def _poison(index: dict, tmp: Path, case: str) -> dict:
    """The real index with one entry made hostile (`case` names how)."""
    index = json.loads(json.dumps(index))
    v1 = index["models"][NAME]["versions"]["1"]
    some = next(iter(v1["files"].values()))
    if case == "escaped":      # a relative path out of the cache, to tmp/evil-escaped.txt
        v1["files"]["../evil-escaped.txt"] = some
    elif case == "absolute":
        v1["files"][str(tmp / "evil-absolute.txt")] = some
    elif case == "other-model":  # one model's entry overwriting another model's cached file
        v1["files"]["snake-dqn/snake-dqn.v1.keras"] = some
    elif case == "other-version":
        v1["files"][f"{NAME}/2/saved_model.pb"] = some
    elif case == "not-the-layout":
        v1["files"][f"{NAME}/notes.txt"] = some
    elif case == "hidden-part":
        v1["files"][f"{NAME}/1/.downloads/x"] = some
    elif case == "backslash":
        v1["files"][f"{NAME}/1/..\\..\\evil.txt"] = some
    elif case in ("01", "0", "-3", "1.0", " 1"):
        index["models"][NAME]["versions"][case] = index["models"][NAME]["versions"].pop("1")
    elif case == "empty-version":
        v1["files"] = {}
    elif case == "no-files":
        v1.pop("files")
    elif case == "no-size":
        next(iter(v1["files"].values())).pop("size")
    elif case == "no-sha256":
        next(iter(v1["files"].values())).pop("sha256")
    elif case == "short-sha256":
        next(iter(v1["files"].values()))["sha256"] = "abc"
    elif case == "negative-size":
        next(iter(v1["files"].values()))["size"] = -5
    elif case == "bad-model-name":
        index["models"]["../x"] = index["models"][NAME]
    elif case == "format-2":
        index["format"] = 2
    elif case == "list":
        return []
    elif case == "models-list":
        index["models"] = []
    else:
        raise AssertionError(case)
    return index


POISON = [  # (case, phrase of the one-line error)
    ("escaped", "outside the store's folder"), ("absolute", "an absolute path"),
    ("other-model", "outside the store's alphazero-tictactoe/ folder"), ("other-version", "not a file of the store layout"),
    ("not-the-layout", "not a file of the store layout"), ("hidden-part", "not a file of the store layout"),
    ("backslash", "outside the store's folder"),
    ("01", "is not a version"), ("0", "is not a version"), ("-3", "is not a version"), ("1.0", "is not a version"),
    (" 1", "is not a version"), ("empty-version", ".files is missing or empty"), ("no-files", ".files is missing"),
    ("no-size", ".size is None, not a whole number of bytes"), ("no-sha256", ".sha256 is None"),
    ("short-sha256", "not 64 lowercase hex digits"), ("negative-size", ".size is -5"),
    ("bad-model-name", "is not a model name"), ("format-2", "this zoo reads format 1"),
    ("list", "the index is a list"), ("models-list", "models is a list"),
]


@pytest.mark.parametrize("case,phrase", POISON, ids=[c[0] for c in POISON])
def test_a_hostile_index_is_refused_before_anything_is_written(served, isolated, capsys, case, phrase):
    server, url, folder = served
    server.index = json.dumps(_poison(real_index(folder), isolated, case)).encode()
    try:
        status = cli.main(["pull", f"{NAME}@1", "--store", url])
    finally:
        server.index = None
    err = capsys.readouterr().err
    assert status == 2 and phrase in err and url in err, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not (isolated / "home").exists(), files_under(isolated / "home")  # nothing, not even the cache
    assert sorted(p.name for p in isolated.iterdir()) == []  # nothing escaped into tmp either


def test_load_verify_and_push_refuse_the_same_index(served, isolated, capsys):
    server, url, folder = served
    server.index = json.dumps(_poison(real_index(folder), isolated, "escaped")).encode()
    try:
        with pytest.raises(store.StoreIndexError, match="outside the store's folder"):
            zoo.load(NAME, store=url)
        assert cli.main(["verify", "--store", url]) == 2
    finally:
        server.index = None
    assert "outside the store's folder" in capsys.readouterr().err
    local = small_store(isolated / "local")  # a local source whose index is poisoned: push refuses it
    (local / "index.json").write_text(json.dumps(_poison(real_index(local), isolated, "escaped")))
    assert cli.main(["push", f"{NAME}@1", "--source", str(local), "--to", str(isolated / "dest")]) == 2
    assert "outside the store's folder" in capsys.readouterr().err
    assert not (isolated / "dest").exists() and not (isolated / "evil-escaped.txt").exists()


def test_a_card_naming_a_file_outside_its_folder_is_refused(isolated):
    local = isolated / "local"
    copy_version(local, NAME, 1)  # no index.json: the folder is indexed from its cards
    card = json.loads((local / NAME / "card.v1.json").read_text())
    card["files"]["../../evil.txt"] = "0" * 64
    (local / NAME / "card.v1.json").write_text(json.dumps(card))
    with pytest.raises(store.StoreIndexError, match=r"card.v1.json: files\['../../evil.txt'\] is outside"):
        store.Store(str(local)).versions(NAME)


def test_the_caches_own_index_is_checked_before_a_download(served, isolated):
    _, url, folder = served
    home = isolated / "home"
    home.mkdir()
    (home / "index.json").write_text(json.dumps(_poison(real_index(folder), isolated, "other-model")))
    with pytest.raises(store.StoreIndexError, match=rf"{home / 'index.json'}: .*outside the store's"):
        zoo.hub.pull(NAME, store=url)
    assert sorted(p.name for p in home.iterdir()) == ["index.json"]


def test_a_store_sending_more_than_the_index_says_is_cut_off(served, isolated):
    server, url, folder = served
    index = real_index(folder)
    index["models"][NAME]["versions"]["1"]["files"][KERAS]["size"] = 1000
    server.index = json.dumps(index).encode()
    try:
        with pytest.raises(store.ArtifactError, match="sent more than the 1,000 bytes"):
            zoo.hub.pull(NAME, store=url)
    finally:
        server.index = None
    parts = list((isolated / "home" / ".downloads").glob("*.part"))
    assert all(p.stat().st_size <= 1000 for p in parts) and not (isolated / "home" / KERAS).exists()


# --- a store the user named answers, or is an error ---------------------------------------------------
@pytest.fixture
def with_local_copy(isolated, monkeypatch):
    """The model is in the local artifacts folder too: a named store that fails must not fall back to it."""
    local = small_store(isolated / "artifacts")
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(local))
    return local


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_named_store_that_does_not_answer_is_an_error(with_local_copy, served, capsys, monkeypatch, how):
    server, url, _ = served
    unreachable = "http://127.0.0.1:9/zoo"
    argv = ["pull", NAME] + (["--store", unreachable] if how == "flag" else [])
    if how == "env":
        monkeypatch.setenv("ZOO_STORE", unreachable)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot read the index of store http://127.0.0.1:9/zoo" in err and "checked" not in err, err
    assert ("store=" if how == "flag" else "ZOO_STORE") in err and "ZOO_OFFLINE=1" in err
    server.index = b"<!DOCTYPE html><html><body>Welcome to nginx</body></html>"
    try:
        with pytest.raises(store.StoreIndexError, match="is not JSON .an HTML page"):
            zoo.load(NAME, store=url)
    finally:
        server.index = None
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # offline, the remote store is skipped on purpose: the local copy serves
    monkeypatch.delenv("ZOO_STORE", raising=False)
    assert zoo.hub.pull(NAME, store=unreachable) == with_local_copy


# --- push: a destination is checked first, and a published version never changes ------------------------
def test_push_never_replaces_a_published_version(isolated, capsys):
    local = small_store(isolated / "local")
    dest = isolated / "dest"
    assert cli.main(["push", f"{NAME}@1", "--source", str(local), "--to", str(dest)]) == 0
    before = files_under(dest)
    other = small_store(isolated / "other")  # a different "version 1": its saved_model.pb differs
    pb = other / NAME / "1" / "saved_model.pb"
    pb.write_bytes(pb.read_bytes() + b"\0")
    store.write_index(other)
    assert cli.main(["push", f"{NAME}@1", "--source", str(other), "--to", str(dest)]) == 2
    assert "already publishes alphazero-tictactoe version 1" in capsys.readouterr().err
    assert files_under(dest) == before


def test_pushing_an_older_version_keeps_the_newest_card(isolated):
    local = small_store(isolated / "local")
    dest = isolated / "dest"
    store.push(NAME, 1, str(local), str(dest))
    card = json.loads((dest / NAME / "card.json").read_text())
    card["version"] = 9  # as if the destination published a newer version since
    (dest / NAME / "card.json").write_text(json.dumps(card))
    index = json.loads((dest / "index.json").read_text())
    index["models"][NAME]["versions"]["9"] = {"files": {
        f"{NAME}/9/saved_model.pb": index["models"][NAME]["versions"]["1"]["files"][f"{NAME}/1/saved_model.pb"]}}
    (dest / "index.json").write_text(json.dumps(index))
    shutil.rmtree(dest / NAME / "1")
    index["models"][NAME]["versions"].pop("1")
    (dest / "index.json").write_text(json.dumps(index))
    store.push(NAME, 1, str(local), str(dest))
    assert json.loads((dest / NAME / "card.json").read_text())["version"] == 9
    assert (dest / NAME / "card.v1.json").is_file()


@pytest.mark.parametrize("body,phrase", [(b"[]", "the index is a list"), (b"{not json", "is not JSON"),
                                         (b'{"models": {"snake-dqn": {"versions": {"1": {}}}}}', ".files is missing")])
def test_push_to_a_destination_with_a_broken_index_copies_nothing(isolated, capsys, body, phrase):
    local = small_store(isolated / "local")
    dest = isolated / "dest"
    dest.mkdir()
    (dest / "index.json").write_bytes(body)
    assert cli.main(["push", f"{NAME}@1", "--source", str(local), "--to", str(dest)]) == 2
    err = capsys.readouterr().err
    assert phrase in err and str(dest / "index.json") in err and err.count("\n") == 1, err
    assert sorted(p.name for p in dest.iterdir()) == ["index.json"]


def test_index_refuses_to_write_an_index_it_would_refuse_to_read(isolated):
    local = small_store(isolated / "local")
    (local / NAME / "1" / "notes with space.txt").write_text("x")
    before = (local / "index.json").read_bytes()
    with pytest.raises(store.StoreIndexError, match="not a file of the store layout"):
        store.write_index(local)
    assert (local / "index.json").read_bytes() == before


# --- a fuzzed index: random shapes and values --------------------------------------------------------
NASTY = ["../x", "/tmp/x", "..", ".", "", "a/../../x", "alphazero-tictactoe/1/../../../x", "snake-dqn/1/saved_model.pb",
         "alphazero-tictactoe/1/a\nb", "alphazero-tictactoe/1//x", "C:\\x", "alphazero-tictactoe/01/x",
         "alphazero-tictactoe/1/" + "a/" * 20 + "x", "alphazero-tictactoe/1/\u00e9", "~/.bashrc"]


def _random_json(rng: random.Random, depth: int = 0):
    pick = rng.randrange(8 if depth < 3 else 5)
    if pick == 5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if pick == 6:
        keys = NASTY + ["files", "size", "sha256", "versions", "models", "1"]
        return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return [None, True, rng.randint(-10, 10 ** 12), rng.choice(NASTY), rng.random(), None, None, "0" * 64][pick]


def _mutate(index: dict, rng: random.Random, outside: Path):
    """Replace, add or drop one node anywhere in the index with something random or hostile."""
    nodes = [(None, None, index)]
    stack = [index]
    while stack:
        node = stack.pop()
        for k, v in (node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()):
            nodes.append((node, k, v))
            stack.append(v)
    parent, key, value = rng.choice(nodes)
    action = rng.randrange(4)
    if parent is None:
        return _random_json(rng) if action == 0 else index
    if action == 0:
        parent[key] = _random_json(rng)
    elif action == 1 and isinstance(parent, dict):
        parent.pop(key)
    elif action == 2 and isinstance(value, dict):  # a hostile name beside real ones
        target = rng.choice(NASTY + [str(outside / "abs.txt"), "../" * rng.randint(1, 4) + "outside/x.txt"])
        value[target] = rng.choice(list(value.values())) if value else {"size": 1, "sha256": "0" * 64}
    elif isinstance(parent, dict):
        parent[rng.choice(NASTY)] = parent.pop(key)
    return index


def test_a_fuzzed_index_never_writes_outside_the_cache_and_fails_in_one_line(isolated):
    local = small_store(isolated / "local")
    for p in local.rglob("*"):  # the real files, once, on TensorFlow's in-memory filesystem
        if p.is_file() and p.name != "index.json":
            dest = f"ram://fuzz/{p.relative_to(local).as_posix()}"
            tf.io.gfile.makedirs(dest.rsplit("/", 1)[0])
            tf.io.gfile.copy(str(p), dest, overwrite=True)
    home, outside = isolated / "home", isolated / "outside"
    real, seen, t0 = real_index(local), {"ok": 0, "refused": 0}, time.time()
    for seed in range(300):
        if time.time() - t0 > 90:
            break
        rng = random.Random(seed)
        index = json.loads(json.dumps(real))
        for _ in range(rng.randint(1, 4)):
            index = _mutate(index, rng, outside)
        if tf.io.gfile.exists("ram://fuzz/index.json"):  # ram:// does not truncate a file it opens for writing
            tf.io.gfile.remove("ram://fuzz/index.json")
        with tf.io.gfile.GFile("ram://fuzz/index.json", "w") as f:
            f.write(json.dumps(index))
        for name in SMALL:
            try:
                zoo.hub.pull(name, store="ram://fuzz")
                seen["ok"] += 1
            except store.ArtifactError as e:
                assert "\n" not in str(e) and len(str(e)) < 1000, (seed, str(e))
                seen["refused"] += 1
        assert not outside.exists(), seed
        assert sorted(p.name for p in isolated.iterdir()) in (["home", "local"], ["local"]), seed
        for p in home.rglob("*"):  # the cache holds its own files and files of the layout only
            rel = p.relative_to(home).as_posix()
            assert p.is_dir() or rel in ("index.json", "verified.json") or rel.startswith(".downloads/") or any(
                layout.layout_problem(rel.split("/")[0], v, rel) is None for v in (1,)), (seed, rel)
        shutil.rmtree(home, ignore_errors=True)
    assert seen["refused"] > 50 and seen["ok"] > 5, seen  # both outcomes were exercised
