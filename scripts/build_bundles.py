# Copyright (c) 2026 MONAI Mamba Zoo contributors
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#     http://www.apache.org/licenses/LICENSE-2.0
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Compose the standalone bundle configs from the shared fragments in ``configs/``.

Sources (edit these, not the generated files):

- ``configs/segmentation_2d/{train,evaluate,inference}.json``: the generic 2D segmentation workflow, written once for
  every bundle, with the package's shared ``networks/configs/shared/{multi_gpu_train.json,logging.conf}`` (also used
  by autoseg's generated bundles); ``common.json`` holds the ids that both standalone
  files (``train.json``, ``inference.json``) need (paths, data geometry, normalisation, device, network, sliding
  window), written once and merged into each of them after their ``imports``;
- ``configs/instance_2d/``: the instance segmentation (Mask R-CNN) workflow, chosen by a bundle's ``"workflow"``;
  the files it lacks (``multi_gpu_train.json``, ``logging.conf``) are the shared ones;
- ``configs/classification/``: the patch classification workflow (2D or 3D, class names read from the bundle's
  ``metadata.json``), with its own ``multi_gpu_train.json``; the shared ``logging.conf``;
- ``configs/vision_language/``: image-text pretraining (``generate``, ``train``, ``zeroshot``, ``grounding``, each
  standalone with ``common.json`` merged in; ``inference.json``, ``calibrate.json`` and ``text_zeroshot.json`` are
  composed from the ``zeroshot`` template, the bundle's sections pointing it at a folder of radiographs, at the
  validation phantoms with the calibration fitted, or at the test reports through the text tower); the shared
  ``logging.conf``;
- ``networks/configs/network_def/<name>.json`` (in the package): network choices (``network_def``), also stackable
  at run time;
