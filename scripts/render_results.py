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
Render the tables and bundle metadata that results files back (``docs/results/*.json`` with ``"targets"``), or check
that what is committed equals what they render.

Usage::

    python scripts/render_results.py            # rewrite every section and eval_metrics the results files name
    python scripts/render_results.py --check    # exit 1 naming each file that differs (tests/test_results_files.py)
"""

from __future__ import annotations

import glob
import json
import os
import sys

import fire

from networks.apps.evidence import rendered_targets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sources() -> list[str]:
    """The results files that render something (relative to the repository root)."""
    found = []
    for path in sorted(glob.glob(os.path.join(REPO, "docs", "results", "*.json"))):
        with open(path) as f:
            if "targets" in json.load(f):
                found.append(os.path.relpath(path, REPO))
    return found


def main(check: bool = False) -> list[str]:
    """Render (or with ``check``, compare) every target; return the files that changed (or differ)."""
    changed = []
    for source in sources():
        for path, text in rendered_targets(REPO, source).items():
            old = open(path).read() if os.path.isfile(path) else None
            if old == text:
                continue
            changed.append(os.path.relpath(path, REPO))
            if not check:
                with open(path + ".tmp", "w") as f:
                    f.write(text)
                os.replace(path + ".tmp", path)
    if check and changed:
        print("stale (run: python scripts/render_results.py):\n  " + "\n  ".join(changed), file=sys.stderr)
        sys.exit(1)
    return changed


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
