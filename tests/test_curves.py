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
"""networks.apps.curves: validation curves read back from TensorBoard events, how flat they end, their figure."""

from __future__ import annotations

import math

import pytest
from torch.utils.tensorboard import SummaryWriter

from networks.apps.curves import end_slope, plot_curves, scalar_curve


def test_a_resumed_run_keeps_the_last_value_of_a_step_and_other_tags_are_ignored(tmp_path):
    with SummaryWriter(tmp_path) as first:  # epochs 1-3, then the run stops
        for epoch, value in ((1, 0.2), (2, 0.4), (3, 0.5)):
            first.add_scalar("val_mean_dice", value, epoch)
            first.add_scalar("train_loss", 1 / epoch, epoch)
    with SummaryWriter(tmp_path) as resumed:  # resumed from epoch 2's checkpoint: epoch 3 again, then 4
        resumed.add_scalar("val_mean_dice", 0.45, 3)
        resumed.add_scalar("val_mean_dice", 0.55, 4)
    assert scalar_curve(tmp_path, "val_mean_dice") == [[1, 0.2], [2, 0.4], [3, 0.45], [4, 0.55]]
    with pytest.raises(ValueError, match="no event file holds the scalar 'val_dice'"):
        scalar_curve(tmp_path, "val_dice")


def test_end_slope_and_figure(tmp_path):
    rising = [[e, e / 100] for e in range(1, 41)]
    flat = [[e, 0.8] for e in range(1, 41)]
    assert end_slope(rising) == pytest.approx(0.1) and end_slope(flat) == 0.0
    assert math.isnan(end_slope(rising[:15]))
    plot_curves({"A": [rising, flat[:30]], "B": [flat]}, tmp_path / "curves.png", "toy", "validation Dice")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
