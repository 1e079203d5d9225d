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

"""What the evaluator report handlers share: one record per case collected, the report written when it completes
(encoded with ``networks.data.file_io``)."""

from __future__ import annotations

import os

from ignite.engine import Engine, Events

__all__ = ["CaseCollector", "case_file_name"]


def case_file_name(item: dict, key: str, index: int, prefix: str = "case") -> str:
    """The base name of the file a decollated case came from (``meta["filename_or_obj"]`` of ``item[key]``), else
    ``<prefix>_<index>``."""
    meta = getattr(item.get(key), "meta", {}) or {}
    return os.path.basename(str(meta.get("filename_or_obj", f"{prefix}_{index}")))


class CaseCollector:
    """
    Base of the report handlers: ``cases`` is emptied when the evaluator starts, :py:meth:`collect` appends to it
    after every iteration, :py:meth:`save` writes the report when the evaluator completes.
    """

    def __init__(self) -> None:
        self.cases: list[dict] = []

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, lambda e: self.cases.clear())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.save)

    def collect(self, engine: Engine) -> None:
        raise NotImplementedError

    def save(self, engine: Engine) -> None:
        raise NotImplementedError
