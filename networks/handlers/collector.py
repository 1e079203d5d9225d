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

"""What the evaluator report handlers share: one record per case collected, the report written when it completes,
CSV and PNG bytes for the atomic writers."""

from __future__ import annotations

import csv
import io
import os

from ignite.engine import Engine, Events

__all__ = ["CaseCollector", "case_file_name", "csv_bytes", "figure_png_bytes"]


def case_file_name(item: dict, key: str, index: int, prefix: str = "case") -> str:
    """The base name of the file a decollated case came from (``meta["filename_or_obj"]`` of ``item[key]``), else
    ``<prefix>_<index>``."""
    meta = getattr(item.get(key), "meta", {}) or {}
    return os.path.basename(str(meta.get("filename_or_obj", f"{prefix}_{index}")))


def csv_bytes(rows: list[dict]) -> bytes:
    """CSV text of ``rows`` (the first row's keys as the header), encoded for an atomic write."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def figure_png_bytes(fig, dpi: int | None = None) -> bytes:
    """PNG bytes of a matplotlib figure, which is closed afterwards."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi)
    plt.close(fig)
    return buffer.getvalue()


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
