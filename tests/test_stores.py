"""Stores outside the checkout: a tf.io.gfile filesystem (TensorFlow's in-memory ram://), a
local web server, the cache, offline use, integrity, interrupted downloads."""

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import cli
from conftest import ROOT, copy_version
from zoo import store

SMALL = ["alphazero-tictactoe", "snake-dqn"]  # the smallest artifacts: quick to copy and serve


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No checkout artifacts, an empty cache, no ZOO_STORE: only the stores a test names."""
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(tmp_path / "no-artifacts"))
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ZOO_STORE", raising=False)
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    return tmp_path


def small_store(folder: Path) -> Path:
    """A local store with version 1 of the small models only, and its index."""
    for name in SMALL:
        copy_version(folder, name, 1)
    store.write_index(folder)
    return folder


def _same_outputs(a, b):
    game = a.game()
    boards = np.stack([game.encode(game.initial())] * 2)
    for x, y in zip(a.predict_board(boards), b.predict_board(boards)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_nothing_anywhere_names_what_was_tried(isolated):
    with pytest.raises(zoo.hub.ArtifactError, match=r"no store has 'alphazero-tictactoe'; tried: .*no-artifacts.*home.*Set ZOO_STORE"):
        zoo.load("alphazero-tictactoe")


def test_ram_store_then_cache_then_offline(isolated, monkeypatch):
    local = small_store(isolated / "local")
    for p in local.rglob("*"):  # publish the folder to TensorFlow's in-memory filesystem
        if p.is_file():
            tf.io.gfile.makedirs(os.path.dirname(f"ram://zoo/{p.relative_to(local).as_posix()}"))
            tf.io.gfile.copy(str(p), f"ram://zoo/{p.relative_to(local).as_posix()}", overwrite=True)
    net = zoo.load("alphazero-tictactoe", store="ram://zoo")
    _same_outputs(net, zoo.load("alphazero-tictactoe", store=str(local)))
    cached = isolated / "home" / "alphazero-tictactoe" / "alphazero-tictactoe.v1.keras"
    assert cached.is_file() and not list((isolated / "home" / ".downloads").glob("*.part"))
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # the cache alone now: no store named, none reachable
    _same_outputs(net, zoo.load("alphazero-tictactoe"))
    with pytest.raises(zoo.hub.ArtifactError, match="offline"):
        zoo.load("snake-dqn")  # never pulled


def test_a_store_file_that_does_not_match_its_index_never_reaches_the_cache(isolated):
    local = small_store(isolated / "local")
    tf.io.gfile.makedirs("ram://bad/alphazero-tictactoe")
    for p in local.rglob("*"):
        if p.is_file():
            dest = f"ram://bad/{p.relative_to(local).as_posix()}"
            tf.io.gfile.makedirs(os.path.dirname(dest))
            data = p.read_bytes()
            if p.name.endswith(".keras"):
                data = data[:-10] + b"x" * 10  # the store's copy is wrong
            with tf.io.gfile.GFile(dest, "wb") as f:
                f.write(data)
    with pytest.raises(zoo.hub.ArtifactError, match="does not match the store's index"):
        zoo.load("alphazero-tictactoe", store="ram://bad")
    assert not (isolated / "home" / "alphazero-tictactoe" / "alphazero-tictactoe.v1.keras").exists()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Python's static server (it ignores Range requests), silent, recording each request's
    path and Range header in `server.seen`."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Range")))
        super().do_GET()


class _Ranged(_Quiet):
    """A static server that honours `Range: bytes=N-`, as nginx, S3 and GCS do."""

    def do_GET(self):
        path, asked = Path(self.translate_path(self.path)), self.headers.get("Range")
        if not asked or not path.is_file():
            return super().do_GET()
        self.server.seen.append((self.path, asked))
        data, start = path.read_bytes(), int(asked.removeprefix("bytes=").rstrip("-"))
        if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


def _serve(folder: Path, handler=_Quiet):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(folder)))
    server.seen, server.slow = [], True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.slow
def test_http_store_pull_verify_and_load(isolated, monkeypatch):
    local = small_store(isolated / "served")
    server, url = _serve(local)
    try:
        monkeypatch.setenv("ZOO_STORE", url)
        folder = zoo.hub.pull("snake-dqn")
        assert (folder / "snake-dqn" / "1" / "saved_model.pb").is_file()
        assert store.verify_store(url) == {"alphazero-tictactoe@1": [], "snake-dqn@1": []}
        agent = zoo.load("snake-dqn")
        obs = np.stack([zoo.envs.SnakeEnv().reset(seed=i)[0] for i in range(3)])
        np.testing.assert_array_equal(agent.act(obs), zoo.load("snake-dqn", store=str(local)).act(obs))
    finally:
        server.shutdown()
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # the server is gone: the cache serves
    assert zoo.load("snake-dqn", format="saved_model").signatures["act"] is not None


class _Slow(_Ranged):
    """While `server.slow`: serves whole .keras files slowly (the first 64 KiB, then a trickle)."""

    def copyfile(self, source, outputfile):
        if not (self.path.endswith(".keras") and self.server.slow):
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(1 << 16))
        outputfile.flush()
        while chunk := source.read(1024):
            time.sleep(0.05)
            outputfile.write(chunk)


class _Dropping(_Ranged):
    """Drops the connection after 64 KiB of the first whole-file request for a .keras file."""

    def copyfile(self, source, outputfile):
        if not (self.path.endswith(".keras") and self.server.slow):
            return super().copyfile(source, outputfile)
        self.server.slow = False
        outputfile.write(source.read(1 << 16))
        outputfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


PULL = "import sys, zoo; zoo.hub.pull('alphazero-tictactoe', store=sys.argv[1])"


KERAS = "alphazero-tictactoe/alphazero-tictactoe.v1.keras"


def _resumed_from(server) -> list[int]:
    """The offsets the .keras file was asked from with a Range header."""
    return [int(r.removeprefix("bytes=").rstrip("-")) for p, r in server.seen if p.endswith(".keras") and r]


@pytest.mark.slow
def test_a_killed_download_is_resumed_and_never_reaches_the_cache_partial(isolated):
    server, url = _serve(small_store(isolated / "served"), _Slow)
    env = {**os.environ, "ZOO_HOME": str(isolated / "home")}
    downloads = isolated / "home" / ".downloads"
    try:
        p = subprocess.Popen([sys.executable, "-c", PULL, url], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and not any(f.stat().st_size > 1 << 16 for f in downloads.glob("*.part")):
            time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
        p.wait()
        parts = list(downloads.glob("*.part"))
        assert parts, "the download never started"
        arrived = parts[0].stat().st_size
        model_dir = isolated / "home" / "alphazero-tictactoe"
        assert not (model_dir / "alphazero-tictactoe.v1.keras").exists(), "a partial file reached the cache"
        # the next pull continues from the bytes that arrived, not from zero
        server.slow = False
        subprocess.run([sys.executable, "-c", PULL, url], env=env, cwd=ROOT, check=True, capture_output=True, timeout=600)
    finally:
        server.shutdown()
    assert _resumed_from(server) == [arrived]
    assert not list(downloads.glob("*.part"))
    assert store.sha256(model_dir / "alphazero-tictactoe.v1.keras") == store.sha256(ROOT / "artifacts" / KERAS)


def test_a_dropped_connection_is_resumed_within_the_pull(isolated):
    server, url = _serve(small_store(isolated / "served"), _Dropping)
    try:
        folder = zoo.hub.pull("alphazero-tictactoe", store=url)
    finally:
        server.shutdown()
    assert _resumed_from(server) == [1 << 16]
    assert store.sha256(folder / KERAS) == store.sha256(ROOT / "artifacts" / KERAS)


def _planted_part(isolated, data: bytes) -> Path:
    """A partial download of the .keras file as an earlier, interrupted pull would leave it."""
    digest = store.sha256(ROOT / "artifacts" / KERAS)
    part = isolated / "home" / ".downloads" / f"{digest}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data)
    return part


@pytest.mark.parametrize("handler", [_Quiet, _Ranged], ids=["server-ignores-range", "server-honours-range"])
def test_a_partial_download_that_is_wrong_is_never_trusted(isolated, handler):
    real = (ROOT / "artifacts" / KERAS).read_bytes()
    part = _planted_part(isolated, b"x" * (len(real) // 2))  # right length so far, wrong bytes
    server, url = _serve(small_store(isolated / "served"), handler)
    try:
        folder = zoo.hub.pull("alphazero-tictactoe", store=url)
    finally:
        server.shutdown()
    assert (folder / KERAS).read_bytes() == real and not part.exists()


def test_a_gfile_download_resumes_from_a_partial_file(isolated):
    real = (ROOT / "artifacts" / KERAS).read_bytes()
    part = _planted_part(isolated, real[:100_000])
    local = small_store(isolated / "served")
    for p in local.rglob("*"):
        if p.is_file():
            dest = f"ram://resume/{p.relative_to(local)}"
            tf.io.gfile.makedirs(os.path.dirname(dest))
            tf.io.gfile.copy(str(p), dest, overwrite=True)
    part.touch()
    folder = zoo.hub.pull("alphazero-tictactoe", store="ram://resume")
    assert (folder / KERAS).read_bytes() == real and not part.exists()


def test_stale_partial_downloads_are_removed(isolated):
    part = _planted_part(isolated, b"old")
    store.clean_partial_downloads(isolated / "home", max_age_days=7)
    assert part.exists()  # kept: a later pull may continue it
    os.utime(part, (time.time() - 8 * 86400,) * 2)
    store.clean_partial_downloads(isolated / "home", max_age_days=7)
    assert not part.exists()


def test_the_checkout_index_matches_every_card():
    index = json.loads((ROOT / "artifacts" / "index.json").read_text())
    for card_path in (ROOT / "artifacts").glob("*/card.json"):
        card, name = json.loads(card_path.read_text()), card_path.parent.name
        files = index["models"][name]["versions"][str(card["version"])]["files"]
        assert {f"{name}/{k}": v for k, v in card["files"].items()} == {k: v["sha256"] for k, v in files.items()}


def test_list_by_metadata(capsys):
    assert zoo.list_models(task="generation") == ["dcgan-mnist", "vae-mnist", "vaegan-mnist"]
    assert zoo.list_models(dataset="self-play") == ["alphazero-connect4", "alphazero-tictactoe"]
    assert cli.main(["list", "--task", "game-playing"]) == 0
    out = capsys.readouterr().out
    assert "alphazero-connect4" in out and "vae-mnist" not in out and "v1" in out


def test_verify_command_finds_a_flipped_byte(tmp_path, capsys):
    local = small_store(tmp_path / "s")
    assert cli.main(["verify", "--store", str(local)]) == 0
    p = local / "snake-dqn" / "1" / "saved_model.pb"
    data = bytearray(p.read_bytes())
    data[100] ^= 0xFF
    p.write_bytes(bytes(data))
    assert cli.main(["verify", "--store", str(local)]) == 2
    out = capsys.readouterr().out
    assert "snake-dqn@1: CORRUPT" in out and "snake-dqn/1/saved_model.pb: sha256" in out and "alphazero-tictactoe@1: ok" in out


def test_push_publishes_files_then_index_and_refuses_http(isolated, capsys):
    local = small_store(isolated / "local")
    assert cli.main(["push", "snake-dqn@1", "--to", "ram://pushed", "--source", str(local)]) == 0
    assert "pushed snake-dqn version 1" in capsys.readouterr().out
    index = json.loads(tf.io.gfile.GFile("ram://pushed/index.json").read())
    assert list(index["models"]) == ["snake-dqn"] and tf.io.gfile.exists("ram://pushed/snake-dqn/card.json")
    assert store.verify_store("ram://pushed") == {"snake-dqn@1": []}
    assert type(zoo.load("snake-dqn", store="ram://pushed")).__name__ == "SnakeQNetwork"
    assert cli.main(["push", "snake-dqn", "--to", "http://127.0.0.1:9/zoo", "--source", str(local)]) == 2
    assert "read-only over http" in capsys.readouterr().err
    assert cli.main(["push", "snake-dqn@7", "--to", "ram://pushed", "--source", str(local)]) == 2
