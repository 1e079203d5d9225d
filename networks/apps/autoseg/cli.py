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
"""The ``autoseg`` command: :class:`~networks.apps.autoseg.runner.AutoSegRunner` through ``fire``.

Usage (``autoseg`` is the console script; ``python -m networks.apps.autoseg`` is the same command)::

    autoseg verify --dataset_dir RAW
    autoseg fingerprint --dataset_dir RAW --work_dir WORK
    autoseg plan --dataset_dir RAW --work_dir WORK [--planner default|resenc_m|cpu]
        [--memory_target_gb 8] [--seconds_per_iteration 2 --training_hours 12]
    autoseg preprocess --dataset_dir RAW --work_dir WORK [--configurations 2d,3d_fullres]
        [--plans_file nnUNetPlans.json]
    autoseg train --dataset_dir RAW --work_dir WORK --configuration 3d_fullres --fold 0|all|cv
        [--network auto|swin_umamba] [--epochs 2 --iters_per_epoch 5] [--resume false]
    autoseg find_best --dataset_dir RAW --work_dir WORK [--configurations 2d,3d_fullres]
    autoseg predict --work_dir WORK --input_dir IMAGES --output_dir OUT [--configurations 3d_fullres]
        [--folds 0,1] [--save_probabilities]
    autoseg ensemble --input_dirs OUT_A,OUT_B --output_dir OUT --file_ending .nii.gz
    autoseg run --dataset_dir RAW --work_dir WORK [--epochs 1 --iters_per_epoch 2]
    autoseg VERB --help

The options of the runner (``--dataset_dir``, ``--work_dir``, ``--plans_file``, ``--network``,
``--num_processes``, ``--strict``) go with any verb. An option that neither the runner nor the verb has is an error
before any work starts; so are the errors of a bad dataset, plans file or argument (one line, exit status 1).
``verify`` and ``predict`` exit with status 1 when they reported bad cases.
"""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys

from .dataset import CaseError, DatasetIntegrityError
from .image_io import ImageReadError
from .runner import AutoSegRunner

__all__ = ["main"]

USER_ERRORS = (DatasetIntegrityError, CaseError, ImageReadError, FileNotFoundError, ValueError)
FAIL_ON_RESULT = {"verify": "bad case(s) in the dataset", "predict": "case(s) skipped, see OUTPUT/errors.json"}


def _verbs() -> dict:
    return {n: m for n, m in inspect.getmembers(AutoSegRunner, inspect.isfunction) if not n.startswith("_")}


def _parameters(fn) -> set[str]:
    return {n for n in inspect.signature(fn).parameters if n != "self"}


def check_options(argv: list[str]) -> str | None:
    """The verb of ``argv``; an unknown verb or option is a ``ValueError`` naming it and the choices."""
    verbs = _verbs()
    verb, after_option = None, False
    for arg in argv:  # the first word that is not an option's value (fire reads `--name value` as a value)
        if arg.startswith("-"):
            after_option = arg.startswith("--") and "=" not in arg
        elif after_option:
            after_option = False
        else:
            verb = arg
            break
    if verb is None or "--help" in argv or "-h" in argv:
        return verb
    if verb not in verbs:
        raise ValueError(f"unknown command {verb!r}; choose from {', '.join(sorted(verbs))}")
    known = _parameters(AutoSegRunner.__init__) | _parameters(verbs[verb])
    for arg in argv:
        if arg.startswith("--"):
            name = arg[2:].split("=", 1)[0].replace("-", "_")
            if name.startswith("no"):  # fire's --noflag for False
                name = name[2:] if name[2:] in known else name
            if name not in known:
                raise ValueError(
                    f"autoseg {verb}: unknown option --{name}; its options are --{', --'.join(sorted(known))}"
                )
    return verb


def usage() -> str:
    """The verbs and their usual options (this module's docstring), and where to read a verb's full help."""
    commands, notes = __doc__.split("::", 1)[1].split("\n\nThe options of the runner")
    return f"usage:\n{inspect.cleandoc(commands)}\n\nThe options of the runner {' '.join(notes.split())}"


def main(argv: list[str] | None = None) -> None:
    import fire

    argv = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        verb = check_options(argv)
        if verb is None:  # fire would describe the runner's constructor; show the verbs instead
            print(usage())
            return
        result = fire.Fire(AutoSegRunner, command=argv, name="autoseg", serialize=lambda _: None)
    except USER_ERRORS as err:
        sys.exit(f"error: {err}")
    except subprocess.CalledProcessError as err:
        sys.exit(f"error: training stopped with exit status {err.returncode}; its log is above. Command: {err.cmd}")
    if verb in FAIL_ON_RESULT and isinstance(result, dict) and result:
        sys.exit(f"error: {len(result)} {FAIL_ON_RESULT[verb]}")


if __name__ == "__main__":
    main()