- ``configs/bundles/<bundle>/bundle.json``: per bundle, the workflow (default ``segmentation_2d``), the default
  network (if any), a ``common`` section of ids set in every standalone config (``train.json`` and
  ``inference.json``; ``evaluate``/``multi_gpu_train`` stack on ``train.json`` and inherit them) and, per config
  file, the ids (``#``-paths, as on the ``monai.bundle`` command line) whose values differ from the workflow.

- ``configs/bundles/<bundle>/card.json``: what model-zoo's README template asks for and ``metadata.json`` does not
  hold: tags, the training command that writes ``models/model.pt``, and the model-zoo CI checks the bundle is excluded
  from, with the reason.

Output: ``bundle/<bundle>/configs/*.json`` and ``logging.conf``, self-contained (MONAI Label and the
model-zoo copy a bundle folder alone), in the JSON layout of model-zoo's ``pretty-format-json --indent=4`` hook; and
the model-zoo card at the top of ``docs/README.md`` (authors, tags, model description, performance, system
configuration, CI exclusions), rendered from the bundle's hand-written ``metadata.json`` and ``card.json``.

Usage::

    python scripts/build_bundles.py build            # all bundles
    python scripts/build_bundles.py build --names swin_umamba_brain_segmentation
    python scripts/build_bundles.py check            # exit 1 if a generated file is out of date
"""

from __future__ import annotations

import json
import os
import sys

import fire

from networks.apps.bundle_config import ConfigComposer, load_template, render_config, template_file

__all__ = ["compose", "build", "check"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
WORKFLOW_DIR = os.path.join(CONFIGS, "segmentation_2d")
WORKFLOW_FILES = ("train", "evaluate", "inference", "multi_gpu_train")
STANDALONE_FILES = ("train", "inference")  # files that define network_def and the shared keys
# workflows with other config files: (files, standalone files)
_VLP_FILES = ("generate", "train", "zeroshot", "calibrate", "text_zeroshot", "grounding", "inference")
WORKFLOW_LAYOUTS = {
    "vision_language": (_VLP_FILES, _VLP_FILES),
    "instance_2d": (WORKFLOW_FILES + ("large_image",), STANDALONE_FILES),  # large_image stacks on inference
}
# files composed from another file's template (the bundle's section then sets what differs)
TEMPLATE_OF = {("vision_language", stem): "zeroshot" for stem in ("inference", "calibrate", "text_zeroshot")}
COMMON_FILE = os.path.join(WORKFLOW_DIR, "common.json")


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _workflow_template(workflow: str, name: str) -> dict:
    """A workflow's own JSON template, else the generic segmentation one, else the package's shared one."""
    path = _workflow_file(workflow, name)
    return _load(path) if os.path.isfile(path) else load_template("shared", name)


def _workflow_file(workflow: str, name: str) -> str:
    """A workflow's own template, else the generic segmentation one, else the package's shared one (its name)."""
    for folder in (os.path.join(CONFIGS, workflow), WORKFLOW_DIR):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return f"networks/configs/shared/{name}"


def compose(bundle: str) -> dict[str, ConfigComposer]:
    """
    Compose the configs of one bundle.

    Args:
        bundle: bundle name, a folder under ``configs/bundles``.

    Returns:
        mapping of file stem (``"train"``...) to its composer (``.config``, ``.provenance()``).
    """
    spec_path = os.path.join(CONFIGS, "bundles", bundle, "bundle.json")
    spec = _load(spec_path)
    workflow = spec.get("workflow", "segmentation_2d")
    files, standalone = WORKFLOW_LAYOUTS.get(workflow, (WORKFLOW_FILES, STANDALONE_FILES))
    unknown = set(spec) - {"workflow", "network", "common", *files}
    if unknown:
        raise KeyError(
            f"{spec_path}: unknown sections {sorted(unknown)}; expected 'workflow', 'network', 'common' and {files}."
        )
    network = load_template("network_def", f"{spec['network']}.json") if "network" in spec else {}
    network_source = f"networks/configs/network_def/{spec.get('network')}.json"
    common_file = _workflow_file(workflow, "common.json")
    out = {}
    for stem in files:
        name = f"{TEMPLATE_OF.get((workflow, stem), stem)}.json"
        composer = ConfigComposer(_workflow_template(workflow, name), _relative(_workflow_file(workflow, name)))
        if stem in standalone:
            composer.add(_load(common_file), _relative(common_file), after_imports=True)
            composer.override(network, network_source)
            composer.override(spec.get("common", {}), f"{_relative(spec_path)} [common]")
        composer.override(spec.get(stem, {}), f"{_relative(spec_path)} [{stem}]")
        out[stem] = composer
    return out


def _relative(path: str) -> str:
    """A template's path as the repository names it (package templates are already relative)."""
    return os.path.relpath(path, REPO) if os.path.isabs(path) else path


CARD_BEGIN, CARD_END = "<!-- model-zoo card (scripts/build_bundles.py) -->", "<!-- /model-zoo card -->"
ZOO_CHECKS = {"torchscript": "TorchScript (`ckpt_export`)", "data_shape": "data shape (`verify_net_in_out`)"}


def _metric(value) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def render_card(meta: dict, card: dict) -> str:
    """The model-zoo README template's sections, from ``metadata.json`` and ``card.json`` (one source for each fact)."""
    metrics = {k: v for k, v in meta.get("eval_metrics", {}).items() if k != "note"}
    performance = ", ".join(f"{k} {_metric(v)}" for k, v in metrics.items())
    note = meta.get("eval_metrics", {}).get("note", "")
    performance = f"{performance} ({note})" if performance and note else performance or note
    packages = {**meta.get("optional_packages_version", {}), **meta.get("required_packages_version", {})}
    checks = [f"- {ZOO_CHECKS[k]}: {card['model_zoo'][k]}" for k in ZOO_CHECKS if k in card.get("model_zoo", {})]
    checks = checks or ["- none: every check of model-zoo's `ci/verify_bundle.py` applies (TorchScript by scripting)."]
    lines = [
        CARD_BEGIN,
        "**Weights.** No `models/model.pt` ships with this bundle (nowhere can host weights from here): its own "
        f"training writes it, `{card['train_command']}` (from the bundle folder; `DATA` as under Data).",
        "",
        "### Authors",
        meta["authors"],
        "",
        "### Tags",
        ", ".join(card["tags"]),
        "",
        "## Model Description",
        meta["description"],
        "",
        "## Performance",
        f"{performance}. The sections below give each number's command." if performance else "See below.",
        "",
        "## System Configuration",
        f"Tested with Python {card.get('python_version', '3.11')}, MONAI {meta['monai_version']}, PyTorch "
        f"{meta['pytorch_version']}, NumPy {meta['numpy_version']} and "
        + ", ".join(f"{k} {v}" for k, v in packages.items() if k != "monai-mamba-zoo")
        + "; trains and infers on a CPU (2 cores in our runs) or a CUDA GPU. The network code is this repository's "
        "`networks` package (`pip install` of the repository; it is not on PyPI).",
        "",
        "### Model-zoo CI exclusions",
        *checks,
        CARD_END,
    ]
    return "\n".join(lines) + "\n"


def _with_card(readme: str, card: str) -> str:
    """``readme`` with its card replaced, or inserted after the title line."""
    if CARD_BEGIN in readme and CARD_END in readme:
        end = readme.index(CARD_END) + len(CARD_END) + 1
        return readme[: readme.index(CARD_BEGIN)] + card + readme[end:]
    title, rest = readme.split("\n", 1)
    return f"{title}\n\n{card}{rest}"


def _outputs(bundle: str) -> dict[str, str]:
    composed = compose(bundle)
    files = {f"configs/{stem}.json": render_config(c.config) + "\n" for stem, c in composed.items()}
    sources = {f"{stem}.json": c.provenance() for stem, c in composed.items()}
    files["docs/config_sources.json"] = render_config(sources) + "\n"
    files["configs/logging.conf"] = template_file("shared", "logging.conf").read_text()
    meta = _load(os.path.join(REPO, "bundle", bundle, "configs", "metadata.json"))
    card = render_card(meta, _load(os.path.join(CONFIGS, "bundles", bundle, "card.json")))
    with open(os.path.join(REPO, "bundle", bundle, "docs", "README.md")) as f:
        files["docs/README.md"] = _with_card(f.read(), card)
    return files


def _bundles(names: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if names is None:
        return sorted(os.listdir(os.path.join(CONFIGS, "bundles")))
    return [names] if isinstance(names, str) else list(names)


def build(names: str | list[str] | None = None) -> list[str]:
    """
    Write ``bundle/<name>/configs/*`` and ``docs/config_sources.json`` for the given bundles (default: every folder
    of ``configs/bundles``).

    Args:
        names: bundle name(s).

    Returns:
        the paths written.
    """
    written = []
    for bundle in _bundles(names):
        for name, text in _outputs(bundle).items():
            path = os.path.join(REPO, "bundle", bundle, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
            written.append(os.path.relpath(path, REPO))
    return written


def check(names: str | list[str] | None = None) -> list[str]:
    """
    List generated files that differ from what ``build`` would write; exits with status 1 if any do.

    Args:
        names: bundle name(s).
    """
    stale = []
    for bundle in _bundles(names):
        for name, text in _outputs(bundle).items():
            path = os.path.join(REPO, "bundle", bundle, name)
            if not os.path.isfile(path) or open(path).read() != text:
                stale.append(os.path.relpath(path, REPO))
    if stale:
        print("out of date (run: python scripts/build_bundles.py build):\n  " + "\n  ".join(stale), file=sys.stderr)
        sys.exit(1)
    return stale


if __name__ == "__main__":
    fire.Fire({"build": build, "check": check})
