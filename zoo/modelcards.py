"""Model cards people read: each artifact folder's `README.md`, generated from its `card.json` in
the Hugging Face model-card format (YAML front matter: licence, datasets, tags, library,
`model-index` with the card's metrics; then what the model is, how to load, serve and retrain
it, its picture, its evaluation, its formats and its limits). `zoo readme` writes them;
tests/test_modelcards.py keeps every one in sync with its card.

Example:
    >>> from zoo import modelcards
    >>> text = modelcards.model_card("cnn-mnist")
    >>> text.startswith("---\\nlicense: cc-by-sa-3.0")
    True
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .artifacts import Card
from .files import atomic_write_text
from .metrics import dataset_title
from .models import family_of
from .registry import get_entry, list_models
from .reporting import format_lines, headline, int8_summary, meaning

README = "README.md"  # in a model's artifact folder: its model card
LICENCES = {"CC BY-SA 3.0": "cc-by-sa-3.0", "MIT": "mit", "Apache-2.0": "apache-2.0"}  # card words -> HF ids
TASKS = {"classification": "image-classification", "generation": "unconditional-image-generation",
         "conditional-generation": "unconditional-image-generation", "autoencoding": "image-to-image",
         "reinforcement-learning": "reinforcement-learning", "game-playing": "reinforcement-learning"}
DATASETS = {"mnist": "ylecun/mnist", "fashion-mnist": "zalando-datasets/fashion_mnist"}  # Hugging Face Hub names


def licence_id(card: dict) -> str:
    """The weights' licence as a Hugging Face licence identifier ("other" when it has none)."""
    words = (card.get("licence") or {}).get("weights", "")
    return next((hf for key, hf in LICENCES.items() if words.startswith(key)), "other")


def _metrics(card: dict) -> list[dict]:
    """model-index metrics: every number of the card's metrics (nested dicts left out)."""
    return [{"type": key, "value": value, "name": key.replace("_", " ")}
            for key, value in card.metrics.items() if isinstance(value, (int, float)) and not isinstance(value, bool)]


def front_matter(name: str, card: Card) -> dict:
    """The YAML front matter of a model card."""
    entry, dataset = get_entry(name), card.get("dataset", "")
    formats = ["onnx", "tflite"] if (card.get("formats") or {}).get("onnx") else []
    meta = {"license": licence_id(card), "library_name": "keras",
            "tags": ["keras", "tensorflow", "zoo", entry.task, *formats],
            "pipeline_tag": TASKS.get(entry.task, entry.task)}
    if dataset in DATASETS:
        meta["datasets"] = [DATASETS[dataset]]
    if meta["license"] == "other":
        meta["license_name"] = (card.get("licence") or {}).get("weights", "unknown")
    task = {"type": meta["pipeline_tag"]}
    data = {"name": dataset_title(dataset) if dataset in DATASETS else dataset, "type": DATASETS.get(dataset, dataset)}
    meta["model-index"] = [{"name": name, "results": [{"task": task, "dataset": data, "metrics": _metrics(card)}]}]
    return meta


def _section(title: str, *paragraphs: str) -> list[str]:
    out = [f"## {title}", ""]
    for paragraph in paragraphs:
        out += [paragraph, ""] if paragraph else []
    return out


def _code(*lines: str, lang: str = "") -> str:
    return "\n".join([f"```{lang}", *lines, "```"])


def body(name: str, card: Card) -> list[str]:
    """The prose of a model card, in sections."""
    entry, version = get_entry(name), card.version
    training, recipe = card.get("training") or {}, card.get("recipe") or {}
    evaluation = card.get("evaluation") or {}
    out = [f"# {name} (version {version})", "", entry.description, "",
           f"**Measured:** {headline(name, card)}", "", "![what it does](samples.png)", ""]
    out += _section("Load it", _code("import zoo", f'model = zoo.load("{name}")          # Keras, with its methods',
                                     "import zoo.runtime",
                                     f'fast = zoo.runtime.load("{name}")  # ONNX Runtime, no TensorFlow', lang="python"),
                    "`zoo.load` and `zoo.runtime.load` fetch it from a store (a folder, http(s)://, ...), check every "
                    "file against the store's index and cache it; see the zoo's README.")
    out += _section("Serve it", _code(f"zoo serving-config  # then: tensorflow_model_server --model_config_file=...",
                                      f"zoo describe {name} --requests"),
                    f"The SavedModel's default signature is `{card.get('serving_default')}`; every signature, its "
                    "inputs and their checks:", "\n".join(f"- {line.strip()}" for line in format_lines(card.get("formats"))))
    out += _section("Retrain it", _code(training.get("command", f"zoo train {name} --out runs/{name}"),
                                        training.get("export_command", f"zoo publish --run runs/{name}")),
                    f"Recipe: `{recipe.get('file', '')}` (seed {recipe.get('seed')}); {training.get('epochs', '?')} "
                    f"epochs, {training.get('time_s', '?')} s of training as published.")
    rows = [f"| {k} | {v} | {meaning(k)} |" for k, v in card.metrics.items() if not isinstance(v, dict)]
    out += _section("Evaluation", f"On: {evaluation.get('test_set', family_of(entry.model_class).test_set(card.get('config') or {}))}.",
                    "\n".join(["| metric | value | what it means |", "|---|---|---|", *rows]),
                    f"Reproduce: `{evaluation.get('command', f'zoo evaluate {name}')}`"
                    + (f" ({evaluation['seconds']} s)." if evaluation.get("seconds") else "."))
    out += _section("Formats", f"int8: {int8_summary(card.get('formats'))}." if card.get("formats") else
                    "SavedModel and Keras only: this version was published before ONNX and LiteRT were written.")
    out += _section("Licence and data", f"Weights: {card['licence']['weights']}. Training data: {card['licence']['data']}. "
                    f"Code: {card['licence']['code']}." if card.get("licence") else "See the zoo's README.",
                    f"Paper: {entry.paper}" if entry.paper else "")
    out += _section("Limits", "Trained and measured on 28×28 single-channel images or the zoo's own environments "
                    "only; the numbers above hold for the test set named, not for other data. ONNX and LiteRT "
                    "files do not check their inputs: check them as the card says, or use `zoo.runtime`.")
    return out


def model_card(name: str, card: Card | None = None) -> str:
    """The model card (README.md text) of a model's newest version (or of `card`)."""
    card = card or Card.of_version(get_entry(name).artifact_dir)
    meta = yaml.safe_dump(front_matter(name, card), sort_keys=False, allow_unicode=True, width=1000)
    return "---\n" + meta + "---\n\n" + "\n".join(body(name, card)).rstrip() + "\n"


def write_model_cards(names=None) -> list[Path]:
    """Write README.md into every artifact folder (of `names`) whose text changed; returns those written."""
    written = []
    for name in names or list_models():
        folder = get_entry(name).artifact_dir
        if not (folder / "card.json").is_file():
            continue
        text, path = model_card(name), folder / README
        if not path.is_file() or path.read_text() != text:
            atomic_write_text(path, text)
            written.append(path)
    return written


__all__ = ["README", "body", "front_matter", "licence_id", "model_card", "write_model_cards"]
