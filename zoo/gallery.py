"""`zoo gallery OUT`: a static site where the course's pictures are live. An index of every model
(picture, headline, version, licence) and a page per model, written from the cards; where a
version has ONNX forms, its page runs them in the browser with ONNX Runtime Web (copied from
`gallery/node_modules`, installed from the committed `gallery/package-lock.json`): draw a digit
and see the classifier's probabilities; walk a VAE's latent space on a map of the test digits'
codes, interpolate, do arithmetic, sample beside a plain autoencoder; play a board game against
the network. Nothing but static files: any static host, or `python -m http.server`, serves it.

    zoo gallery site            # writes site/index.html, site/<name>/index.html, ...
    zoo gallery site --serve    # and serves it on http://127.0.0.1:8000 for a look

Example:
    >>> from zoo import gallery
    >>> gallery.build("site")            # doctest: +SKIP
    PosixPath('site/index.html')
"""

from __future__ import annotations

import html
import http.server
import json
import re
import shutil
from functools import partial
from pathlib import Path

from .artifacts import ArtifactError, Card
from .files import atomic_write_text
from .formats import write_formats
from .hub import load
from .layout import ONNX_FOLDER, PICTURE, manifest_file
from .models import family_of
from .registry import ROOT, get_entry, list_models
from .reporting import headline, int8_summary, meaning
from .runtime import read_manifest

