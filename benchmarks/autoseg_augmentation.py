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
"""Where autoseg's training loader spends its time: each transform of a generated bundle's training chain, timed
in one process (``num_workers 0``, one thread), on the patches the bundle's own sampler draws.

Usage::

    python benchmarks/autoseg_augmentation.py run --work_dir WORK --configuration 3d_fullres --label after
    python benchmarks/autoseg_augmentation.py report

``WORK`` is an autoseg work folder with the configuration preprocessed and its splits (e.g. the ``ours`` folder of
a ``benchmarks/autoseg_vs_nnunet.py run``). The bundle is written anew from the code that is imported, so running
this file with ``PYTHONPATH`` pointing at another checkout times that checkout's augmentation (its commit is
recorded). Results: ``docs/results/autoseg_augmentation.json`` (one entry per ``--label``), rendered into
``docs/autoseg.md`` between its ``autoseg_augmentation`` markers by ``report``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import fire

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results" / "autoseg_augmentation.json"


def _commit_of(folder: Path) -> str:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True).stdout
    return head + ("+uncommitted" if dirty.strip() else "")


def _cpu() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.machine())


class _Timed:
    """A transform of the chain, with the seconds it took added to ``totals[name]``."""

    def __init__(self, transform, name: str, totals: dict) -> None:
        self.transform, self.name, self.totals = transform, name, totals

    def __call__(self, data):
        start = time.perf_counter()
        out = self.transform(data)
        self.totals[self.name] += time.perf_counter() - start
        return out


def run(work_dir: str, configuration: str = "3d_fullres", fold: int = 0, patches: int = 400, label: str = "current",
        results: str = str(RESULTS)) -> None:  # fmt: skip
    """Time ``patches`` training patches through the bundle's ``train#dataset`` (sampling, then every transform)."""
    import torch
    from monai.utils import set_determinism

    import networks
    from networks.apps.autoseg import WorkFolder
    from networks.apps.autoseg.training.train import train_parser

    torch.set_num_threads(1)
    parser = train_parser(WorkFolder(work_dir), configuration, fold, num_workers=0)  # the imported code's augmentation
    parser.update({"iters_per_epoch": -(-patches // parser.get_parsed_content("batch_size"))})
    dataset = parser.get_parsed_content("train#dataset")
    totals: dict[str, float] = defaultdict(float)
    chain = dataset.transform
    chain.transforms = [_Timed(t, f"{i:02d} {type(t).__name__}", totals) for i, t in enumerate(chain.transforms)]
    set_determinism(0)
    start = time.perf_counter()
    for index in range(patches):
        dataset[index]
    seconds = time.perf_counter() - start
    entry = {
        "command": f"python benchmarks/autoseg_augmentation.py run --configuration {configuration} --fold {fold} "
        f"--patches {patches} --label {label} --work_dir WORK",
        "commit": _commit_of(Path(networks.__file__).resolve().parents[1]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "python": platform.python_version()},
        "work_dir": Path(work_dir).name if Path(work_dir).name != "ours" else Path(work_dir).resolve().parent.name,
        "configuration": configuration,
        "patch_size": parser.get_parsed_content("patch_size"),
        "initial_patch_size": parser.get_parsed_content("initial_patch_size"),
        "patches": patches,
        "seconds": seconds,
        "patches_per_second": patches / seconds,
        "transform_seconds": dict(sorted(totals.items())),
        "sampling_seconds": seconds - sum(totals.values()),
    }
    path = Path(results)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault("experiment", "autoseg_augmentation")
    data.setdefault("targets", {"sections": [["docs/autoseg.md", "autoseg_augmentation"]]})
    data.setdefault("runs", {})[label] = entry
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(entry, indent=1))


def report(results: str = str(RESULTS)) -> None:
    """Render the runs of ``results`` into docs/autoseg.md between ``<!-- autoseg_augmentation -->`` markers
    (:func:`networks.apps.autoseg_tables.augmentation_section`)."""
    from networks.apps.evidence import write_rendered_targets

    write_rendered_targets(REPO, str(Path(results).resolve().relative_to(REPO)))


if __name__ == "__main__":
    fire.Fire({"run": run, "report": report})
