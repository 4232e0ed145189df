"""Model cards people can read (issue 37, part 2): each artifact folder's README.md is the Hugging
Face model card generated from its card.json, and stays in sync with it (`zoo readme`)."""

import pytest
import yaml

import zoo
from zoo import modelcards
from zoo.artifacts import Card

PUBLISHED = [n for n in zoo.list_models() if zoo.get_entry(n).versions()]


@pytest.mark.parametrize("name", PUBLISHED)
def test_every_artifact_has_its_model_card_in_sync(name):
    folder = zoo.get_entry(name).artifact_dir
    path = folder / modelcards.README
    assert path.is_file(), f"{path} is missing: run `zoo readme`"
    assert path.read_text() == modelcards.model_card(name), f"{path} is out of date: run `zoo readme`"


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_front_matter_is_what_the_hub_reads(name):
    card = Card.of_version(zoo.get_entry(name).artifact_dir)
    text = modelcards.model_card(name)
    head, _, rest = text.partition("\n---\n")
    meta = yaml.safe_load(head.removeprefix("---\n"))
    assert meta["license"] in ("cc-by-sa-3.0", "mit", "apache-2.0") and meta["library_name"] == "keras"
    result = meta["model-index"][0]["results"][0]
    assert meta["model-index"][0]["name"] == name and result["task"]["type"] == meta["pipeline_tag"]
    numbers = {k: v for k, v in card.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert {m["type"]: m["value"] for m in result["metrics"]} == numbers and numbers
    assert f"# {name} (version {card.version})" in rest and "![what it does](samples.png)" in rest
    assert card["evaluation"]["command"] in rest, "the command that reproduces the numbers"
    assert (zoo.get_entry(name).artifact_dir / "samples.png").is_file()
    if (card.get("formats") or {}).get("onnx"):
        assert "onnx" in meta["tags"] and "int8:" in rest


def test_a_card_without_a_licence_says_other(monkeypatch):
    assert modelcards.licence_id({"licence": {"weights": "CC BY-SA 3.0 (as the training data)"}}) == "cc-by-sa-3.0"
    assert modelcards.licence_id({"licence": {"weights": "MIT (as the training data)"}}) == "mit"
    assert modelcards.licence_id({}) == "other"
