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
"""Run nnunetv2 2.8.1 (in its own cached venv, never a dependency) on a dataset and compare it with ours.

Usage::

    python -m networks.apps.nnunet_reference venv
    python -m networks.apps.nnunet_reference run --dataset_dir RAW --out_dir REF [--planner default|resenc_m]
    python -m networks.apps.nnunet_reference compare --work_dir WORK --ref_dir REF [--planner default|resenc_m]
    python -m networks.apps.nnunet_reference plan_variant --ref_dir REF --plans_name NAME [--gpu_memory_target 24]
    python -m networks.apps.nnunet_reference reference_files --ref_dir REF --out_dir tests/data/nnunetv2_2.8.1/NAME

``run`` links ``RAW`` as ``REF/raw/Dataset999_<name>`` and runs ``nnUNetv2_extract_fingerprint
--verify_dataset_integrity``, ``nnUNetv2_plan_experiment`` and ``nnUNetv2_preprocess``, timing each, into
``REF/timings.json``. ``compare`` lists every difference between our ``dataset_fingerprint.json``/``plans.json``/
preprocessed cases and nnunetv2's, key by key (floats to 1e-6 relative), as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from networks.apps.cached_venv import TORCH_REQUIREMENTS, cached_venv

NNUNET_VERSION = "2.8.1"
DEFAULT_VENV = os.environ.get("ZOO_NNUNET_VENV", f"~/.cache/monai-mamba-zoo/venv-nnunetv2-{NNUNET_VERSION}")
DATASET_ID = 999
PLANNER_ARGS = {
    "default": ("ExperimentPlanner", "nnUNetPlans"),
    "resenc_m": ("nnUNetPlannerResEncM", "nnUNetResEncUNetMPlans"),
}
IGNORED_PLAN_KEYS = {"dataset_name"}  # nnunetv2 names datasets Dataset<ID>_<name>


def venv(path: str | None = None) -> str:
    """Build (once) or reuse the nnunetv2 venv and return its python."""
    spec = {"torch": TORCH_REQUIREMENTS, "nnunetv2": [f"nnunetv2=={NNUNET_VERSION}"]}
    return cached_venv(path or DEFAULT_VENV, spec)


def _timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n" f"{proc.stderr[-3000:]}"
        )
    return time.perf_counter() - start


def run(
    dataset_dir: str,
    out_dir: str,
    planner: str = "default",
    num_processes: int = 2,
    configurations: str | None = None,
    python: str | None = None,
) -> dict:
    """Fingerprint, plan and preprocess ``dataset_dir`` with nnunetv2; return and save the step timings."""
    python = python or venv()
    bin_dir = Path(python).parent
    dataset_dir, out = Path(dataset_dir).resolve(), Path(out_dir).resolve()
    name = f"Dataset{DATASET_ID:03d}_{dataset_dir.name}"
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    link = raw / name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(dataset_dir, target_is_directory=True)
    env = dict(
        os.environ,
        nnUNet_raw=str(raw),
        nnUNet_preprocessed=str(out / "preprocessed"),
        nnUNet_results=str(out / "results"),
        nnUNet_def_n_proc=str(num_processes),
        PYTHONWARNINGS="ignore",
    )
    class_name, plans_name = PLANNER_ARGS[planner]
    did = str(DATASET_ID)
    timings = {
        "fingerprint": _timed(
            [
                str(bin_dir / "nnUNetv2_extract_fingerprint"),
                "-d",
                did,
                "-np",
                str(num_processes),
                "--verify_dataset_integrity",
                "--clean",
            ],
            env,
        ),
        "plan": _timed([str(bin_dir / "nnUNetv2_plan_experiment"), "-d", did, "-pl", class_name], env),
    }
    plans = json.loads((out / "preprocessed" / name / f"{plans_name}.json").read_text())
    configs = (
        configurations.split(",")
        if configurations
        else [c for c, v in plans["configurations"].items() if "data_identifier" in v]
    )
    timings["preprocess"] = _timed(
        [
            str(bin_dir / "nnUNetv2_preprocess"),
            "-d",
            did,
            "-plans_name",
            plans_name,
            "-c",
            *configs,
            "-np",
            *[str(num_processes)] * len(configs),
        ],
        env,
    )
    timings.update(configurations=configs, dataset=name, planner=planner, num_processes=num_processes)
    (out / f"timings_{planner}.json").write_text(json.dumps(timings, indent=1))
    return timings


def differences(ours, theirs, path: str = "", rtol: float = 1e-6) -> list[dict]:
    """Every key where two JSON documents differ (floats to ``rtol``), as ``{"key", "ours", "nnunetv2"}``."""
    out: list[dict] = []
    _diff(ours, theirs, path, out, rtol)
    return out


def plan_variant(
    ref_dir: str,
    plans_name: str,
    planner: str = "default",
    gpu_memory_target: float | None = None,
    overwrite_target_spacing: str | None = None,
    python: str | None = None,
) -> Path:
    """Re-plan a dataset already run with ``run`` using nnunetv2's non-default options; return the plans file.

    ``overwrite_target_spacing`` is "z,y,x" (array order); the plans are named ``plans_name``.
    """
    python = python or venv()
    ref = Path(ref_dir).resolve()
    env = dict(
        os.environ,
        nnUNet_raw=str(ref / "raw"),
        nnUNet_preprocessed=str(ref / "preprocessed"),
        nnUNet_results=str(ref / "results"),
        PYTHONWARNINGS="ignore",
    )
    cmd = [
        str(Path(python).parent / "nnUNetv2_plan_experiment"),
        "-d",
        str(DATASET_ID),
        "-pl",
        PLANNER_ARGS[planner][0],
        "-overwrite_plans_name",
        plans_name,
    ]
    if gpu_memory_target is not None:
        cmd += ["-gpu_memory_target", str(gpu_memory_target)]
    if overwrite_target_spacing:
        spacing = overwrite_target_spacing  # fire turns "3,1,1" into a tuple
        values = spacing.split(",") if isinstance(spacing, str) else spacing
        cmd += ["-overwrite_target_spacing", *[str(float(v)) for v in values]]
    _timed(cmd, env)
    return next((ref / "preprocessed").iterdir()) / f"{plans_name}.json"


def _diff(ours, theirs, path: str, out: list, rtol: float = 1e-6) -> None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            if key in IGNORED_PLAN_KEYS:
                continue
            if key not in ours or key not in theirs:
                out.append(
                    {
                        "key": f"{path}.{key}",
                        "ours": ours.get(key, "<missing>"),
                        "nnunetv2": theirs.get(key, "<missing>"),
                    }
                )
            else:
                _diff(ours[key], theirs[key], f"{path}.{key}", out, rtol)
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _diff(a, b, f"{path}[{i}]", out, rtol)
    elif isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and not isinstance(ours, bool):
        if not (ours == theirs or abs(ours - theirs) <= rtol * max(abs(ours), abs(theirs))):
            out.append({"key": path, "ours": ours, "nnunetv2": theirs})
    elif ours != theirs:
        out.append({"key": path, "ours": ours, "nnunetv2": theirs})


COMPARE_CASES = r"""
import json, pickle, sys
from pathlib import Path
import blosc2, numpy as np
ours, theirs = Path(sys.argv[1]), Path(sys.argv[2])
result = {}
for props_file in sorted(theirs.glob("*.pkl")):
    case = props_file.stem
    if not (ours / f"{case}.json").is_file():
        result[case] = "missing in ours"
        continue
    a = np.load(ours / f"{case}.npy"); b = blosc2.open(str(theirs / f"{case}.b2nd"), mode="r")[:]
    sa = np.load(ours / f"{case}_seg.npy"); sb = blosc2.open(str(theirs / f"{case}_seg.b2nd"), mode="r")[:]
    pa = json.loads((ours / f"{case}.json").read_text()); pb = pickle.loads(props_file.read_bytes())
    entry = {"shape": [list(a.shape), list(b.shape)], "seg_shape": [list(sa.shape), list(sb.shape)]}
    if a.shape == b.shape:
        entry["data_max_abs_diff"] = float(np.abs(a - b).max())
        entry["data_max_abs"] = float(np.abs(b).max())
    if sa.shape == sb.shape:
        entry["seg_voxels_different"] = int((sa != sb).sum())
    for key in ("shape_before_cropping", "bbox_used_for_cropping", "shape_after_cropping_and_before_resampling"):
        entry[key + "_equal"] = [list(map(int, np.ravel(x))) for x in [pa[key]]] == [list(map(int, np.ravel(x)))
                                                                                      for x in [pb[key]]]
    locs = np.load(ours / f"{case}_locations.npz")
    entry["class_locations_equal"] = all(np.array_equal(locs[f"class_{k}"], np.asarray(v).reshape(-1, 4)
                                                        if len(v) else np.zeros((0, 4), int))
                                         for k, v in pb["class_locations"].items())
    result[case] = entry
