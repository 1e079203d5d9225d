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

"""Save a PNG figure (image | truth | prediction) for the first cases an evaluator sees."""

from __future__ import annotations

import os

import numpy as np
import torch
from ignite.engine import Engine, Events
from monai.utils import min_version, optional_import

idist, _ = optional_import("ignite", "0.4.10", min_version, "distributed")

__all__ = ["SegmentationFigureSaver"]


def _to_2d(x, is_label: bool) -> np.ndarray:
    x = x.detach().cpu().float().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float32)
    if x.ndim == 3:  # channel first: one-hot/probabilities -> argmax, one channel -> squeeze
        x = x.argmax(0) if (is_label and x.shape[0] > 1) else x[0]
    if x.ndim != 2:
        raise ValueError(f"SegmentationFigureSaver draws 2D cases, got shape {x.shape}.")
    return x


class SegmentationFigureSaver:
    """
    Collect the first num_cases cases of an evaluator run (after post-processing) and, when it
    completes, save one PNG with a row per case: image | ground truth | prediction. Rank 0 only;
    cases on other ranks are not drawn. 2D only.

    Args:
        output_dir: folder of the figure (created if missing).
        filename: PNG file name. Defaults to "cases.png".
        num_cases: number of cases (rows). Defaults to 4.
        image_key: key of the image in engine.state.batch. Defaults to "image".
        label_key: key of the label in engine.state.batch (one-hot or class map). Defaults to "label".
        pred_key: key of the prediction in engine.state.output. Defaults to "pred".
        num_classes: number of classes, fixes the colour scale of truth and prediction. Defaults to 2.
    """

    def __init__(
        self,
        output_dir: str,
        filename: str = "cases.png",
        num_cases: int = 4,
        image_key: str = "image",
        label_key: str = "label",
        pred_key: str = "pred",
        num_classes: int = 2,
    ) -> None:
        self.output_dir = output_dir
        self.filename = filename
        self.num_cases = num_cases
        self.image_key, self.label_key, self.pred_key = image_key, label_key, pred_key
        self.num_classes = num_classes
        self.cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: the evaluator.
        """
        engine.add_event_handler(Events.STARTED, lambda e: self.cases.clear())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.save)

    def collect(self, engine: Engine) -> None:
        """
        Args:
            engine: the evaluator; its batch and output are lists of decollated dictionaries.
        """
        batch, output = engine.state.batch, engine.state.output
        if not isinstance(batch, list) or not isinstance(output, list):
            raise TypeError("SegmentationFigureSaver needs decollated data: give the evaluator a postprocessing.")
        for b, o in zip(batch, output):
            if len(self.cases) >= self.num_cases:
                return
            image = b[self.image_key]
            name = os.path.basename(str(getattr(image, "meta", {}).get("filename_or_obj", len(self.cases))))
            label = _to_2d(b[self.label_key], True) if self.label_key in b else None
            self.cases.append((name, _to_2d(image, False), label, _to_2d(o[self.pred_key], True)))

    def save(self, engine: Engine) -> None:
        """
        Args:
            engine: the evaluator.
        """
        if idist.get_rank() != 0 or not self.cases:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = len(self.cases)
        fig, axes = plt.subplots(rows, 3, figsize=(9, 3 * rows), squeeze=False)
        for row, (name, image, label, pred) in enumerate(self.cases):
            panels = [(image, "image", "gray", None), (label, "truth", "viridis", self.num_classes - 1)]
            panels.append((pred, "prediction", "viridis", self.num_classes - 1))
            for col, (data, title, cmap, vmax) in enumerate(panels):
                ax = axes[row, col]
                if data is not None:
                    ax.imshow(data, cmap=cmap, vmin=0 if vmax else None, vmax=vmax, interpolation="nearest")
                ax.set_title(f"{name}: {title}" if col == 0 else title, fontsize=8)
                ax.axis("off")
        fig.tight_layout()
        os.makedirs(self.output_dir, exist_ok=True)
        path = os.path.join(self.output_dir, self.filename)
        fig.savefig(path + ".tmp.png", dpi=100)
        plt.close(fig)
        os.replace(path + ".tmp.png", path)
