"""Reports from the cards: `zoo describe NAME` and the README's model table (`zoo readme`).

Example:
    >>> import zoo
    >>> print(zoo.describe("cnn-mnist").splitlines()[0])
    cnn-mnist: Conv-BN digit classifier; its features and probabilities score the zoo's generators.
"""

from __future__ import annotations

from pathlib import Path

from .artifacts import ArtifactError
from .files import atomic_write_text
from .hub import card as read_card
from .hub import load
from .models import family_of
from .registry import ROOT, get_entry, list_models
from .serving import example_bodies

README_START, README_END = "<!-- models:start -->", "<!-- models:end -->"


def _signature_line(sig: str, io: dict) -> str:
    def args(part):
        return ", ".join(f"{k} {dtype}{tuple(-1 if d is None else d for d in shape)}" for k, (shape, dtype) in io[part].items())
    return f"{sig}({args('inputs')}) -> {args('outputs')}"


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else "?"


def summary(name: str) -> str:
    """A few lines on a model: what it is, its version and headline numbers, its signatures."""
    entry = get_entry(name)
    lines = [f"{name}: {entry.description}"]
    try:
        c = read_card(name)
    except ArtifactError as e:
        return "\n".join(lines + [f"  no card: {e}"])
    lines.append(f"  version {c.get('version', '?')}, {_count(c.get('parameters'))} parameters: {headline(name, c)}")
    lines += [f"  {_signature_line(sig, io)}" for sig, io in (c.get("signatures") or {}).items() if sig != "serving_default"]
    return "\n".join(lines)


def request_feeds(name: str, signatures: dict) -> dict:
    """Batch-1 example inputs per signature from the model's family (a real digit, a seed, a board)."""
    family = family_of(load(name))
    specs = {sig: spec for sig, (_, spec) in family.serving_signatures().items()}
    return {sig: family.serving_examples(specs[sig], batch=1) for sig in signatures if sig in specs}


def describe(name: str, requests: bool = False, version: int | None = None) -> str:
    """A model's registry entry, card (version, training, metrics) and signatures in
    `saved_model_cli` style, as text; with `requests`, ready REST request bodies made from
    the model's own example inputs (a real digit, a seed), in both TF Serving formats."""
    entry = get_entry(name)
    lines = [f"{name}: {entry.description}", f"  task: {entry.task}   dataset: {entry.dataset}   paper: {entry.paper}",
             f"  recipe: train/{entry.recipe}   artifact: {entry.artifact_dir}"]
    try:
        c = read_card(name, version)
    except ArtifactError as e:  # describe still shows the registry entry
        lines.append(f"  no card: {e}")
        return "\n".join(lines)
    training = c.get("training") or {}
    lines.append(f"  version {c.get('version', '?')} (available: {get_entry(name).versions()}), "
                 f"{_count(c.get('parameters'))} parameters, trained {training.get('epochs', '?')} epochs / "
                 f"{training.get('steps', '?')} steps in {training.get('time_s', '?')} s")
    lines.append(f"  reproduce: {training.get('command', '(not recorded)')}")
    if c.get("licence"):
        lines.append("  licence: " + "; ".join(f"{k} {v}" for k, v in c["licence"].items()))
    evaluation = c.get("evaluation") or {}
    lines.append("  metrics" + (f" (from: {evaluation.get('command')})" if evaluation else "") + ":")
    for k, v in (c.get("metrics") or {}).items():
        lines.append(f"    {k}: {v}")
    lines.append(f"  signatures (serving_default = {c.get('serving_default')}):")
    for sig, io in (c.get("signatures") or {}).items():
        lines.append(f"    signature_def['{sig}']:")
        for kind in ("inputs", "outputs"):
            for k, (shape, dtype) in io[kind].items():
                shp = "(" + ", ".join("-1" if d is None else str(d) for d in shape) + ")"
                lines.append(f"      {kind[:-1]} {k}: dtype={dtype} shape={shp}")
    lines += format_lines(c.get("formats"))
    if not requests:
        lines.append(f"  REST: POST http://localhost:8501/v1/models/{name}:predict with "
                     f'{{"signature_name": ..., "instances": [...]}}; request bodies: zoo describe {name} --requests')
        return "\n".join(lines)
    lines.append("  REST predict examples (POST http://HOST:8501/v1/models/%s:predict):" % name)
    for sig, bodies in example_bodies(c.get("signatures") or {}, request_feeds(name, c.get("signatures") or {})).items():
        for fmt, body in bodies.items():
            lines.append(f"    curl -d '{body}' -X POST http://localhost:8501/v1/models/{name}:predict   # {sig}, {fmt}")
    return "\n".join(lines)


def format_lines(formats: dict | None) -> list[str]:
    """What a card says of a version's ONNX and LiteRT forms (`zoo.formats`), as describe prints it."""
    if not formats:
        return ["  formats: SavedModel and Keras only (published before ONNX and LiteRT were written)"]
    onnx = formats.get("onnx", {}).get("signatures", {})
    lines = [f"  ONNX (opset {formats['onnx'].get('opset')}): " + ", ".join(
        f"{sig} -> {m['file']}" + "".join(f" ({k} is {v})" for k, v in m["outputs"].items() if k != v)
        for sig, m in onnx.items())]
    if formats.get("litert"):
        lines.append(f"  LiteRT: {formats['litert']['file']} (signatures {', '.join(formats['litert']['signatures'])})")
    if formats.get("int8"):
        lines.append(f"  int8: {int8_summary(formats)}")
    lines += [f"  not converted: {sig}: {why}" for sig, why in (formats.get("not_converted") or {}).items()]
    lines += [f"  check before ONNX/LiteRT {sig}: {what}" for sig, what in (formats.get("unchecked_inputs") or {}).items()]
    return lines


