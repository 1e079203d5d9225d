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
"""The package's import graph, read from the source (every ``import``, also those inside functions): layers only
import downwards and no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# MONAI's split, lowest first: a module may import from its own sub-package or from a lower rank
RANK = {
    "data": 0,  # dataset builders and small I/O helpers
    "layers": 0,
    "transforms": 1,
    "losses": 1,
    "blocks": 1,
    "metrics": 2,
    "inferers": 2,
    "nets": 2,
    "handlers": 3,
    "apps": 4,
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((REPO / "networks").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the package that ``name`` imports (``from a import b`` counts ``a.b`` when it is a module)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_subpackage_has_a_rank():
    assert {_subpackage(m) for m in _modules()} - {""} == set(RANK)


def test_layers_only_import_downwards():
    upward = []
    for module, targets in _graph().items():
        here = _subpackage(module)
        for target in targets:
            there = _subpackage(target)
            if here and there and there != here and RANK[there] >= RANK[here]:
                upward.append(f"{module} -> {target} ({here} {RANK[here]}, {there} {RANK[there]})")
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def test_no_import_circles():
    """Tarjan's strongly connected components; a package's ``__init__`` re-exporting its modules is not a circle,
    so edges into a package's own ``__init__`` from inside it are left out."""
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in _graph().items()}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


# autoseg's stages, in pipeline order: a stage imports the shared modules and earlier stages only, and
# inference (what a deployed bundle runs) nothing of training
AUTOSEG = "networks.apps.autoseg"
AUTOSEG_RANK = {
    "dataset": 0,
    "image_io": 0,
    "parallel": 0,
    "plans": 0,
    "splits": 0,
    "work_folder": 0,
    "planning": 1,
    "preprocessing": 2,
    "training": 3,
    "inference": 3,
    "evaluation": 4,
    "runner": 5,
    "cli": 6,
    "__main__": 7,
}


def _autoseg_part(module: str) -> str | None:
    if not module.startswith(AUTOSEG + "."):
        return None
    return module[len(AUTOSEG) + 1 :].split(".")[0]


def test_autoseg_stages_only_import_earlier_ones():
    modules = [m for m in _modules() if _autoseg_part(m)]
    assert {_autoseg_part(m) for m in modules} == set(AUTOSEG_RANK)
    upward = []
    for module, targets in _graph().items():
        here = _autoseg_part(module)
        if here is None:
            continue
        for target in targets:
            if target == AUTOSEG and here not in ("cli", "__main__"):
                upward.append(f"{module} -> {target} (the package imports every stage)")
            there = _autoseg_part(target)
            if there is None or there == here:
                continue
            if AUTOSEG_RANK[there] >= AUTOSEG_RANK[here] and not (AUTOSEG_RANK[here] == 0 and AUTOSEG_RANK[there] == 0):
                upward.append(f"{module} -> {target}")
    assert not upward, "autoseg imports that do not follow the pipeline:\n" + "\n".join(upward)


def test_nothing_imports_a_script_or_a_benchmark():
    """What scripts and benchmarks share lives in the package: no ``sys.path`` edits, no import of a file of
    ``scripts/`` or ``benchmarks/`` by name (tests may load the script they test)."""
    tools = {p.stem for folder in ("scripts", "benchmarks") for p in (REPO / folder).glob("*.py")}
    problems = []
    for folder in ("networks", "scripts", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ("insert", "append"):
                    if ast.unparse(node.value) == "sys.path":
                        problems.append(f"{path.relative_to(REPO)}:{node.lineno}: edits sys.path")
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                for name in names:
                    top = name.split(".")[0]
                    if top in tools or top in ("scripts", "benchmarks", "tests"):
                        problems.append(f"{path.relative_to(REPO)}:{node.lineno}: imports {name}")
    assert problems == [], "\n".join(problems)
