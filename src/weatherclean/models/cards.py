"""Model cards: the ``README.md`` next to a model's weights, which the Hub shows as the model's page.

A card is YAML front matter (the metadata the Hub indexes: licence, library, pipeline, tags, base model,
scores in ``model-index``) followed by Markdown. This module is the one place that renders cards and
reads their metadata back, so ``weatherclean train`` (which documents its run), ``models push`` (which
refuses to publish a model without a usable card) and the docs agree on what a card holds.

``PyTorchModelHubMixin.save_pretrained`` already writes a README.md, but only its own boilerplate ("pushed
with the mixin", the class tags); ``train`` replaces it with a card that says how the model was made.
Metadata goes through huggingface_hub's ``ModelCardData`` / ``metadata_load``, never a hand-written YAML
parser, so it reads and writes exactly what the Hub does.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weatherclean import __version__
from weatherclean.errors import ModelError
from weatherclean.models.builtin import BUILTIN_FAMILIES
from weatherclean.models.family import ModelFamily, family_for_task, family_of, is_shipped, task_command

CARD_NAME = "README.md"
#: Metadata a card must have before ``models push`` publishes it: the Hub shows the licence, and the
#: library name and tags are how people (and the Hub's "use this model" button) find weatherclean models.
REQUIRED_METADATA: tuple[str, ...] = ("license", "library_name", "tags")
LIBRARY_NAME = "weatherclean"
LICENSE = "mit"
PIPELINE_TAG = "image-to-image"


@dataclass(frozen=True)
class TrainingRecord:
    """How a model was trained, for its card: the run's settings and how the run ended.

    ``settings`` is the run's ``TrainConfig`` as a dict (what ``OUTPUT/train_config.json`` holds), so a card
    can be rendered again later from a run folder alone.
    """

    settings: Mapping[str, Any]
    steps: int
    final_loss: float | None
    seconds: float
    init_source: str | None = None  # where --init came from, in words (e.g. "Hub o/n at commit abc")
    push_to_hub: str | None = None


def read_card_metadata(path: Path) -> dict[str, Any]:
    """The YAML front matter of a card as a dict; ``{}`` when it has none.

    Raises :class:`ModelError` when the front matter is not valid YAML or not a mapping: a card the Hub
    would reject should be fixed before anything is uploaded.
    """
    import yaml
    from huggingface_hub import metadata_load

    try:
        meta = metadata_load(path)
    except (yaml.YAMLError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{path}: the model card's YAML front matter is invalid ({first[:160]}); fix it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model card ({exc})") from None
    return dict(meta or {})


def card_problems(metadata: Mapping[str, Any]) -> list[str]:
    """What keeps ``metadata`` from being publishable, in words (empty when it is fine)."""
    problems = [f"no {key}" for key in REQUIRED_METADATA if not metadata.get(key)]
    library = metadata.get("library_name")
    if library and library != LIBRARY_NAME:
        problems.append(f"library_name is {library!r}, not {LIBRARY_NAME!r}")
    tags = metadata.get("tags")
    if tags and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        problems.append("tags is not a list of words")
    return problems


def check_card(folder: Path) -> dict[str, Any]:
    """The metadata of ``folder``'s card, or a one-line :class:`ModelError` that says how to make the card right."""
    path = folder / CARD_NAME
    if not path.is_file():
        raise ModelError(
            f"{folder} has no model card ({CARD_NAME}); `weatherclean train` writes one, or rerun with --write-card "
            f"to generate a minimal one, or write {CARD_NAME} with YAML front matter "
            f"(license, library_name: {LIBRARY_NAME}, tags)"
        )
    metadata = read_card_metadata(path)
    problems = card_problems(metadata)
    if problems:
        raise ModelError(
            f"{path}: the model card's YAML front matter has {'; '.join(problems)}; add license (e.g. {LICENSE}), "
            f"library_name: {LIBRARY_NAME} and tags (e.g. {', '.join(_family_tags(folder))}), or delete the card "
            "and rerun with --write-card to generate one"
        )
    return metadata


