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
"""What the checkout's experiment commands share (``scripts/run_workflow.py``, ``scripts/*_comparison.py``,
``scripts/vlp_experiment.py``): each step printed as the command a user would type, run with its output in a log,
and a tagged section of a markdown file replaced by a rendered table."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

__all__ = ["SMALL_SWIN_UMAMBA", "SMALL_SWIN_UMAMBA_D", "show_command", "run_step", "with_section", "replace_section"]

# reduced-width Swin-UMamba(-D) as bundle overrides, for short CPU runs (SwinUMambaD has no feature_size: its decoder
# works at the encoder's dims)
SMALL_SWIN_UMAMBA_D = ["--network_def#dims", "[32,64,128,256]", "--network_def#depths", "[1,1,1,1]"]
SMALL_SWIN_UMAMBA = ["--network_def#feature_size", "16"] + SMALL_SWIN_UMAMBA_D


def _quote(arg: str) -> str:
    if re.fullmatch(r"[\w\-#./:=+]+", arg):
        return arg  # '#' inside a word is not a shell comment
    if "'" in arg and '"' not in arg and "$" not in arg:
        return f'"{arg}"'  # config lists as the READMEs write them: "['a.json','b.json']"
    return shlex.quote(arg)


def show_command(cmd: list[str]) -> str:
    """The command as a user would type it (``python`` for this interpreter)."""
    return " ".join(_quote("python" if c == sys.executable else c) for c in cmd)


def run_step(
    cmd: list[str], dry_run: bool, cwd: str, log: str | None = None, env: dict[str, str] | None = None
) -> None:
    """Print ``cmd`` and (unless ``dry_run``) run it in ``cwd``, its output into ``log`` when given; a failure
    raises naming the command and the log."""
    prefix = "".join(f"{k}={v} " for k, v in (env or {}).items())
    print(f"\n$ {prefix}{show_command(cmd)}", flush=True)
    if dry_run:
        return
    env = dict(os.environ, PYTHONWARNINGS=os.environ.get("PYTHONWARNINGS", "ignore"), **(env or {}))
    if log is None:
        proc = subprocess.run(cmd, cwd=cwd, env=env)
    else:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        where = f"; log: {os.path.relpath(log, cwd)}" if log else ""
        raise RuntimeError(f"step failed with exit status {proc.returncode}{where}: {show_command(cmd)}")


def with_section(doc: str, tag: str, text: str) -> str:
    """``doc`` with ``<!-- tag -->...<!-- /tag -->`` replaced by ``text`` (appended if missing)."""
    begin, end = f"<!-- {tag} -->", f"<!-- /{tag} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in doc and end in doc:
        return doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end) :]
    return doc.rstrip() + ("\n\n" if doc else "") + block + "\n"


def replace_section(path: str, tag: str, text: str) -> None:
    """Replace ``<!-- tag -->...<!-- /tag -->`` in ``path`` (append it if missing), atomically."""
    doc = with_section(open(path).read() if os.path.isfile(path) else "", tag, text)
    with open(path + ".tmp", "w") as f:
        f.write(doc)
    os.replace(path + ".tmp", path)
