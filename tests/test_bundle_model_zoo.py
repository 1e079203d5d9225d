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
"""What MONAI model-zoo's own bundle CI checks of a bundle's files, kept in our CI (model-zoo's scripts themselves are
run by hand, docs/CONTRACTS.md): its pre-commit hooks, ``verify_bundle``'s directory and version checks, and the
requirement pins ``ci/get_bundle_requirements.py`` installs. The network checks (metadata schema, data shape,
TorchScript export) run in each bundle's own test file, through ``python -m monai.bundle``."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLES = sorted(p.name for p in (REPO / "bundle").iterdir() if (p / "configs" / "metadata.json").is_file())
TEMPLATE_SECTIONS = ("### Authors", "### Tags", "## Model Description", "## Data", "## Performance")


def _tracked(bundle: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", f"bundle/{bundle}"], cwd=REPO, capture_output=True, text=True, check=True)
    return [REPO / line for line in out.stdout.splitlines()]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


@pytest.mark.parametrize("bundle", BUNDLES)
def test_pre_commit_hooks_pass(bundle):
    """pretty-format-json --indent=4 --no-sort-keys, end-of-file-fixer, trailing-whitespace, check-added-large-files
    (1024 kB), mixed-line-ending."""
    problems = []
    for path in _tracked(bundle):
        data, name = path.read_bytes(), path.relative_to(REPO)
        if len(data) > 1024 * 1024:
            problems.append(f"{name}: {len(data) // 1024} kB is over the 1024 kB limit")
        if not data:
            continue
        text = data.decode()
        if path.suffix == ".json" and text != json.dumps(json.loads(text), indent=4) + "\n":
            problems.append(f"{name}: not in pretty-format-json --indent=4 layout")
        if not text.endswith("\n") or text.endswith("\n\n"):
            problems.append(f"{name}: must end with exactly one newline")
        if any(line != line.rstrip() for line in text.split("\n")):
            problems.append(f"{name}: trailing whitespace")
        if "\r" in text:
            problems.append(f"{name}: CR line endings")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("bundle", BUNDLES)
def test_verify_bundle_directory_version_and_requirements(bundle):
    root = REPO / "bundle" / bundle
    assert (root / "LICENSE").is_file() and (root / "configs" / "inference.json").is_file()
    meta = json.loads((root / "configs" / "metadata.json").read_text())
    assert meta["version"] in meta["changelog"]
    # MONAI 1.6 reads optional_packages_version as required_packages_version, replacing it: keep only the latter
    assert "optional_packages_version" not in meta
    pins = _constraints()
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    pins[setup["metadata"]["name"]] = setup["metadata"]["version"]
    wanted = {"monai": meta["monai_version"], "torch": meta["pytorch_version"], "numpy": meta["numpy_version"]}
    wanted.update({k.lower(): v for k, v in meta["required_packages_version"].items()})
    assert {k: pins.get(k) for k in wanted} == wanted  # the versions this repository is tested with


@pytest.mark.parametrize("bundle", BUNDLES)
def test_readme_has_the_model_zoo_template_sections(bundle):
    readme = (REPO / "bundle" / bundle / "docs" / "README.md").read_text()
    first = readme.split("\n## ", 1)[0]
    assert "models/model.pt" in first and "training writes it" in first  # where the weights come from, up front
    positions = [readme.find(section) for section in (*TEMPLATE_SECTIONS, "## System Configuration")]
    assert -1 not in positions, [s for s, p in zip(TEMPLATE_SECTIONS, positions) if p == -1]