def card_data(config: Mapping[str, Any], *, base_model: str | None = None) -> Any:
    """The Hub metadata (a ``ModelCardData``) every weatherclean card starts from."""
    from huggingface_hub import ModelCardData

    family = family_of(str(config.get("model_type")))
    tags = list(family.tags) if family else [LIBRARY_NAME]
    return ModelCardData(
        license=LICENSE,
        library_name=LIBRARY_NAME,
        pipeline_tag=PIPELINE_TAG,
        tags=tags,
        base_model=base_model,
    )


def render_card(
    config: Mapping[str, Any],
    *,
    name: str,
    model_ref: str,
    parameters: int | None = None,
    training: TrainingRecord | None = None,
    base_model: str | None = None,
    paths_note: str | None = None,
) -> str:
    """A complete card: Hub metadata, what the model is, how to run it, how it was trained, how to score it.

    ``model_ref`` is what to pass to ``--model`` (the Hub repo, or the folder). Without ``training`` the card
    says that how the model was made is not recorded, rather than guessing. ``paths_note`` is a sentence
    saying what the card's relative paths are relative to (``train`` writes them relative to the run
    folder, so a published card never shows the training machine's folders).
    """
    from huggingface_hub import ModelCard

    known = family_of(str(config.get("model_type")))
    family = known or family_for_task("snow")
    task = family.task
    command = task_command(task)  # None for a plugin's own task: no weatherclean command runs it
    what = f"{family.title} ({family.paper})" if known is not None else f"A {config.get('model_type')} model"
    size = f", {parameters:,} parameters" if parameters else ""
    lines = [
        f"# {name}",
        "",
        f"{what} for removing {task} from {family.inputs}{size}, made with "
        f"[weatherclean](https://pypi.org/project/weatherclean/) {__version__}.",
        "",
        "## Use",
        "",
        *([paths_note, ""] if paths_note else []),
        *_use_section(known, family, config, model_ref, command),
        "",
        "## Training",
        "",
    ]
    if training is None:
        lines += ["How this model was trained is not recorded in this card.", ""]
    else:
        lines += _training_section(training, task, known)
    lines += ["## Scores", ""]
    if command is not None:  # evaluate scores the shipped tasks only
        lines += [
            "Not measured yet. Measure them on held-out data with",
            "",
            "```bash",
            f"weatherclean evaluate --task {task} --dataset TEST_FOLDER --model {_quote(model_ref)}",
            "```",
            "",
        ]
    else:
        # no blank line after it: the sentence goes on in the next line ("and add them to the model-index")
        lines += ["Not measured yet (`weatherclean evaluate` scores snow and rain models only). Measure PSNR and "
                  "SSIM on held-out data"]  # fmt: skip
    lines += [
        "and add them to the `model-index` in this card's metadata, where the Hub and `weatherclean models info` "
        "show them.",
        "",
        "## Files",
        "",
        f"`config.json` (the architecture; `model_type` is `{config.get('model_type')}`) and `model.safetensors` "
        "(the weights). Nothing is pickled.",
        "",
    ]
    data = card_data(config, base_model=base_model)
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)))


def _use_section(
    known: ModelFamily | None, family: ModelFamily, config: Mapping[str, Any], model_ref: str, command: str | None
) -> list[str]:
    """How to run the model: what to install (a plugin family's package too: weatherclean alone cannot load
    its folders) and the command, or for a task no command runs, the Python call. ``known`` is the config's own
    family (None for a ``model_type`` no family here has), ``family`` the one the card speaks for (the snow
    family in that case, as :func:`render_card` settles it)."""
    install = "pip install weatherclean"
    model_type = config.get("model_type")
    if (known is not None and not is_shipped(known)) or (known is None and isinstance(model_type, str)):
        package = _distribution_of(known) if known is not None else None
        install += f" {package}" if package else f"  # and the package that provides model_type {model_type!r}"
    if command is not None:
        return ["```bash", install, f"weatherclean {command} {family.example_input} --model {_quote(model_ref)}", "```"]
    return [
        "```bash",
        install,
        "```",
        "",
        "```python",
        "from weatherclean import load_restorer",
        "",
        f"restorer = load_restorer({family.task!r}, model={model_ref!r})",
        'restorer.restore_file("in.jpg", "out.jpg")',
        "```",
    ]


