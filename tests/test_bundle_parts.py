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

"""Unit tests of the shared bundle parts: transforms, inferer, loss, metric, handlers."""

from __future__ import annotations

import os
from unittest import mock

import numpy as np
import pytest
import torch
from ignite.engine import Engine, Events
from monai.data import MetaTensor
from monai.inferers import SimpleInferer

from networks.handlers import AtomicCheckpointSaver, EncoderFreezeHandler
from networks.inferers import MirrorTTAInferer
from networks.losses import NNUNetDeepSupervisionLoss, nnunet_deep_supervision_weights
from networks.metrics import InstanceMatchingMetric
from networks.transforms import CheckInputd, SelectFullResolutiond, check_datalist


def test_instance_f1_known_case():
    gt = np.zeros((10, 10), np.int64)
    gt[0:3, 0:3], gt[5:8, 5:8], gt[0:2, 7:9] = 1, 2, 3
    pred = np.zeros((10, 10), np.int64)
    pred[0:3, 0:3] = 1  # exact match
    pred[5:7, 5:8] = 1  # IoU 6/9 >= 0.5: match
    pred[8:10, 0:2] = 1  # false positive; gt 3 is missed
    onehot = torch.nn.functional.one_hot(torch.tensor(pred), 2).permute(2, 0, 1)[None].float()
    metric = InstanceMatchingMetric("f1", split_foreground=True)
    metric(onehot, torch.tensor(gt)[None, None])
    assert metric.aggregate().item() == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


def test_instance_f1_touching_objects_merge_and_sums_over_images():
    gt = np.zeros((1, 1, 4, 8), np.int64)
    gt[..., :, 0:4], gt[..., :, 4:8] = 1, 2  # two touching instances -> one predicted component, IoU 0.5 each
    metric = InstanceMatchingMetric("f1", split_foreground=True)
    metric(torch.ones(1, 1, 4, 8), torch.tensor(gt))  # one TP at IoU >= 0.5, one FN
    metric(torch.zeros(1, 1, 4, 8), torch.tensor(gt))  # two FN
    # summed over images: 2 * 1 / (2 * 1 + 0 + 3), not the mean of the per-image F1s (2/3 and 0)
    assert metric.aggregate().item() == pytest.approx(2 / 5)


def test_mirror_tta_equals_average_of_flipped_predictions():
    torch.manual_seed(0)
    net = torch.nn.Conv2d(1, 2, 3, padding=1)
    x = torch.rand(2, 1, 8, 12)
    expected = sum(torch.flip(net(torch.flip(x, d)), d) if d else net(x) for d in [(), (2,), (3,), (2, 3)]) / 4
    with torch.no_grad():
        assert torch.allclose(MirrorTTAInferer(SimpleInferer())(x, net), expected.detach(), atol=1e-6)
        single = MirrorTTAInferer(spatial_axes=[1], all_combinations=False)(x, net)
        assert torch.allclose(single, (net(x) + torch.flip(net(torch.flip(x, (3,))), (3,))) / 2, atol=1e-6)


def test_nnunet_weights_and_loss():
    w = nnunet_deep_supervision_weights(4)
    assert w == pytest.approx([8 / 14, 4 / 14, 2 / 14, 0.0]) and nnunet_deep_supervision_weights(1) == [1.0]
    base = torch.nn.MSELoss()
    loss = NNUNetDeepSupervisionLoss(base)
    target = torch.rand(1, 1, 8, 8)
    preds = [torch.rand(1, 1, 8, 8), torch.rand(1, 1, 4, 4), torch.rand(1, 1, 2, 2)]
    small = [torch.nn.functional.interpolate(target, size=p.shape[2:], mode="nearest-exact") for p in preds]
    expected = sum(wi * base(p, t) for wi, p, t in zip(nnunet_deep_supervision_weights(3), preds, small))
    assert loss(preds, target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss(preds[0], target).item() == pytest.approx(base(preds[0], target).item())


def test_select_full_resolution():
    a, b = torch.zeros(2, 4, 4), torch.ones(2, 2, 2)
    assert SelectFullResolutiond("pred")({"pred": [a, b]})["pred"] is a
    assert SelectFullResolutiond("pred")({"pred": b})["pred"] is b


def _img(shape, name="case_7.nii.gz"):
    return MetaTensor(torch.rand(*shape), meta={"filename_or_obj": name})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"image": _img((3, 8, 8)), "label": _img((1, 8, 8))}, "3 channels"),
        ({"image": _img((1, 8, 8)), "label": _img((1, 8, 7))}, "expected (1, 8, 8)"),
        ({"image": _img((1, 8, 8, 2))}, "2 spatial dimensions"),
        ({"image": MetaTensor(torch.full((1, 4, 4), float("nan")), meta={"filename_or_obj": "case_7.nii.gz"})}, "NaN"),
    ],
)
def test_check_input_errors_name_the_case(data, message):
    with pytest.raises(ValueError, match="case_7.nii.gz") as err:
        CheckInputd(label_keys=["label"])(data)
    assert message in str(err.value)


