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
Run a bundle of this project in MONAI Label's bundle app, headless, for the loop MONAI Label exists for:
infer with no model -> train -> train again from the current model -> infer.

MONAI Label 0.8.5 pins packages this project does not (numpy 1.26, jsonschema 3.2, pydicom < 3), so it gets a
virtual environment of its own, built once and cached (``venv``); ``loop`` then runs inside it.

Usage::

    python scripts/monailabel_loop.py venv                           # build/reuse the venv, print its python
    python scripts/monailabel_loop.py app --bundle bundle/swin_umamba_nuclei_segmentation --out runs/ml
    python scripts/monailabel_loop.py studies --dataset_dir data/nuclei2d --out runs/ml/studies --n 4
    <venv python> scripts/monailabel_loop.py loop --app_dir runs/ml/app --studies runs/ml/studies \\
        --model swin_umamba_nuclei_segmentation --mode http --out runs/ml/result.json

``app`` copies the ``monaibundle`` sample app shipped inside monailabel and the bundle into ``<out>/app/model/<name>``;
``studies`` writes a studies folder (images at the top, masks under ``labels/final``) from a prepared dataset.
``loop --mode python`` drives the app object directly, ``--mode http`` the same app through its REST API (FastAPI's
test client: no port is opened). The result JSON records each step's answer; the run exits non-zero if a step fails.

Only the standard library is imported at the top: the same file runs in the project's venv and in MONAI Label's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from networks.apps.cached_venv import TORCH_REQUIREMENTS, cached_venv

REPO = Path(__file__).resolve().parents[1]  # installed, editable, into MONAI Label's venv

MONAILABEL_VERSION = "0.8.5"
# one pip command: without the pydicom pin the app fails to import (../shared/bundle-conventions.md)
MONAILABEL_REQUIREMENTS = [f"monailabel=={MONAILABEL_VERSION}", "monai==1.6.1", "pydicom<3"]
DEFAULT_VENV = Path(
    os.environ.get("ZOO_MONAILABEL_VENV", f"~/.cache/monai-mamba-zoo/venv-monailabel-{MONAILABEL_VERSION}")
)
# offline app settings: bundles from the app's model folder, no SAM2 download, no background datastore reload
APP_ENV = {"MONAI_LABEL_DATASTORE_AUTO_RELOAD": "false", "MONAI_LABEL_SESSIONS": "false"}


def venv(path: str | None = None) -> str:
    """
    Build (once) or reuse the MONAI Label virtual environment and return its python.

    The venv is cached (default ``~/.cache/monai-mamba-zoo/venv-monailabel-0.8.5``, or ``$ZOO_MONAILABEL_VENV``),
    so a fresh clone reuses it; this project is (re)installed into it in editable mode whenever the venv last saw
    another checkout or another ``setup.cfg``. It is layered over the calling environment
    (``networks.apps.cached_venv``): torch
    comes from there instead of a second 5.5 GB copy, so the venv must be rebuilt when that environment changes,
    which happens on its own. A stamp file written last marks a complete build; a half-built venv
    is rebuilt.

    Args:
        path: the venv folder. Defaults to the cached location above.
    """
    spec = {"torch": TORCH_REQUIREMENTS, "monailabel": MONAILABEL_REQUIREMENTS}
    return cached_venv(path or DEFAULT_VENV, spec, install_project=REPO)