def _distribution_of(family: ModelFamily) -> str | None:
    """The installed distribution (``pip install`` name) whose package defines ``family``'s model, if found."""
    from importlib.metadata import packages_distributions

    top = getattr(family.model_class, "__module__", "").partition(".")[0]
    names = packages_distributions().get(top) or []
    return names[0] if names else None


def write_card(folder: Path, text: str) -> Path:
    """Write ``folder/README.md`` atomically (a crash never leaves half a card) and return its path."""
    from weatherclean.io.atomic import atomic_write

    path = folder / CARD_NAME
    atomic_write(path, text.encode())
    return path


#: Per shipped family (``model_type``), its paper's loss and that loss's weights as ``train`` records them
#: (``lambda_z`` is ``--lambda-z``), with their symbols in the paper. Keyed by family, not task: another
#: family of the same task trains with its own loss, and its card must not name DesnowNet's.
LOSS_WEIGHTS = {
    "desnownet": ("the DesnowNet paper loss", {"lambda_z": "λ_z", "lambda_w": "λ_w"}),
    "j4rnet": ("the J4R-Net paper loss", {"lambda_detect": "λ_d", "lambda_rect": "λ_c", "lambda_removal": "λ_r"}),
}
#: Per task, the loss options ``train`` has (what a card's training command spells out).
TASK_LOSS_OPTIONS = {BUILTIN_FAMILIES[kind].task: tuple(names) for kind, (_paper, names) in LOSS_WEIGHTS.items()}


def _loss_row(family: ModelFamily | None, extra: Mapping[str, Any]) -> str:
    """The card's "loss" row: the paper's loss with the weights this run used (a run recorded before the
    weights were options says only "the paper's loss"), and our brightness-and-colour term if it was on. A
    family without a paper loss listed here (a plugin's) gets its own family's loss, named by its title."""
    model_type = family.model_type if family is not None else None
    if model_type not in LOSS_WEIGHTS:
        title = family.title if family is not None else "its family"
        return f"the training loss of {title} (its family's own)" + (
            f", with lambda_colour = {extra['lambda_colour']:g} passed to it" if extra.get("lambda_colour") else ""
        )
    paper, names = LOSS_WEIGHTS[model_type]
    weights = [f"{symbol} = {extra[key]:g}" for key, symbol in names.items() if isinstance(extra.get(key), int | float)]
    row = f"{paper}, {', '.join(weights)}" if weights else "the paper's loss"
    if extra.get("lambda_colour"):
        row += f", plus our brightness-and-colour term, λ = {extra['lambda_colour']:g}"
    return row


def training_command(settings: Mapping[str, Any], *, push_to_hub: str | None = None) -> str:
    """The ``weatherclean train`` command line that makes this run, rebuilt from its ``TrainConfig`` dict.

    Rebuilt rather than copied from ``sys.argv``: every setting that shapes the weights is spelled out,
    defaults included, so the command still means the same run when a later release changes a default,
    and it does not depend on how the command was started (``python -m``, torchrun, a notebook).
    """
    extra = settings.get("extra") or {}
    task = extra.get("task", "snow")
    args: list[object] = ["weatherclean", "train", "--task", task]

    def option(flag: str, value: object) -> None:
        """Add ``flag value``, numbers in their shortest form; a setting the run did not record is left out."""
        if value is not None:
            args.extend([flag, f"{value:g}" if isinstance(value, float) else value])

    option("--dataset", extra.get("dataset"))
    for folder in extra.get("clean") or []:
        option("--clean", folder)
    if extra.get("skimage_samples"):
        args.append("--skimage-samples")
    if extra.get("init"):  # the starting weights decide the architecture; --arch is then unused
        option("--init", extra["init"])
    else:
        option("--arch", extra.get("arch"))
    option("-o", settings.get("output"))
    option("--steps", settings.get("steps"))
    option("--batch-size", settings.get("batch_size"))
    option("--crop", extra.get("crop"))
    if task == "rain":
        option("--frames", extra.get("frames"))
    option("--lr", settings.get("lr"))
    option("--warmup", settings.get("warmup_steps"))
    for key in TASK_LOSS_OPTIONS.get(task, ()):
        option("--" + key.replace("_", "-"), extra.get(key))
    if task == "snow" and extra.get("haze") is False:
        args.append("--no-haze")
    if extra.get("lambda_colour"):
        option("--lambda-colour", extra["lambda_colour"])
    option("--pass-through", extra.get("pass_through"))
    for style in extra.get("styles") or []:  # the styles the run drew from, after --exclude-style
        option("--style", style)
    for style, weight in (extra.get("style_weights") or {}).items():
        if weight != 1:
            option("--style-weight", f"{style}={weight:g}")
    option("--level", extra.get("level"))
    if extra.get("clean_fraction"):
        option("--clean-fraction", extra["clean_fraction"])
    if extra.get("tone_fraction"):
        option("--tone-fraction", extra["tone_fraction"])
    if extra.get("tone_haze", "all") != "all":
        option("--tone-haze", extra["tone_haze"])
    if extra.get("dry_crops", 1) > 1:
        option("--dry-crops", extra["dry_crops"])
    if extra.get("dry_pick", "detail") != "detail":
        option("--dry-pick", extra["dry_pick"])
    option("--seed", settings.get("seed"))
    if settings.get("device", "auto") != "auto":
        option("--device", settings.get("device"))
    if settings.get("amp") is not None:
        args.append("--amp" if settings["amp"] else "--no-amp")
    option("--push-to-hub", push_to_hub)
    return shlex.join(str(a) for a in args)


