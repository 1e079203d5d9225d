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

"""Render the before/after table of two ``pytest --durations`` listings (``docs/testing/*.txt``: the durations
section of pytest's output followed by ``time``'s lines) into ``docs/testing.md``.

Usage::

    python benchmarks/test_durations.py docs/testing/before_9092122.txt docs/testing/after_3dde9c0.txt
    python benchmarks/test_durations.py docs/testing/before_warm_c19d2e1.txt docs/testing/after_warm.txt \
        --mark durations:warm
"""

from __future__ import annotations

import re
from pathlib import Path

import fire

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing.md"
MARK = "durations:table"


def read_listing(path: str) -> dict:
    """Per-test seconds (setup + call + teardown), the run's wall and CPU seconds, and its pass count."""
    text = Path(path).read_text()
    tests: dict[str, float] = {}
    for seconds, test in re.findall(r"^([\d.]+)s (?:setup|call|teardown) +(\S+)$", text, flags=re.M):
        tests[test] = tests.get(test, 0.0) + float(seconds)
    summary = re.search(r"^(\d+) passed.* in ([\d.]+)s", text, flags=re.M)
    times = {k: int(m) * 60 + float(s) for k, m, s in re.findall(r"^(real|user|sys)\s+(\d+)m([\d.]+)s$", text, re.M)}
    return {"tests": tests, "passed": int(summary.group(1)), "pytest_s": float(summary.group(2)), **times}


def table(before: str, after: str, rows: int = 15) -> str:
    b, a = read_listing(before), read_listing(after)
    lines = [
        f"| | before (`{Path(before).name}`) | after (`{Path(after).name}`) | after / before |",
        "|---|---:|---:|---:|",
        f"| tests passed | {b['passed']} | {a['passed']} | |",
    ]
    for key, name in (("pytest_s", "pytest wall time"), ("user", "CPU time (user)")):
        lines.append(f"| {name} | {b[key] / 60:.1f} min | {a[key] / 60:.1f} min | {a[key] / b[key]:.2f} |")
    lines += ["", f"The {rows} longest tests before, and the same tests after (seconds, setup + call):", ""]
    lines += ["| test | before | after |", "|---|---:|---:|"]
    for test, seconds in sorted(b["tests"].items(), key=lambda kv: -kv[1])[:rows]:
        now = a["tests"].get(test)
        lines.append(f"| `{test}` | {seconds:.0f} | {f'{now:.0f}' if now is not None else 'not listed'} |")
    return "\n".join(lines)


def render(before: str, after: str, doc: str = str(DOC), mark: str = MARK) -> None:
    """Write the table between the ``<!-- mark -->`` and ``<!-- /mark -->`` lines of ``doc``."""
    text = Path(doc).read_text()
    start, end = f"<!-- {mark} -->", f"<!-- /{mark} -->"
    head, rest = text.split(start, 1)
    Path(doc).write_text(f"{head}{start}\n{table(before, after)}\n{end}{rest.split(end, 1)[1]}")


if __name__ == "__main__":
    fire.Fire(render)