def _monailabel_package(python: str) -> Path:
    out = subprocess.run(
        [python, "-c", "import monailabel, os; print(os.path.dirname(monailabel.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def app(bundle: str, out: str, python: str | None = None, stock: bool = False) -> str:
    """
    Make a MONAI Label app folder: the ``monaibundle`` sample app with ``bundle`` copied into ``model/<name>``.

    By default the app's ``main.py`` is ``scripts/monailabel_app/main.py``, the stock app with a clear answer for a
    bundle without a trained model and no restart needed after its first training (the stock one is kept as
    ``stock_main.py``); ``--stock`` keeps the sample app as shipped.

    Args:
        bundle: the bundle folder (e.g. ``bundle/swin_umamba_nuclei_segmentation``).
        out: folder to write ``app/`` into.
        python: the MONAI Label venv's python (default: built/reused by :py:func:`venv`).
        stock: keep MONAI Label's sample app unchanged. Defaults to False.

    Returns:
        the app folder.
    """
    python = python or venv()
    package = _monailabel_package(python)
    candidates = [
        package / "sample-apps" / "monaibundle",
        Path(python).parents[1] / "monailabel" / "sample-apps" / "monaibundle",
    ]
    sample = next((c for c in candidates if (c / "main.py").is_file()), None)
    if sample is None:
        raise FileNotFoundError(f"monaibundle sample app not found in {[str(c) for c in candidates]}")
    app_dir = Path(out) / "app"
    shutil.rmtree(app_dir, ignore_errors=True)
    shutil.copytree(sample, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    if not stock:
        os.replace(app_dir / "main.py", app_dir / "stock_main.py")
        shutil.copyfile(Path(__file__).parent / "monailabel_app" / "main.py", app_dir / "main.py")
    name = Path(bundle).resolve().name
    ignore = shutil.ignore_patterns("*.pt", "*.ts", "eval", "outputs", "checkpoints", "runs")
    shutil.copytree(bundle, app_dir / "model" / name, ignore=ignore)
    return str(app_dir)


def studies(dataset_dir: str, out: str, n: int = 4, split: str = "training") -> str:
    """
    Write a MONAI Label studies folder from a prepared dataset (``dataset.json`` in the layout
    of ``networks.apps.prepare_data``): the first ``n`` cases of ``split``, images at the top level and their masks
    under ``labels/final`` with the same file name.

    Args:
        dataset_dir: prepared dataset folder.
        out: the studies folder to write.
        n: number of labelled cases (MONAI Label needs at least 2). Defaults to 4.
        split: the dataset.json list to take them from. Defaults to "training".
    """
    meta = json.loads((Path(dataset_dir) / "dataset.json").read_text())
    cases = meta[split][:n]
    if len(cases) < 2:
        raise ValueError(f"{dataset_dir}/dataset.json '{split}' has {len(cases)} case(s); MONAI Label needs >= 2.")
    root = Path(out)
    (root / "labels" / "final").mkdir(parents=True, exist_ok=True)
    for case in cases:
        name = Path(case["image"]).name
        shutil.copyfile(Path(dataset_dir) / case["image"], root / name)
        shutil.copyfile(Path(dataset_dir) / case["label"], root / "labels" / "final" / name)
    return str(root)


def _configure(app_dir: str, studies_dir: str, model: str) -> None:
    """Settings are read from the environment when monailabel is first imported (and by its train subprocess)."""
    os.environ.update(APP_ENV)
    os.environ["MONAI_LABEL_APP_DIR"] = str(Path(app_dir).resolve())
    os.environ["MONAI_LABEL_STUDIES"] = str(Path(studies_dir).resolve())
    os.environ["MONAI_LABEL_APP_CONF"] = json.dumps({"models": model, "zoo_source": "local", "sam2": "false"})
    os.environ.setdefault("PYTHONPATH", "")


def _first_image(studies_dir: str) -> str:
    """Datastore id (file name without suffixes) of the first image; the datastore keeps hidden files beside them."""
    names = sorted(p.name for p in Path(studies_dir).iterdir() if p.is_file() and not p.name.startswith("."))
    names = [n for n in names if not n.endswith(".json")]
    return names[0].split(".")[0]


def _python_steps(model: str, image: str, epochs: int, restart: bool, result: dict) -> None:
    from monailabel.interfaces.utils.app import app_instance, clear_cache

    request = {"model": model, "max_epochs": epochs, "device": "cpu", "multi_gpu": False}
    instance = app_instance()
    try:
        instance.infer({"model": model, "image": image, "device": "cpu"})
        result["infer_without_model"] = {"ok": True}
    except Exception as err:  # what a user gets asking for a prediction before any training
        result["infer_without_model"] = {"ok": False, "error": f"{type(err).__name__}: {err}"}
    for step in ("train", "retrain"):
        start = time.time()
        instance.train(dict(request))
        result[step] = {"ok": True, "seconds": round(time.time() - start, 1)}
    if restart:  # the stock app builds its infer tasks at start: only a restarted one serves the first model
        clear_cache()
    answer = app_instance().infer({"model": model, "image": image, "device": "cpu"})
    label, params = (answer.get("file"), answer.get("params")) if isinstance(answer, dict) else (None, None)
    result["infer"] = {"ok": bool(label), "label": label, "params": _jsonable(params)}


def _http_steps(model: str, image: str, epochs: int, restart: bool, result: dict) -> None:
    from urllib.parse import urlencode

    from fastapi.testclient import TestClient
    from monailabel.app import app as rest_app
    from monailabel.interfaces.utils.app import clear_cache

    def infer(output: str):
        query = urlencode({"image": image, "output": output})
        return client.post(f"/infer/{model}?{query}", data={"params": json.dumps({"device": "cpu"})})

    with TestClient(rest_app, raise_server_exceptions=False) as client:  # answers as a real server gives them
        info = client.get("/info/")
        result["info"] = {"ok": info.status_code == 200, "status": info.status_code}
        answer = infer("json")
        result["infer_without_model"] = {
            "ok": answer.status_code == 200,
            "status": answer.status_code,
            "error": answer.text[-2000:],
        }
        params = {"max_epochs": epochs, "device": "cpu", "multi_gpu": False}
        for step in ("train", "retrain"):
            # as a client does: start the training task (a subprocess of the server), then poll its status
            start = time.time()
            answer = client.post(f"/train/{model}", json=params)
            task = answer.json() if answer.status_code == 200 else {}
            while task.get("status") in ("SUBMITTED", "RUNNING") and time.time() - start < 1200:
                time.sleep(1)
                task = client.get("/train/").json()
            ok = answer.status_code == 200 and task.get("status") == "DONE"
            result[step] = {
                "ok": ok,
                "status": answer.status_code,
                "task_status": task.get("status"),
                "seconds": round(time.time() - start, 1),
                "details": list(task.get("details") or []),
            }
        if restart:
            clear_cache()
        answer = infer("image")
        label = Path(os.environ["MONAI_LABEL_APP_DIR"]).parent / f"http_label_{image}.nii.gz"
        if answer.status_code == 200:
            label.write_bytes(answer.content)
        result["infer"] = {
            "ok": answer.status_code == 200 and len(answer.content) > 0,
            "status": answer.status_code,
            "label": str(label) if answer.status_code == 200 else None,
            "error": None if answer.status_code == 200 else answer.text[-2000:],
        }


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def loop(
    app_dir: str,
    studies: str,
    model: str,
    mode: str = "python",
    epochs: int = 1,
    restart: bool = False,
    out: str | None = None,
) -> dict:
    """
    Run infer (no model yet) -> train -> train again -> infer in MONAI Label's bundle app (run it with the MONAI
    Label venv's python, see :py:func:`venv`).

    Args:
        app_dir: the app folder made by :py:func:`app`.
        studies: the studies folder made by :py:func:`studies`.
        model: the bundle name (its folder under ``<app_dir>/model``).
        mode: "python" (the app object) or "http" (its REST API through FastAPI's test client).
        epochs: ``max_epochs`` of each training request.
        restart: restart the app before the last inference (needed by the stock app, see :py:func:`app`).
        out: JSON file for the result (default: print it).
    """
    if mode not in ("python", "http"):
        raise ValueError(f"mode must be 'python' or 'http', got '{mode}'.")
    _configure(app_dir, studies, model)
    result: dict = {"mode": mode, "model": model}
    image = _first_image(studies)
    result["image"] = image
    try:
        (_python_steps if mode == "python" else _http_steps)(model, image, epochs, restart, result)
    finally:
        result["models"] = sorted(p.name for p in (Path(app_dir) / "model" / model / "models").glob("*.pt"))
        text = json.dumps(result, indent=1)
        if out:
            Path(out).write_text(text)
        print(text)
    failed = [k for k, v in result.items() if isinstance(v, dict) and k != "infer_without_model" and not v.get("ok")]
    if failed:
        sys.exit(f"MONAI Label loop failed at {failed}; see {out or 'the result above'}")
    return result


if __name__ == "__main__":
    import fire

    fire.Fire({"venv": venv, "app": app, "studies": studies, "loop": loop})
