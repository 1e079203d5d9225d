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

"""Compose bundle configs from shared templates: set ids by ``#``-path and write them in model-zoo JSON style.

The templates that commands need at run time (autoseg's, the network definitions, the shared ``logging.conf`` and
multi-GPU fragment, the licence text) ship inside the package, under ``networks/configs/``, and are read through
``importlib.resources`` so that an installed package finds them as a checkout does.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.abc import Traversable
from typing import Any

__all__ = ["template_file", "load_template", "set_config_id", "merge_after_imports", "render_config"]


def template_file(*parts: str) -> Traversable:
    """A file shipped with the package under ``networks/configs/``, e.g. ``template_file("shared", "logging.conf")``."""
    path = resources.files("networks").joinpath("configs", *parts)
    if not path.is_file():
        raise FileNotFoundError(f"networks/configs/{'/'.join(parts)} is not in the installed package")
    return path


def load_template(*parts: str) -> dict:
    """A JSON template of ``networks/configs/``."""
    return json.loads(template_file(*parts).read_text())


def set_config_id(config: dict, id_: str, value: Any, source: str) -> None:
    """Replace the value at ``id_`` (a top-level key, or a ``#``-path into nested dicts/lists) of a template.

    Raises:
        KeyError: the template has no such id (naming ``source``, the file that asked for it).
    """
    if id_ in config:
        config[id_] = value
        return
    node: Any = config
    keys = id_.split("#")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node.get(k) if isinstance(node, dict) else None
        if node is None:
            break
    last = keys[-1]
    if isinstance(node, dict) and last in node:
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    else:
        raise KeyError(f"{source}: id '{id_}' is not in the template config; add it there first.")


def merge_after_imports(config: dict, common: dict, source: str) -> dict:
    """``config`` with the ids of ``common`` inserted right after its ``imports`` (model-zoo key order)."""
    clash = sorted(set(config) & set(common))
    if clash:
        raise KeyError(f"ids {clash} are in both {source} and a workflow file; keep them in one place.")
    head = {"imports": config["imports"]} if "imports" in config else {}
    return {**head, **common, **{k: v for k, v in config.items() if k != "imports"}}


def render_config(value: Any, indent: int = 0) -> str:
    """JSON with 4-space indentation and short lists of scalars on one line (model-zoo style)."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {render_config(v, indent + 4)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        flat = "[" + ", ".join(json.dumps(v) for v in value) + "]"
        if all(not isinstance(v, (dict, list)) for v in value) and len(flat) + indent < 100:
            return flat
        return "[\n" + ",\n".join(inner + render_config(v, indent + 4) for v in value) + "\n" + pad + "]"
    return json.dumps(value)