def training_seconds(history: Sequence[Mapping[str, Any]], fallback: float = 0.0) -> float:
    """Total training time over every invocation of a run, from its log records.

    Each record's ``seconds`` counts from the start of the invocation that wrote it, so the clock restarts
    on resume: the total is the sum of the last value before each restart. ``fallback`` (this invocation's
    time) is used when nothing was logged.
    """
    total, last = 0.0, 0.0
    for record in history:
        seconds = float(record.get("seconds", 0.0))
        if seconds < last:
            total += last
        last = seconds
    return total + last if history else fallback


def _training_section(training: TrainingRecord, task: str, family: ModelFamily | None) -> list[str]:
    settings, extra = training.settings, training.settings.get("extra") or {}
    data = []
    if extra.get("dataset"):
        data.append(f"paired dataset `{extra['dataset']}`")
    if extra.get("clean"):
        level = extra.get("level") or "mixed levels"
        data.append(f"clean photos from {', '.join(f'`{c}`' for c in extra['clean'])} with synthetic {task} ({level})")
    if extra.get("skimage_samples"):
        data.append(f"scikit-image sample photos with synthetic {task}")
    crop = f"{extra.get('crop', '?')}×{extra.get('crop', '?')} px"
    if task == "rain":
        crop += f", {extra.get('frames', 1)} frame(s) per clip"
    start = training.init_source or (f"`{extra['init']}`" if extra.get("init") else "random initialisation")
    arch = extra.get("arch")
    loss = _loss_row(family, extra)
    final = training.final_loss
    rows = [
        ("architecture", f"`{arch}`" if arch and not extra.get("init") else "as the starting model"),
        ("started from", start),
        ("data", "; ".join(data) or "not recorded"),
        ("crop", crop),
        ("steps", f"{training.steps:,}, batch {settings.get('batch_size')}"),
        (
            "learning rate",
            f"{settings.get('lr', 0):g} peak (Adam), {settings.get('warmup_steps')} warm-up steps, cosine decay",
        ),
        ("loss", loss),
        ("seed", str(settings.get("seed"))),
        (
            "final training loss",
            f"{final:.4g} (average over the last logged steps)"
            if final is not None and math.isfinite(final)
            else "not recorded",
        ),
        ("training time", _duration(training.seconds)),
    ]
    return [
        "Trained with:",
        "",
        "```bash",
        training_command(settings, push_to_hub=training.push_to_hub),
        "```",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in rows),
        "",
    ]


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 60:
        return f"{minutes:.1f} min"
    return f"{int(minutes // 60)} h {int(minutes % 60)} min"


def _quote(text: str) -> str:
    return shlex.quote(text)


def _family_tags(folder: Path) -> tuple[str, ...]:
    """The tags a card for ``folder`` would get, for the error message (best effort: config may be broken)."""
    import json

    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        model_type = None
    family = family_of(str(model_type))
    return family.tags if family else (LIBRARY_NAME,)
