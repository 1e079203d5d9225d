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
Evaluator handlers of classification bundles: the metric report (per-class CSV, summary JSON, per-patch predictions,
confusion matrix PNG), a PNG of the spatial attention maps, and the predictions CSV of inference.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import torch
from ignite.engine import Engine, Events

from networks.blocks.attention import SpatialAttention
from networks.data.file_io import csv_bytes, figure_png_bytes, write_bytes_atomic, write_json_atomic
from networks.handlers.collector import CaseCollector, case_file_name
from networks.metrics.classification import classification_report

__all__ = ["ClassificationEvaluationSaver", "ClassificationPredictionSaver", "AttentionMapSaver", "stage_gates"]

logger = logging.getLogger(__name__)


class _ScoreCollector(CaseCollector):
    """Collect (file name, class probabilities, true class) of every case an evaluator sees (decollated outputs)."""

    def __init__(self, class_names: Sequence[str], pred_key: str, label_key: str | None, image_key: str) -> None:
        super().__init__()
        self.class_names = list(class_names)
        self.pred_key, self.label_key, self.image_key = pred_key, label_key, image_key

    def collect(self, engine: Engine) -> None:
        output = engine.state.output
        if not isinstance(output, list):
            raise TypeError(f"{type(self).__name__} needs decollated outputs (the evaluator's default).")
        for item in output:
            scores = torch.as_tensor(item[self.pred_key]).detach().float().reshape(-1)
            if scores.numel() != len(self.class_names):
                raise ValueError(f"{scores.numel()} scores for {len(self.class_names)} class names.")
            case = {
                "file": case_file_name(item, self.image_key, len(self.cases)),
                "probs": scores.softmax(0).cpu().numpy(),
            }
            if self.label_key is not None and self.label_key in item:
                case["label"] = int(torch.as_tensor(item[self.label_key]).reshape(-1)[0])
            self.cases.append(case)

    def _top_k(self, probs: np.ndarray, k: int) -> list[dict]:
        order = np.argsort(-probs, kind="stable")[:k]
        return [{"class": int(c), "name": self.class_names[c], "probability": float(probs[c])} for c in order]