SITE = ROOT / "gallery" / "site"  # the pages' script and style
ORT = ROOT / "gallery" / "node_modules" / "onnxruntime-web" / "dist"
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")
KINDS = {  # a page's live section per runtime kind (the manifest's "runtime")
    "classifier": """
<h2>Draw a digit, or pick a test image</h2>
<div class="row"><canvas id="pad" width="280" height="280"></canvas>
<div><select id="pick"></select> <button id="clear">clear</button>
<p>Its answer: <b id="answer"></b></p><div id="bars"></div></div></div>""",
    "autoencoder": """
<h2>Its latent space</h2>
<p>{projection}, each dot a test image coloured by its label. Press and drag on the map: the point
under the pointer is decoded live.</p>
<div class="row"><canvas id="map" width="360" height="360"></canvas><canvas id="decoded" width="168" height="168"></canvas></div>
<h2>Interpolation</h2><p>From <select id="from"></select> to <select id="to"></select>: eight codes on the straight line between their codes, decoded.</p>
<div id="walk" class="strip"></div>
<h2>Arithmetic</h2><p><select id="a"></select> − <select id="b"></select> + <select id="c"></select> =</p>
<div id="sum" class="strip"></div>
<h2>Codes drawn from N(0, I)</h2><p>Seed <input id="seed" type="number" value="0" min="0">: eight codes, decoded by this model{partner_line}.</p>
<div id="prior" class="strip"></div><div id="partner" class="strip"></div>""",
    "policy_value": """
<h2>Play against it</h2>
<p>It chooses by {chooses}. You play <select id="side"><option value="1">first</option><option value="-1">second</option></select>
<button id="restart">new game</button></p>
<div id="board" class="board"></div><p id="status"></p><p id="value"></p>""",
}
KINDS["q_agent"] = """
<h2>Watch it play</h2>
<p>The trained agent (left) and the same network untrained (right) on the same 20×20 board, the same seed;
each move is the network's greedy action on the 16 features it sees (danger ahead, left and right; heading;
where the apple is; the free space each turn leaves).</p>
<p>Seed <input id="seed" type="number" value="0" min="0"> moves per second <input id="speed" type="number" value="20"
min="1" max="200"> <button id="start">play</button></p>
<div class="row"><div><canvas id="trained" width="240" height="240"></canvas><p id="trained-score"></p></div>
<div><canvas id="untrained" width="240" height="240"></canvas><p id="untrained-score"></p></div></div>"""
KINDS["gan"] = """
<h2>Draw from a seed</h2>
<p>Seed <input id="seed" type="number" value="0" min="0">: 32 noise vectors from N(0, I), through the generator.</p>
<div id="grid" class="strip"></div>"""
KINDS["conditional_gan"] = """
<h2>Ask for a class</h2>
<p>Draw <select id="label"></select> from seed <input id="seed" type="number" value="0" min="0">: 32 noise vectors
from N(0, I), each with the class asked for, through the generator.</p>
<div id="grid" class="strip"></div>"""
KINDS["vae"] = KINDS["vaegan"] = KINDS["autoencoder"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><link rel="stylesheet" href="{up}style.css"></head>
<body><header><a href="{up}index.html">the zoo</a> · {title}</header><main>
{body}
</main>{scripts}</body></html>
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _md(text) -> str:
    """A headline's Markdown bold (`**x**`) as HTML, the rest escaped."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", _e(text))


def _live_models(names) -> dict:
    """{name: (card, version folder, manifest)} of the models whose newest version has ONNX forms."""
    out = {}
    for name in names:
        folder = get_entry(name).artifact_dir
        try:
            card = Card.of_version(folder)
        except ArtifactError:
            continue
        version_dir = folder / str(card.version)
        if (version_dir / manifest_file()).is_file():
            manifest = read_manifest(version_dir, name, card.version)
            if manifest.get("runtime") in KINDS:  # a kind without a live section yet shows its picture
                out[name] = (card, version_dir, manifest)
    return out


def partner(name: str, live: dict) -> str | None:
    """Another live model whose decoder takes the same codes from the same data (an AE beside a
    VAE): the page decodes one seed's N(0, I) codes with both."""
    card, _, manifest = live[name]
    kinds = {"autoencoder", "vae"}
    if manifest["runtime"] not in kinds or "decode" not in manifest["signatures"]:
        return None
    size = manifest["signatures"]["decode"]["inputs"][0]["shape"]
    return next((other for other, (c, _, m) in live.items() if other != name and m["runtime"] in kinds - {manifest["runtime"]}
                 and c.get("dataset") == card.get("dataset") and "decode" in m["signatures"]
                 and m["signatures"]["decode"]["inputs"][0]["shape"] == size), None)


def _facts(name: str, card: Card) -> str:
    """The card's numbers, what they mean, licence, version, files and commands, as HTML."""
    metrics = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td><td>{_e(meaning(k))}</td></tr>"
                      for k, v in card.metrics.items() if not isinstance(v, dict))
    files = "".join(f"<tr><td>{_e(f)}</td><td><code>{_e(h)}</code></td></tr>" for f, h in sorted((card.get("files") or {}).items())
                    if not f.split("/", 1)[-1].startswith("variables/"))
    evaluation, licence = card.get("evaluation") or {}, card.get("licence") or {}
    int8 = f"<p>int8: {_e(int8_summary(card.get('formats')))}</p>" if card.get("formats") else ""
    return (f"<h2>Measured</h2><p>{_md(headline(name, card))}</p><p>On: {_e(evaluation.get('test_set', ''))}. Reproduce: "
            f"<code>{_e(evaluation.get('command', f'zoo evaluate {name}'))}</code></p><table>{metrics}</table>{int8}"
            f"<h2>Licence</h2><p>Weights: {_e(licence.get('weights', ''))}. Data: {_e(licence.get('data', ''))}. "
            f"Code: {_e(licence.get('code', ''))}.</p><h2>Version {_e(card.version)} and its files (sha256)</h2>"
            f"<table>{files}</table><p>Retrain: <code>{_e((card.get('training') or {}).get('command', ''))}</code></p>")


