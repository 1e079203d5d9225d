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
"""Build once, then reuse, a virtual environment for a tool we test against but do not depend on.

Used for nnunetv2 (:mod:`networks.apps.nnunet_reference`) and MONAI Label (``scripts/monailabel_loop.py``).
Requirement groups are installed in order, one pip command each; a stamp file written last marks a complete build (a
half-built venv is rebuilt) and a lock file serialises concurrent builds. Optionally a checkout of this project is
installed in editable mode, again whenever the venv last saw another checkout or another ``setup.cfg``.

The venv is layered over the environment that builds it: a ``.pth`` file puts that environment's site-packages
after the venv's own, so a requirement the caller already satisfies (torch with its CUDA libraries and Triton,
about 5.5 GB) is found there instead of installed a second time. pip installs anything else, or another version,
into the venv itself, whose packages come first on ``sys.path``; it never changes the caller's environment.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

TORCH_REQUIREMENTS = ["torch==2.14.1", "torchvision==0.29.1"]


def pip_install(python: Path, *args: str) -> None:
    """``python -m pip install -q args``, raising with pip's error output on failure."""
    cmd = [str(python), "-m", "pip", "install", "-q", *args]
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _caller_layer() -> dict[str, object]:
    """The caller's site-packages folders and torch version: a change in either means the layered venv is stale."""
    paths = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    return {"site_packages": paths, "torch": torch_version}


def _layer_over(python: Path, site_packages: list[str]) -> None:
    """Append ``site_packages`` to the venv's ``sys.path`` (after its own packages) with a ``.pth`` file."""
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(own, "zz_zoo_caller_env.pth").write_text("".join(f"{path}\n" for path in site_packages))


def cached_venv(
    root: str | os.PathLike, spec: dict[str, list[str]], install_project: str | os.PathLike | None = None
) -> str:
    """Return the python of the venv at ``root`` holding ``spec`` (name -> requirements), building it if needed;
    ``install_project``: a checkout of this project to install there in editable mode."""
    root = Path(root).expanduser()
    python = root / "bin" / "python"
    stamp = root / ".zoo-stamp.json"
    layer = _caller_layer()
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, also across concurrent test sessions
        state = json.loads(stamp.read_text()) if stamp.is_file() else {}
        if state.get("spec") != spec or state.get("layer") != layer:
            shutil.rmtree(root, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
            _layer_over(python, layer["site_packages"])
            pip_install(python, "--upgrade", "pip")
            for requirements in spec.values():
                pip_install(python, *requirements)
            state = {"spec": spec, "layer": layer}
        if install_project is not None:
            project = Path(install_project).resolve()
            setup_hash = hashlib.sha256((project / "setup.cfg").read_bytes()).hexdigest()
            if state.get("setup_cfg") != setup_hash:  # new or changed requirements: resolve them in this venv
                pip_install(python, "-e", str(project))
            elif state.get("repo") != str(project):  # same requirements, another checkout: only re-point the install
                pip_install(python, "--no-deps", "-e", str(project))
            state.update(repo=str(project), setup_cfg=setup_hash)
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, stamp)
    return str(python)