print(json.dumps(result))
"""


def compare(
    work_dir: str, ref_dir: str, planner: str = "default", python: str | None = None, cases: bool = True
) -> dict:
    """Differences between our outputs in ``work_dir`` and nnunetv2's in ``ref_dir`` (see the module docstring)."""
    work, ref = Path(work_dir), Path(ref_dir)
    pre = next((ref / "preprocessed").iterdir())
    _, plans_name = PLANNER_ARGS[planner]
    ours_fp, theirs_fp = (
        json.loads(p.read_text()) for p in (work / "dataset_fingerprint.json", pre / "dataset_fingerprint.json")
    )
    ours_fp.pop("cases", None)
    report = {"fingerprint": differences(ours_fp, theirs_fp, "fingerprint"), "plans": [], "cases": {}}
    plans_file = work / ("plans.json" if planner == "default" else f"plans_{planner}.json")
    ours_plans, theirs_plans = json.loads(plans_file.read_text()), json.loads((pre / f"{plans_name}.json").read_text())
    report["plans"] = differences(ours_plans, theirs_plans, "plans")
    if cases:
        python = python or venv()
        for name, config in theirs_plans["configurations"].items():
            identifier = config.get("data_identifier")
            if identifier and (pre / identifier).is_dir() and identifier not in report["cases"]:
                proc = subprocess.run(
                    [python, "-c", COMPARE_CASES, str(work / identifier), str(pre / identifier)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                report["cases"][identifier] = json.loads(proc.stdout)
    return report


SUMMARISE_CASES = r"""
import json, pickle, sys
from pathlib import Path
import blosc2, numpy as np
folder = Path(sys.argv[1])
out = {}
for props_file in sorted(folder.glob("*.pkl")):
    case = props_file.stem
    data = blosc2.open(str(folder / f"{case}.b2nd"), mode="r")[:].astype(np.float64)
    seg = blosc2.open(str(folder / f"{case}_seg.b2nd"), mode="r")[:]
    props = pickle.loads(props_file.read_bytes())
    values, counts = np.unique(seg, return_counts=True)
    out[case] = {"shape": list(data.shape), "sum": float(data.sum()), "sum_of_squares": float((data ** 2).sum()),
                 "seg_counts": {str(int(v)): int(c) for v, c in zip(values, counts)},
                 "bbox_used_for_cropping": [list(map(int, b)) for b in props["bbox_used_for_cropping"]],
                 "num_class_locations": {str(k): len(v) for k, v in props["class_locations"].items()}}
print(json.dumps(out))
"""


def reference_files(ref_dir: str, out_dir: str, python: str | None = None) -> None:
    """Copy nnunetv2's fingerprint and plans, and summaries of its preprocessed cases, into ``out_dir``.

    The test suite compares ours against these files without running nnunetv2 (tests/data/nnunetv2_2.8.1/).
    """
    python = python or venv()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for pre in (Path(ref_dir) / "preprocessed").iterdir():
        for name in ("dataset_fingerprint.json", "nnUNetPlans.json", "nnUNetResEncUNetMPlans.json"):
            if (pre / name).is_file():
                (out / name).write_text((pre / name).read_text())
        for folder in sorted(p for p in pre.iterdir() if p.is_dir()):
            proc = subprocess.run(
                [python, "-c", SUMMARISE_CASES, str(folder)], capture_output=True, text=True, check=True
            )
            (out / f"{folder.name}.json").write_text(json.dumps(json.loads(proc.stdout), indent=1) + "\n")


def main() -> None:
    import fire

    fire.Fire(
        {
            "venv": venv,
            "run": run,
            "compare": lambda **kw: print(json.dumps(compare(**kw), indent=1)),
            "reference_files": reference_files,
            "plan_variant": plan_variant,
        }
    )


if __name__ == "__main__":
    main()