def model_page(name: str, card: Card, live: dict, data: dict) -> str:
    """One model's page: its picture and facts, and the live section of its kind."""
    entry, scripts = get_entry(name), ""
    if name in live:
        kind = live[name][2]["runtime"]
        fill = {"projection": data.get("map", {}).get("projection", ""), "chooses": data.get("chooses", ""),
                "partner_line": f", and below by {data['partner']} (the same codes)" if data.get("partner") else ""}
        section = f'<section id="live">{KINDS[kind].format(**{k: _e(v) for k, v in fill.items()})}</section>'
        scripts = '<script src="../vendor/ort/ort.wasm.min.js"></script><script src="../app.js"></script>'
    else:
        section = ('<section id="live"><p>Not live yet: this version was published before its ONNX forms, or the '
                   'gallery has no live section for its kind yet.</p></section>')
    body = (f"<h1>{_e(name)}</h1><p>{_e(entry.description)}</p><img class=\"picture\" src=\"{PICTURE}\" "
            f"alt=\"what {_e(name)} does\">{section}{_facts(name, card)}")
    return PAGE.format(title=_e(name), up="../", body=body, scripts=scripts)


def index_page(cards: dict, live: dict) -> str:
    """The index: every model's picture, headline, version and licence."""
    badge = ' <span class="live">live</span>'
    tiles = "".join(
        f'<a class="tile" href="{_e(name)}/index.html"><img src="{_e(name)}/{PICTURE}" alt="{_e(name)}">'
        f"<h2>{_e(name)}{badge if name in live else ''}</h2>"
        f"<p>{_md(headline(name, card))}</p><p class=\"small\">version {_e(card.version)} · "
        f"{_e((card.get('licence') or {}).get('weights', ''))}</p></a>" for name, card in cards.items())
    body = ("<h1>The zoo</h1><p>Autoencoders, VAEs, GANs and RL agents from the course, trained and published. "
            "Models marked live run in this page with ONNX Runtime Web: nothing leaves your browser.</p>"
            f'<div class="tiles">{tiles}</div>')
    return PAGE.format(title="models", up="", body=body, scripts="")


def copy_runtime(out: Path):
    """ONNX Runtime Web's files, from the npm lockfile's install, into the site."""
    missing = [f for f in ORT_FILES if not (ORT / f).is_file()]
    if missing:
        raise FileNotFoundError(f"onnxruntime-web is not installed ({ORT} lacks {', '.join(missing)}): "
                                "run `npm ci --prefix gallery` (make gallery does)")
    (out / "vendor" / "ort").mkdir(parents=True, exist_ok=True)
    for f in ORT_FILES:
        shutil.copy2(ORT / f, out / "vendor" / "ort" / f)


def build(out, names=None, verbose: bool = False) -> Path:
    """Write the gallery into folder `out` (created; files there are replaced); returns its index."""
    out = Path(out)
    names = list(names or list_models())
    cards = {}
    for name in names:
        try:
            cards[name] = Card.of_version(get_entry(name).artifact_dir)
        except ArtifactError:
            continue
    live = _live_models(cards)
    if live:
        copy_runtime(out)
    for f in ("app.js", "style.css"):
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SITE / f, out / f)
    for name, card in cards.items():
        page, folder = out / name, get_entry(name).artifact_dir
        page.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / PICTURE, page / PICTURE)
        data = {"live": name in live}
        if name in live:
            _, version_dir, manifest = live[name]
            model = load(name)
            data.update(family_of(model).gallery_data(card.get("dataset", get_entry(name).dataset)),
                        partner=partner(name, live))
            shutil.copytree(version_dir / ONNX_FOLDER, page / ONNX_FOLDER, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("int8"))
            for label, other in family_of(model).gallery_models().items():  # e.g. an untrained twin
                write_formats(other, page / label)
        atomic_write_text(page / "data.json", json.dumps(data))
        atomic_write_text(page / "index.html", model_page(name, card, live, data))
        if verbose:
            print(f"  {name}: {'live' if name in live else 'picture and card'}")
    return atomic_write_text(out / "index.html", index_page(cards, live))


def serve(out, port: int = 8000):
    """Serve the folder `out` on http://127.0.0.1:`port` until interrupted."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"the gallery: http://127.0.0.1:{server.server_address[1]}/index.html (Ctrl-C stops)")
        server.serve_forever()


__all__ = ["build", "copy_runtime", "index_page", "model_page", "partner", "serve"]
