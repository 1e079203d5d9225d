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

import copy
import json
from importlib import resources
from importlib.abc import Traversable
from typing import Any

__all__ = [
    "template_file",
    "load_template",
    "ConfigComposer",
    "set_config_id",
    "render_config",
]


def template_file(*parts: str) -> Traversable:
    """A file shipped with the package under ``networks/configs/``, e.g. ``template_file("shared", "logging.conf")``."""
    path = resources.files("networks").joinpath("configs", *parts)
    if not path.is_file():
        raise FileNotFoundError(f"networks/configs/{'/'.join(parts)} is not in the installed package")
    return path


def load_template(*parts: str) -> dict:
    """A JSON template of ``networks/configs/``."""
    return json.loads(template_file(*parts).read_text())


class ConfigComposer:
    """One bundle config file built from layers, with one rule for clashes and a record of where each id came from.

    The first layer is the workflow template. ``add`` brings in ids that are not there yet (a clash is an error naming
    both files); ``override`` replaces ids that are there, top-level or ``#``-paths (a missing id is an error, and so
    is a value equal to the one it replaces: a default is written once). ``sources`` maps every id (and every
    overridden ``#``-path) to the file that set it last, in config order.
    """

    def __init__(self, template: dict, source: str) -> None:
        self.config = copy.deepcopy(template)
        self.sources = {id_: source for id_ in self.config}

    def add(self, layer: dict, source: str | dict[str, str], after_imports: bool = False) -> ConfigComposer:
        """Add new ids, at the end or right after ``imports`` (model-zoo key order for a shared ``common`` file).
        ``source`` names the file, or maps each id to its own (a layer that was composed itself)."""
        sources = source if isinstance(source, dict) else {id_: source for id_ in layer}
        clash = sorted(set(layer) & set(self.config))
        if clash:
            where = sorted({self.sources[c] for c in clash})
            raise KeyError(
                f"ids {clash} of {sorted({sources[c] for c in clash})} are already set by {where}; keep each in one "
                "place or override it."
            )
        layer = copy.deepcopy(layer)
        if after_imports:
            head = {"imports": self.config["imports"]} if "imports" in self.config else {}
            self.config = {**head, **layer, **{k: v for k, v in self.config.items() if k != "imports"}}
        else:
            self.config.update(layer)
        self.sources.update({id_: s for id_, s in sources.items() if id_ in layer or "#" in id_})
        return self

    def override(self, values: dict, source: str, computed: bool = False) -> ConfigComposer:
        """Replace existing ids (top-level or ``#``-paths) with ``values``; ``computed`` values (from a plan, not
        written by hand) may equal what they replace."""
        for id_, value in values.items():
            if not computed and _get_config_id(self.config, id_) == value:
                raise ValueError(f"{source}: '{id_}' restates the value it would override ({value!r}); remove it.")
            set_config_id(self.config, id_, copy.deepcopy(value), source)
            self.sources[id_] = source
        return self

    def provenance(self) -> dict:
        """``{id: source}``, top-level ids in config order, then overridden ``#``-paths."""
        top = {k: self.sources[k] for k in self.config}
        return {**top, **{k: v for k, v in self.sources.items() if "#" in k}}


def _get_config_id(config: dict, id_: str) -> Any:
    """The value at a top-level id or ``#``-path; a sentinel when there is none (``set_config_id`` then says so)."""
    node: Any = config
    for key in id_.split("#") if id_ not in config else [id_]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


_MISSING = object()


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


def render_config(value: Any) -> str:
    """JSON exactly as model-zoo's pre-commit hook ``pretty-format-json --indent=4 --no-sort-keys`` writes it
    (4-space indentation, every list item on its own line, ASCII escapes, key order kept), without the final newline."""
    return json.dumps(value, indent=4)
