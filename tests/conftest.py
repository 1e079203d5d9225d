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
"""Shared fixtures: real prepared datasets, cached under ``<repo>/data/`` (git-ignored).

The first session downloads the source packages (~26 MB, into ``~/.cache/monai-mamba-zoo/sources``) and writes
the datasets; later sessions only verify the folders against their checksums (well under a second).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

# Without a GPU the Triton kernels are tested in Triton's interpreter, which must be on before triton is first
# imported (its standard library is decorated at import, and importing monai or torchvision imports triton).
# It stays on for the whole session: only this project's Triton backend reads it.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"


def load_prepare_data() -> ModuleType:
    """Import scripts/prepare_data.py once (it is a script, not a package module)."""
    if "prepare_data" in sys.modules:
        return sys.modules["prepare_data"]
    spec = importlib.util.spec_from_file_location("prepare_data", REPO_ROOT / "scripts" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["prepare_data"] = module  # one module object, so SourceError etc. compare equal everywhere
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def prepare_data() -> ModuleType:
    """The scripts/prepare_data.py module."""
    return load_prepare_data()


@pytest.fixture(scope="session")
def nuclei2d_dir(prepare_data) -> Path:
    """Prepared nuclei2d dataset folder (DSB2018 quadrants + ndev frames), see docs/CONTRACTS.md."""
    return prepare_data.prepare_nuclei2d(DATA_DIR / "nuclei2d")


@pytest.fixture(scope="session")
def brain2d_dir(prepare_data) -> Path:
    """Prepared brain2d dataset folder (Colin27 T1 axial slices + grouped AAL labels), see docs/CONTRACTS.md."""
    return prepare_data.prepare_brain2d(DATA_DIR / "brain2d")


@pytest.fixture(scope="session")
def cxr_reports_dir(prepare_data) -> Path:
    """Prepared cxr_reports (IU chest X-ray reports + vocabulary, the MiniLM text encoder, one CXR DICOM)."""
    return prepare_data.prepare("cxr_reports", DATA_DIR / "cxr_reports")


def prepared_raw_dataset(name: str) -> Path:
    """A dataset of scripts/prepare_data.py in nnU-Net v2's raw layout, prepared once under data/<name>."""
    return load_prepare_data().prepare(name, DATA_DIR / name)


@pytest.fixture(scope="session")
def lesion_mr_dir() -> Path:
    """Prepared lesion_mr (2 brain + 1 breast MRI lesion cases, NRRD, nnU-Net v2 raw layout)."""
    return prepared_raw_dataset("lesion_mr")


@pytest.fixture(scope="session")
def nuclei3d_dir() -> Path:
    """Prepared nuclei3d (four 60x128x128 quadrants of a 3D nuclei volume, 3D TIFF, nnU-Net v2 raw layout)."""
    return prepared_raw_dataset("nuclei3d")


@pytest.fixture(scope="session")
def brainregions_dir(prepare_data) -> Path:
    """Prepared brainregions (32x32 Colin27 patches in the 116 AAL regions; MNI152 test set), a classification set."""
    return prepare_data.prepare("brainregions", DATA_DIR / "brainregions")


@pytest.fixture(scope="session")
def brainregions3d_dir(prepare_data) -> Path:
    """Prepared brainregions3d (24x24x24 patches of the same sources)."""
    return prepare_data.prepare("brainregions3d", DATA_DIR / "brainregions3d")
