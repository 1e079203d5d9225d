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
"""Shared fixtures: real prepared datasets, cached under ``<repo>/data/`` (git-ignored), and what several test
modules train, built once per test run.

The first session downloads the source packages (~26 MB, into ``~/.cache/monai-mamba-zoo/sources``) and writes
the datasets; later sessions only verify the folders against their checksums (well under a second). With
``pytest -n 2`` (pytest-xdist, what ``make test`` runs) the workers share both: a file lock lets one worker
prepare a dataset or train a model while the other waits for it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch
from filelock import FileLock

# Without a GPU the Triton kernels are tested in Triton's interpreter, which must be on before triton is first
# imported (its standard library is decorated at import, and importing monai or torchvision imports triton).
# It stays on for the whole session: only this project's Triton backend reads it.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# Under pytest-xdist each of the (two) workers gets one core's worth of threads: two workers on 2 cores with
# torch's default of one thread per core would contend for the cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
    os.environ.update(OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")  # for numba here and every subprocess

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"


def load_prepare_data() -> ModuleType:
    """The dataset preparation module (``zoo-prepare-data``)."""
    return importlib.import_module("networks.apps.prepare_data")


def prepared(name: str) -> Path:
    """``data/<name>`` prepared by ``zoo-prepare-data``. One preparation at a time: concurrent test workers wait
    for each other (two would write the same folder, or download the same source package)."""
    DATA_DIR.mkdir(exist_ok=True)
    with FileLock(str(DATA_DIR / ".prepare.lock")):
        return Path(load_prepare_data().prepare(name, DATA_DIR / name))


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that ``build(folder)`` fills once per test run, shared by the test workers of the run (``pytest -n``);
    a build that failed is tried again by the next test that asks. Tests that change what is inside copy it first."""
    base = factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "built_once"
    root.mkdir(exist_ok=True)
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (folder / ".complete").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".complete").touch()
    return folder


@pytest.fixture(scope="session")
def prepare_data() -> ModuleType:
    """The dataset builders' package (``networks.data.datasets``: registry, layout, sources)."""
    return importlib.import_module("networks.data.datasets")


@pytest.fixture(scope="session")
def nuclei2d_dir() -> Path:
    """Prepared nuclei2d dataset folder (DSB2018 quadrants + ndev frames), see docs/CONTRACTS.md."""
    return prepared("nuclei2d")


@pytest.fixture(scope="session")
def brain2d_dir() -> Path:
    """Prepared brain2d dataset folder (Colin27 T1 axial slices + grouped AAL labels), see docs/CONTRACTS.md."""
    return prepared("brain2d")


@pytest.fixture(scope="session")
def cxr_reports_dir() -> Path:
    """Prepared cxr_reports (IU chest X-ray reports + vocabulary, the MiniLM text encoder, one CXR DICOM)."""
    return prepared("cxr_reports")


def prepared_raw_dataset(name: str) -> Path:
    """A dataset of networks.apps.prepare_data in nnU-Net v2's raw layout, prepared once under data/<name>."""
    return prepared(name)


@pytest.fixture(scope="session")
def lesion_mr_dir() -> Path:
    """Prepared lesion_mr (2 brain + 1 breast MRI lesion cases, NRRD, nnU-Net v2 raw layout)."""
    return prepared_raw_dataset("lesion_mr")


@pytest.fixture(scope="session")
def nuclei3d_dir() -> Path:
    """Prepared nuclei3d (four 60x128x128 quadrants of a 3D nuclei volume, 3D TIFF, nnU-Net v2 raw layout)."""
    return prepared_raw_dataset("nuclei3d")


@pytest.fixture(scope="session")
def brainregions_dir() -> Path:
    """Prepared brainregions (32x32 Colin27 patches in the 116 AAL regions; MNI152 test set), a classification set."""
    return prepared("brainregions")


@pytest.fixture(scope="session")
def brainregions3d_dir() -> Path:
    """Prepared brainregions3d (24x24x24 patches of the same sources)."""
    return prepared("brainregions3d")


@pytest.fixture(scope="session")
def nuclei_trained(tmp_path_factory, nuclei2d_dir) -> Path:
    """The nuclei bundle trained for two tiny epochs (reduced-width Swin-UMamba, 64x64 patches) on 2 real cases with
    validation on 1, once per test run: ``<folder>/swin_umamba_nuclei_segmentation`` (the trained copy),
    ``<folder>/data`` (its dataset.json) and ``<folder>/console.txt`` (what the training printed, not a terminal).
    Copy the bundle before changing it."""
    from tests.bundle_helpers import TINY_NET, TINY_TRAIN, check_ok, copy_bundle, run_bundle, subset_dataset

    def build(folder: Path) -> None:
        bundle = copy_bundle("swin_umamba_nuclei_segmentation", folder)
        data = subset_dataset(nuclei2d_dir, folder / "data")
        proc = run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), *TINY_TRAIN[:-1], "2", *TINY_NET)
        check_ok(proc)
        (folder / "console.txt").write_text(proc.stdout + proc.stderr)

    return built_once(tmp_path_factory, "nuclei_trained", build)


# The longest test files, longest first (measured: docs/testing.md). Run first, so that the two workers of
# `make test` (one file at a time each) do not end with one of them alone on a long file.
LONGEST_FIRST = (
    "test_autoseg_train.py",
    "test_monailabel.py",
    "test_bundle_maskrcnn.py",
    "test_bundle_aam.py",
    "test_wheel_install.py",
    "test_autoseg_plan.py",
    "test_bundle_vlp.py",
    "test_bundle_nuclei.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's own order is kept