class ClassificationEvaluationSaver(_ScoreCollector):
    """
    Write the evaluation report of a classifier into ``output_dir`` when the evaluator completes:

    - ``classification_summary.json``: top-1 / top-5 accuracy, macro F1 (classes present), counts, ``extra``;
    - ``classification_per_class.csv``: support, predictions, precision, recall, F1 per class;
    - ``predictions.csv``: per case, the truth, the prediction, its probability and the top-5 classes;
    - ``confusion_matrix.png``: the row-normalised confusion matrix (truth down, prediction across).

    Scores are softmaxed here, so the evaluator's ``pred`` may be logits.

    Args:
        output_dir: folder of the files.
        class_names: names of the classes, in index order.
        extra: entries added to the summary (e.g. the split and checkpoint).
        pred_key, label_key, image_key: keys of the decollated outputs.
    """

    def __init__(
        self,
        output_dir: str,
        class_names: Sequence[str],
        extra: dict | None = None,
        pred_key: str = "pred",
        label_key: str = "label",
        image_key: str = "image",
    ) -> None:
        super().__init__(class_names, pred_key, label_key, image_key)
        self.output_dir = output_dir
        self.extra = dict(extra or {})

    def save(self, engine: Engine) -> None:
        if not self.cases:
            raise ValueError("ClassificationEvaluationSaver: the evaluator saw no cases.")
        if any("label" not in c for c in self.cases):
            raise KeyError(f"ClassificationEvaluationSaver: outputs lack the true class '{self.label_key}'.")
        probs = np.stack([c["probs"] for c in self.cases])
        labels = np.array([c["label"] for c in self.cases])
        rows, summary, confusion = classification_report(probs, labels, self.class_names)
        os.makedirs(self.output_dir, exist_ok=True)
        write_json_atomic(os.path.join(self.output_dir, "classification_summary.json"), {**summary, **self.extra})
        write_bytes_atomic(os.path.join(self.output_dir, "classification_per_class.csv"), csv_bytes(rows))
        predictions = []
        for case in self.cases:
            top = self._top_k(case["probs"], 5)
            predictions.append(
                {
                    "file": case["file"],
                    "true_class": case["label"],
                    "true_name": self.class_names[case["label"]],
                    "predicted_class": top[0]["class"],
                    "predicted_name": top[0]["name"],
                    "probability": round(top[0]["probability"], 5),
                    "top5": " ".join(t["name"] for t in top),
                }
            )
        write_bytes_atomic(os.path.join(self.output_dir, "predictions.csv"), csv_bytes(predictions))
        write_bytes_atomic(
            os.path.join(self.output_dir, "confusion_matrix.png"), confusion_figure(confusion, self.class_names)
        )
        logger.info(
            "classification: top-1 %.4f, top-5 %.4f, macro F1 %.4f over %d cases",
            summary["top1_accuracy"],
            summary["top5_accuracy"],
            summary["macro_f1"],
            summary["num_samples"],
        )


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> bytes:
    """PNG bytes of the row-normalised confusion matrix (empty rows stay white)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = confusion.sum(1, keepdims=True)
    rates = np.divide(confusion, totals, out=np.full(confusion.shape, np.nan), where=totals > 0)
    n = len(class_names)
    size = min(max(6.0, 0.12 * n), 16.0)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    shown = ax.imshow(rates, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    font = max(2.5, min(8.0, 600 / max(n, 1) / 10))
    ax.set_xticks(range(n), class_names, rotation=90, fontsize=font)
    ax.set_yticks(range(n), class_names, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(shown, ax=ax, fraction=0.03, label="fraction of the true class")
    fig.tight_layout()
    return figure_png_bytes(fig)


class ClassificationPredictionSaver(_ScoreCollector):
    """
    Write ``output_file`` (CSV) at the end of inference: per input file, the ``top_k`` classes with probabilities.

    Args:
        output_file: the CSV path.
        class_names: names of the classes, in index order.
        top_k: how many classes per file.
        pred_key, image_key: keys of the decollated outputs.
    """

    def __init__(
        self,
        output_file: str,
        class_names: Sequence[str],
        top_k: int = 5,
        pred_key: str = "pred",
        image_key: str = "image",
    ) -> None:
        super().__init__(class_names, pred_key, None, image_key)
        self.output_file = output_file
        self.top_k = top_k

    def save(self, engine: Engine) -> None:
        rows = []
        for case in self.cases:
            row = {"file": case["file"]}
            for rank, top in enumerate(self._top_k(case["probs"], self.top_k), start=1):
                row[f"class_{rank}"] = top["class"]
                row[f"name_{rank}"] = top["name"]
                row[f"probability_{rank}"] = round(top["probability"], 5)
            rows.append(row)
        if rows:
            os.makedirs(os.path.dirname(os.path.abspath(self.output_file)), exist_ok=True)
            write_bytes_atomic(self.output_file, csv_bytes(rows))
            logger.info("wrote the top-%d classes of %d file(s) to %s", self.top_k, len(rows), self.output_file)


def stage_gates(network: torch.nn.Module) -> list[tuple[str, SpatialAttention]]:
    """The last spatial gate of each top-level stage of ``network`` (``layer1``... of a ResNet), in order."""
    network = getattr(network, "module", network)  # DistributedDataParallel (one device per process)
    last: dict[str, tuple[str, SpatialAttention]] = {}
    for name, module in network.named_modules():
        if isinstance(module, SpatialAttention):
            last[name.split(".")[0]] = (name, module)
    return list(last.values())


class AttentionMapSaver:
    """
    Draw the spatial attention gates (AAM, CBAM) of ``num_cases`` cases spread evenly over the evaluator's data
    (every ``len(dataset) // num_cases``-th case): per case, the
    input patch and, per stage, the stage's last gate upsampled and overlaid on it. 3D patches show their middle
    slice along the last axis. Networks without spatial gates (plain ResNet, SE) get a log line and no file.

    Args:
        output_file: the PNG path.
        class_names: names of the classes, in index order (titles: truth / prediction).
        num_cases: how many cases to draw.
        pred_key, label_key, image_key: keys of the decollated outputs.
    """

    def __init__(
        self,
        output_file: str,
        class_names: Sequence[str],
        num_cases: int = 6,
        pred_key: str = "pred",
        label_key: str = "label",
        image_key: str = "image",
    ) -> None:
        self.output_file, self.class_names, self.num_cases = output_file, list(class_names), num_cases
        self.pred_key, self.label_key, self.image_key = pred_key, label_key, image_key
        self.gates: list[tuple[str, SpatialAttention]] = []
        self.cases: list[dict] = []
        self.seen, self.every = 0, 1

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self.start)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.save)

    def start(self, engine: Engine) -> None:
        # the evaluator sets its network after attaching handlers: look for the gates when it starts
        self.cases.clear()
        self.seen = 0
        # spread the drawn cases over the whole split (datasets are often sorted by class)
        size = len(getattr(engine.data_loader, "dataset", ()) or ())
        self.every = max(1, size // max(self.num_cases, 1))
        self.gates = stage_gates(engine.network)
        if not self.gates:
            logger.info("AttentionMapSaver: the network has no spatial attention gates; no attention map is drawn.")
        for _, gate in self.gates:
            gate.keep_gate = True

    @staticmethod
    def _plane(x: torch.Tensor) -> np.ndarray:
        """(C, *spatial) -> 2D array of the first channel (middle slice of the last axis for 3D)."""
        x = x.detach().float().cpu()[0]
        return (x[..., x.shape[-1] // 2] if x.ndim == 3 else x).numpy()

    def collect(self, engine: Engine) -> None:
        if not self.gates or len(self.cases) >= self.num_cases:
            return
        batch = len(engine.state.output)
        for name, gate in self.gates:
            if gate.last_gate is None or gate.last_gate.shape[0] != batch:
                raise RuntimeError(
                    f"AttentionMapSaver: the gate {name} holds no map for this batch of {batch} (a network run on "
                    "replicas, e.g. nn.DataParallel, keeps its gates there); use one device per process."
                )
        for i, item in enumerate(engine.state.output):
            index, self.seen = self.seen, self.seen + 1
            if index % self.every or len(self.cases) >= self.num_cases:
                continue
            image = torch.as_tensor(item[self.image_key])
            maps = []
            for _, gate in self.gates:
                g = gate.last_gate[i : i + 1].float()
                g = torch.nn.functional.interpolate(g, size=tuple(image.shape[1:]), mode="nearest")
                maps.append(self._plane(g[0]))
            label = item.get(self.label_key)
            self.cases.append(
                {
                    "image": self._plane(image),
                    "maps": maps,
                    "label": None if label is None else int(torch.as_tensor(label).reshape(-1)[0]),
                    "pred": int(torch.as_tensor(item[self.pred_key]).argmax()),
                }
            )

    def save(self, engine: Engine) -> None:
        for _, gate in self.gates:  # stop keeping maps: the network may go on training
            gate.keep_gate, gate.last_gate = False, None
        if not self.cases:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows, cols = len(self.cases), 1 + len(self.gates)
        fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.0 * rows), dpi=100, squeeze=False)
        for r, case in enumerate(self.cases):
            truth = "?" if case["label"] is None else self.class_names[case["label"]]
            axes[r, 0].imshow(case["image"].T, cmap="gray", origin="lower")
            axes[r, 0].set_title(f"true {truth}\npred {self.class_names[case['pred']]}", fontsize=6)
            for c, (gate_map, (name, _)) in enumerate(zip(case["maps"], self.gates), start=1):
                axes[r, c].imshow(case["image"].T, cmap="gray", origin="lower")
                axes[r, c].imshow(gate_map.T, cmap="jet", alpha=0.45, vmin=0, vmax=1, origin="lower")
                axes[r, c].set_title(name.split(".")[0], fontsize=6)
        for ax in axes.ravel():
            ax.axis("off")
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(self.output_file)), exist_ok=True)
        write_bytes_atomic(self.output_file, figure_png_bytes(fig))
