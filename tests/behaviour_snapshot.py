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
"""What a restructuring must not change, as digests: autoseg's plans, preprocessed arrays, one fold's weights after a
short training and its predictions on a small real 3D set (CPU, fixed seeds), and every bundle config.

Record before a change and after it, then compare::

    python -m tests.behaviour_snapshot record --out /tmp/before.json [--autoseg "autoseg"]
    python -m tests.behaviour_snapshot compare /tmp/before.json /tmp/after.json

``--autoseg`` is the command that runs autoseg (it may change with the restructuring). Arrays and weights are
hashed by value (dtype, shape, bytes), JSON files in canonical form, so container details (pickle protocol, TIFF
tags, key order) do not count; generated ``metadata.json`` files are left out (they hold versions and dates).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import fire
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHORT = ["--epochs", "1", "--iters_per_epoch", "2", "--num_workers", "0"]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _array_digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    return _digest(f"{array.dtype.str}{array.shape}".encode() + array.tobytes())


def _json_digest(path: Path, scratch: Path | None = None) -> str:
    """Canonical JSON; paths inside the scratch folder are written relative to it (records sit in other folders)."""
    text = json.dumps(json.loads(path.read_text()), sort_keys=True)
    return _digest((text.replace(str(scratch), "<scratch>") if scratch else text).encode())


def _file_digest(path: Path, scratch: Path | None = None) -> str:
    """By value where the format has one: arrays for .npy/.npz/.tif(f), tensors for .pt, canonical JSON."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_digest(path, scratch)
    if suffix == ".npy":
        return _array_digest(np.load(path))
    if suffix == ".npz":
        with np.load(path) as z:
            return _digest("".join(f"{k}:{_array_digest(z[k])}" for k in sorted(z.files)).encode())
    if suffix in (".tif", ".tiff"):
        import tifffile

        return _array_digest(tifffile.imread(path))
    if suffix == ".pt":
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("model", state) if isinstance(state, dict) else state
        return _digest("".join(f"{k}:{_array_digest(v.numpy())}" for k, v in sorted(state.items())).encode())
    return _digest(path.read_bytes())


def _small_3d_set(out: Path) -> Path:
    """The real nuclei3d cases cropped to 32x64x64 (as tests/test_autoseg_train.py does), the last one held out."""
    import tifffile

    source = REPO / "data" / "nuclei3d"
    if not (source / "dataset.json").is_file():
        raise SystemExit(f"error: {source} is missing: run `python -m networks.apps.prepare_data nuclei3d` first")
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("*.tiff", "checksums*"))
    for path in sorted(source.glob("*Tr/*.tiff")):
        tifffile.imwrite(out / path.parent.name / path.name, tifffile.imread(path)[14:46, 32:96, 32:96])
    return out


def _run(cmd: list[str], cwd: Path) -> None:
    env = dict(os.environ, PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: {shlex.join(cmd)} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")


def record(out: str, autoseg: str = f"{sys.executable} -m networks.apps.autoseg", keep: str | None = None) -> str:
    """Run plan, preprocess, a 1-epoch training of fold 0 (3d_fullres) and its prediction; write the digests."""
    scratch = Path(keep or tempfile.mkdtemp(prefix="behaviour_")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    raw = _small_3d_set(scratch / "raw")
    work, pred = scratch / "work", scratch / "pred"
    command = shlex.split(autoseg)
    _run(command + ["plan", "--dataset_dir", str(raw), "--work_dir", str(work)], REPO)
    _run(command + ["preprocess", "--dataset_dir", str(raw), "--work_dir", str(work)], REPO)
    train = ["train", "--dataset_dir", str(raw), "--work_dir", str(work), "--configuration", "3d_fullres"]
    _run(command + train + ["--fold", "0", *SHORT], REPO)
    predict = ["predict", "--work_dir", str(work), "--input_dir", str(raw / "imagesTr"), "--output_dir", str(pred)]
    _run(command + predict + ["--configurations", "3d_fullres", "--folds", "0"], REPO)
    digests = {}
    for path in sorted(work.rglob("*")):
        relative = path.relative_to(work).as_posix()
        skip = (
            path.is_dir()
            or path.name in ("metadata.json", "training_complete.json")
            or "/logs/" in f"/{relative}"
            or path.suffix == ".log"
        )
        if not skip and path.suffix in (".json", ".npy", ".npz", ".pt", ".pkl", ".b2nd", ".tiff"):
            digests[f"work/{relative}"] = _file_digest(path, scratch)
    for path in sorted(pred.glob("*.tiff")):
        digests[f"pred/{path.name}"] = _file_digest(path)
    for path in sorted((REPO / "bundle").glob("*/configs/*.json")):
        digests[path.relative_to(REPO).as_posix()] = _json_digest(path)
    Path(out).write_text(json.dumps({"autoseg": autoseg, "digests": digests}, indent=1) + "\n")
    if keep is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def compare(before: str, after: str) -> None:
    """Print what differs between two records; exit 1 when anything does."""
    a, b = (json.loads(Path(p).read_text())["digests"] for p in (before, after))
    lines = [f"only before: {k}" for k in sorted(a.keys() - b.keys())]
    lines += [f"only after:  {k}" for k in sorted(b.keys() - a.keys())]
    lines += [f"differs:     {k}" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    same = len([k for k in a.keys() & b.keys() if a[k] == b[k]])
    print("\n".join(lines + [f"{same} identical, {len(lines)} not"]))
    if lines:
        raise SystemExit(1)


if __name__ == "__main__":
    fire.Fire({"record": record, "compare": compare})