def test_check_datalist(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"x")
    ok = [{"image": str(tmp_path / "a.nii.gz"), "label": str(tmp_path / "a.nii.gz")}]
    assert check_datalist(ok) == ok
    with pytest.raises(FileNotFoundError, match="b.nii.gz"):
        check_datalist([{"image": str(tmp_path / "a.nii.gz"), "label": str(tmp_path / "b.nii.gz")}])
    with pytest.raises(ValueError, match="empty"):
        check_datalist([])


def test_atomic_checkpoint_keeps_old_file_on_failure(tmp_path):
    net = torch.nn.Linear(2, 2)
    engine = Engine(lambda e, b: None)
    saver = AtomicCheckpointSaver(
        str(tmp_path), {"model": net}, save_interval=1, n_saved=1, interval_filename="last.pt", engine_key="trainer"
    )
    saver.attach(engine)
    engine.run([0], max_epochs=1)
    first = torch.load(tmp_path / "last.pt", weights_only=True)
    assert set(first) == {"model", "trainer"} and first["trainer"]["iteration"] == 1
    with mock.patch("torch.save", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            engine.run([0], max_epochs=2)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["trainer"]["iteration"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]  # no temporary file left behind


def test_encoder_freeze_handler():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

        def freeze_encoder(self, freeze=True):
            self.encoder.requires_grad_(not freeze)

        def unfreeze_encoder(self):
            self.freeze_encoder(False)

    net, states = Net(), []
    engine = Engine(lambda e, b: None)
    EncoderFreezeHandler(net, freeze_epochs=2).attach(engine)
    engine.add_event_handler(Events.EPOCH_STARTED, lambda e: states.append(net.encoder.weight.requires_grad))
    engine.run([0], max_epochs=4)
    assert states == [False, False, True, True] and net.head.weight.requires_grad
    with pytest.raises(ValueError, match="freeze_encoder"):
        EncoderFreezeHandler(torch.nn.Linear(2, 2), freeze_epochs=1)
    EncoderFreezeHandler(torch.nn.Linear(2, 2), freeze_epochs=1, enabled=False)  # no pretrained: no-op


def test_config_composer_one_clash_rule_and_provenance():
    from networks.apps.bundle_config import ConfigComposer

    composer = ConfigComposer({"imports": ["$import torch"], "a": 1, "b": {"c": 2}}, "template.json")
    composer.add({"d": 3}, "common.json", after_imports=True)
    assert list(composer.config) == ["imports", "d", "a", "b"]
    with pytest.raises(KeyError, match=r"ids \['a'\] of \['network.json'\] are already set by \['template.json'\]"):
        composer.add({"a": 5}, "network.json")  # a clash is an error unless the layer overrides
    composer.override({"a": 4, "b#c": 6}, "bundle.json [train]")
    assert composer.config["a"] == 4 and composer.config["b"] == {"c": 6}
    with pytest.raises(ValueError, match="restates the value"):
        composer.override({"d": 3}, "bundle.json [common]")  # a default is written once
    composer.override({"d": 3}, "the plan", computed=True)  # computed values may equal the default
    with pytest.raises(KeyError, match="'e' is not in the template"):
        composer.override({"e": 1}, "bundle.json [train]")
    assert composer.provenance() == {
        "imports": "template.json", "d": "the plan", "a": "bundle.json [train]", "b": "template.json",
        "b#c": "bundle.json [train]",
    }  # fmt: skip