# What a card's numbers mean, by the words their names are built of: a metric's meaning is its
# qualifier's ("prior_samples_", "real_floor_", ...) followed by its measure's.
QUALIFIERS = [("real_floor_", "for real data (the first 10,000 training images): the best a generator can reach; "),
              ("fitted_prior_samples_", "of 10,000 images decoded from the fitted prior's codes: "),
              ("prior_samples_", "of 10,000 images decoded from N(0, I) codes: "),
              ("reconstructions_", "of the test images' reconstructions: "),
              ("untrained_", "of the same network untrained: "),
              ("openings_vs_", "from random two-move openings against "), ("vs_", "against ")]
MEASURES = [("fid_", "Fréchet distance between the judge's features of these images and of the test set (lower is better)"),
            ("fashion_mnist_score", "the judge's classifier score on Fashion-MNIST: 10 for sure and varied garments"),
            ("mnist_score", "the judge's classifier score, exp E[KL(p(y|x) || p(y))]: 10 for sure and varied digits"),
            ("mean_confidence", "the judge's mean top-class probability"),
            ("label_kept", "share whose class the judge reads as the input's"),
            ("label_accuracy", "share of samples the judge reads as the class asked for"),
            ("test_accuracy", "share of the test images classified right"), ("test_errors", "test images classified wrong"),
            ("test_nll_nats", "negative log-likelihood of a test image in nats, by importance sampling (lower is better)"),
            ("test_nll_stderr", "standard error of that NLL"), ("test_neg_elbo", "the negative ELBO in nats (a bound on the NLL)"),
            ("test_kl", "the KL term of the ELBO in nats"), ("test_reconstruction", "the reconstruction term of the ELBO in nats"),
            ("test_bce", "binary cross-entropy of a reconstructed pixel"), ("test_mse", "squared error of a reconstructed pixel"),
            ("apples_mean", "mean apples per greedy game of 20x20 Snake"),
            ("apples_median", "median apples per greedy game of 20x20 Snake"),
            ("apples_max", "most apples in one game"), ("apples_min", "fewest apples in one game"), ("wins", "games won"), ("draws", "games drawn"),
            ("losses", "games lost"), ("win_rate", "share of games won"), ("distinct_games", "different games among them"),
            ("simulations_per_move", "search simulations per move"), ("test_images", "test images measured")]


def meaning(metric: str) -> str:
    """What a card's metric means, in words; "" for a name the zoo does not know."""
    words, rest = "", metric
    for prefix, said in QUALIFIERS:
        if rest.startswith(prefix):
            words, rest = said, rest[len(prefix):]
            if prefix.endswith("vs_"):
                opponent, _, rest = rest.partition("_")
                words += f"{opponent}: "
            break
    found = next((said for key, said in MEASURES if key in rest), "")
    return (words + found) if found else ""


def _mb(size) -> str:
    return f"{size / 1e6:.2f}"


def int8_summary(formats: dict | None) -> str:
    """What the int8 forms save and cost, from a card's `formats`: file sizes float32 -> int8,
    each headline metric float32 -> int8, and whether int8 is recommended."""
    int8, sizes = (formats or {}).get("int8"), (formats or {}).get("sizes") or {}
    if not int8:
        return "no int8 forms (published before them)" if not sizes else "int8 not measured"
    files = "; ".join(f"{fmt} {_mb(s['float32'])} → {_mb(s['int8'])} MB" for fmt, s in
                      (("ONNX", sizes.get("onnx")), ("LiteRT", sizes.get("litert"))) if s)
    checks = ", ".join(f"{k} {c['float32']} → {c['int8']}" for k, c in int8.get("checks", {}).items())
    verdict = "recommended" if int8.get("recommended") else "**not recommended**"
    return f"{files}; {checks}: {verdict}"


def headline(name: str, card: dict) -> str:
    """The numbers a reader wants first, from a card (the model family words them)."""
    if not card.get("metrics"):
        return "not evaluated yet"
    try:
        return family_of(get_entry(name).model_class).headline(card["metrics"], card.get("config") or {})
    except (KeyError, TypeError, ValueError) as e:  # a card edited by hand, or from an older zoo
        return f"metrics incomplete ({type(e).__name__}: {e}); run `zoo evaluate {name} --write-card`"


def model_table() -> str:
    """The README's model table, generated from the cards (`zoo readme` writes it)."""
    rows = ["| model | what | params | measured (see card) | int8 (ONNX Runtime, `zoo.runtime`) |", "|---|---|---|---|---|"]
    for name in list_models():
        entry = get_entry(name)
        try:
            c = read_card(name)
        except ArtifactError:  # a model without an artifact still gets its row
            rows.append(f"| `{name}` | {entry.description} | | no artifact yet | |")
            continue
        rows.append(f"| [`{name}`](artifacts/{name}/card.json) | {entry.description} | {_count(c.get('parameters'))} | "
                    f"{headline(name, c)} | {int8_summary(c.get('formats')) if c.get('formats') else 'no ONNX forms yet'} |")
    return "\n".join(rows)


def update_readme(path: Path = ROOT / "README.md") -> bool:
    """Rewrite the model table between README's markers; True if the file changed."""
    text = path.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} has no {README_START} ... {README_END} block")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{model_table()}\n{README_END}{tail}"
    changed = new != text
    if changed:
        atomic_write_text(path, new)
    return changed
