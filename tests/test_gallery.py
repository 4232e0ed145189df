"""The gallery in a real browser (issue 37): `zoo gallery` writes a static site, `python -m
http.server` alone serves it, headless Chromium (Debian's, driven by Playwright) loads every page
with no console error and no failed request, every live interaction runs and draws, and what the
page computes equals what Python computes (decoded pixels within 1e-4, the same moves).
Screenshots of every page go to ZOO_GALLERY_SHOTS when it names a folder (docs/images/gallery)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import data, gallery

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MISSING = [what for what, there in (("Debian's chromium (make browser)", Path(CHROMIUM).is_file()),
                                    ("gallery/node_modules (make install)", (gallery.ORT / gallery.ORT_FILES[0]).is_file()))
           if not there]
if MISSING and os.environ.get("CI"):
    raise RuntimeError(f"CI runs the gallery's browser tests: {', '.join(MISSING)} missing")
if MISSING:
    pytest.skip(f"needs {', '.join(MISSING)}", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                               str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The gallery written into a folder and served by `python -m http.server` and nothing else."""
    out = tmp_path_factory.mktemp("site")
    gallery.build(out)
    server, url = _serve(out)
    yield out, url
    server.terminate()
    server.wait(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """One page in the browser, with what went wrong on it recorded."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport={"width": 1100, "height": 1400})
        self.problems = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.page.goto(url)
        self.page.wait_for_function("!window.zoo || window.zoo.ready || window.zoo.errors.length", timeout=120000)

    def js(self, expression, *args):
        return self.page.evaluate(expression, *args)

    def drawn(self, selector) -> float:
        """The mean brightness of the canvases matching `selector` (0: nothing drawn)."""
        return self.js("""(sel) => { let t = 0, n = 0;
            for (const c of document.querySelectorAll(sel)) { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              for (let i = 0; i < d.length; i += 4) { t += d[i]; n++; } } return n ? t / n : 0; }""", selector)

    def shot(self, name):
        folder = os.environ.get("ZOO_GALLERY_SHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=name != "index")

    def close(self):
        problems, _ = self.problems, self.page.close()
        assert not problems, "\n".join(problems)


def test_every_page_loads_with_no_error_and_the_index_lists_every_model(site, browser):
    out, url = site
    page = Page(browser, f"{url}/index.html")
    tiles = page.js("Array.from(document.querySelectorAll('.tile h2')).map(h => h.textContent)")
    assert [t.replace("live", "").strip() for t in tiles] == [n for n in zoo.list_models() if zoo.get_entry(n).versions()]
    assert page.js("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"), "every picture loads"
    page.shot("index")
    page.close()
    for name in zoo.list_models():
        page = Page(browser, f"{url}/{name}/index.html")
        assert page.js("window.zoo ? window.zoo.errors : []") == [], name
        assert page.js("document.querySelector('h1').textContent") == name
        page.shot(name)
        page.close()


def test_a_classifier_reads_a_drawn_digit_and_agrees_with_python(site, browser, test_images):
    _, url = site
    page = Page(browser, f"{url}/cnn-mnist/index.html")
    box = page.page.locator("#pad").bounding_box()
    page.page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + 140, box["y"] + 240, steps=12)
    page.page.mouse.up()
    page.page.wait_for_function("document.querySelectorAll('#bars .bar').length === 10")
    assert page.js("document.getElementById('answer').textContent") in "0123456789"
    x = test_images[0][:3]
    got = np.array([page.js("(x) => window.zoo.classify(x)", img.ravel().tolist()) for img in x])
    np.testing.assert_allclose(got, np.asarray(zoo.load("cnn-mnist").predict_proba(x)), atol=1e-4)
    page.close()


def test_an_autoencoders_latent_space_is_live_and_decodes_as_python_does(site, browser):
    _, url = site
    page = Page(browser, f"{url}/ae-mnist/index.html")
    before = page.drawn("#decoded")
    box = page.page.locator("#map").bounding_box()
    page.page.mouse.move(box["x"] + 60, box["y"] + 60)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + 300, box["y"] + 280, steps=6)
    page.page.mouse.up()
    page.page.wait_for_timeout(300)
    assert page.drawn("#decoded") > 0 and page.drawn("#decoded") != before, "dragging on the map decodes"
    for select, strip in (("#from", "#walk canvas"), ("#a", "#sum canvas")):
        page.page.select_option(select, "5")
        page.page.wait_for_timeout(300)
        assert page.drawn(strip) > 5, strip
    page.page.fill("#seed", "7")
    page.page.dispatch_event("#seed", "change")
    page.page.wait_for_timeout(300)
    assert page.drawn("#prior canvas") > 5
    code = np.random.default_rng(0).standard_normal((1, 32)).astype("float32")
    got = np.array(page.js("(z) => window.zoo.decode(z)", code.ravel().tolist()))
    np.testing.assert_allclose(got, np.asarray(zoo.load("ae-mnist").decode(code)).ravel(), atol=1e-4)
    page.close()


def test_a_board_game_is_played_against_the_policy_head_with_pythons_moves(site, browser):
    _, url = site
    page = Page(browser, f"{url}/alphazero-tictactoe/index.html")
    page.page.locator("#board .cell").nth(0).click()
    page.page.wait_for_function("document.querySelectorAll('#board .cell:not(:empty)').length === 2")
    assert page.js("window.zoo.playBoth()") == _policy_head_game("alphazero-tictactoe")
    page.close()


def test_pages_escape_what_a_card_says(tmp_path):
    """A card is outside input: its words are escaped, never markup."""
    from zoo.artifacts import Card

    card = Card({"version": 1, "metrics": {"<script>": "<b>x</b>"}, "evaluation": {"test_set": "<img src=x onerror=1>"},
                 "licence": {"weights": "<i>"}, "files": {"1/a": "<svg>"}})
    page = gallery.model_page("cnn-mnist", card, {}, {})
    assert "<script>" not in page.split("</header>")[1] and "<img src=x" not in page and "&lt;svg&gt;" in page


def test_the_classes_and_digits_a_page_shows_are_the_datasets():
    got = zoo.models.family_of(zoo.load("cnn-fashion-mnist")).gallery_data("fashion-mnist")
    assert got["classes"][9] == "ankle boot" and len(got["test_images"][0]) == 784
    x, y = data.load_arrays("fashion-mnist", "test")
    assert got["test_labels"][:5] == y[:5].tolist() and got["test_images"][1] == x[1].ravel().tolist()


def test_the_snake_agent_plays_live_beside_an_untrained_one_with_pythons_moves(site, browser):
    """The page's Snake (a port of zoo.envs.SnakeEnv) and the network's greedy moves are Python's:
    the page's game from a seed, replayed in Python with the same start and apples, makes the
    same moves (the 16 features are computed in the page)."""
    from collections import deque

    from zoo.envs.snake import DIRS, SnakeEnv

    _, url = site
    page = Page(browser, f"{url}/snake-dqn/index.html")
    page.page.wait_for_function("document.getElementById('trained-score').textContent.includes('moves')")
    page.page.wait_for_timeout(500)
    assert page.drawn("#trained") > 0 and page.drawn("#untrained") > 0
    log = page.js("window.zoo.snakeGame(3, 400)")
    apples = [tuple(a) for a in log["apples"]]
    env = SnakeEnv(size=20)
    env.reset(seed=0)
    env.heading = log["heading"]
    env.body = deque((10 - k * DIRS[env.heading][0], 10 - k * DIRS[env.heading][1]) for k in range(3))
    env.apple, queue = apples[0], iter(apples[1:])
    env._place_apple = lambda: next(queue, None)
    agent, moves, obs = zoo.load("snake-dqn"), [], env._obs()
    for _ in log["moves"]:
        action = int(np.asarray(agent.act(obs[None]))[0])
        moves.append(action)
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    assert moves == log["moves"] and info["score"] == log["score"] and log["score"] >= 5
    page.close()


def _policy_head_game(name: str) -> list[int]:
    """Moves of the network's policy head playing itself from the empty board, in Python."""
    net = zoo.load(name)
    game = net.game()
    state, moves = game.initial(), []
    while game.winner(state) is None:
        policy = np.asarray(net.predict_board(game.encode(state)[None])[0])[0]
        moves.append(int(np.argmax(np.where(game.legal(state), policy, -1.0))))
        state = game.play(state, moves[-1])
    return moves


def test_pages_of_versions_to_come_draw_the_class_asked_for_and_play_connect_four(browser, tmp_path, monkeypatch):
    """cgan-mnist's and alphazero-connect4's published versions predate their ONNX forms:
    republished into a store of their own (as their next versions will be), the cGAN's page draws
    the digit picked with Python's pixels for the same noise and labels, and Connect Four's page
    (discs that fall) plays the policy head's moves."""
    from conftest import copy_version
    from zoo import artifacts, store

    root, names = tmp_path / "artifacts", {"cgan-mnist": 5, "alphazero-connect4": 5}
    for name, version in names.items():
        copy_version(root, name, version)
    store.write_index(root)
    monkeypatch.setenv("ZOO_ARTIFACTS_DIR", str(root))
    monkeypatch.delenv("ZOO_STORE", raising=False)
    for name, version in names.items():
        artifacts.republish(name, version, note="its ONNX forms", verbose=False)
    gallery.build(tmp_path / "site", names=list(names))
    server, url = _serve(tmp_path / "site")
    try:
        page = Page(browser, f"{url}/cgan-mnist/index.html")
        page.page.select_option("#label", "7")
        page.page.wait_for_timeout(500)
        assert page.drawn("#grid canvas") > 5 and page.js("document.querySelectorAll('#grid canvas').length") == 32
        noise = np.random.default_rng(1).standard_normal((3, 64)).astype("float32")
        labels = np.array([7, 0, 3], "int32")
        got = np.array(page.js("([z, y]) => window.zoo.generate(z, y)", [noise.ravel().tolist(), labels.tolist()]))
        want = np.asarray(zoo.load("cgan-mnist").generate(noise, labels)).ravel()
        np.testing.assert_allclose(got, want, atol=1e-4)
        page.close()
        page = Page(browser, f"{url}/alphazero-connect4/index.html")
        page.page.locator("#board .cell").nth(38).click()  # bottom row, column 3: the disc lands there
        page.page.wait_for_function("document.querySelectorAll('#board .cell:not(:empty)').length === 2")
        assert page.js("document.querySelectorAll('#board .cell')[38].textContent") != ""
        assert page.js("window.zoo.playBoth()") == _policy_head_game("alphazero-connect4")
        page.close()
    finally:
        server.terminate()
        server.wait(10)
