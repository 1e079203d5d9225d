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

"""Mask R-CNN parts: targets from instance maps, detections back to label maps, tiled stitching, the network."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.transforms import SpatialCropd

from networks.inferers import TiledInstanceInferer, tile_layout
from networks.nets import MicroscopyMaskRCNN, resnet_fpn
from networks.transforms import InstanceMapToTargetsd, detections_to_instance_map, instance_targets, split_foreground


@pytest.fixture(scope="module")
def dsb_instances(nuclei2d_dir):
    doc = json.loads((nuclei2d_dir / "dataset.json").read_text())
    return np.asarray(nib.load(nuclei2d_dir / doc["training"][0]["instance"]).dataobj).astype(np.int32)


def test_targets_have_tight_boxes_with_exclusive_max_corners(dsb_instances):
    inst = dsb_instances
    t = instance_targets(inst, min_area=1)
    assert len(t["boxes"]) == len(np.unique(inst)) - 1
    for box, mask, i in zip(t["boxes"].long(), t["masks"], t["instance_ids"]):
        assert torch.equal(mask.bool(), torch.as_tensor(inst == int(i)))
        ys, xs = np.nonzero(mask.numpy())
        assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]  # x on the last axis
    one = np.zeros((5, 5), int)
    one[2, 3] = 7
    assert instance_targets(one, min_area=1)["boxes"].tolist() == [[3.0, 2.0, 4.0, 3.0]]  # side 1, never 0
    assert len(instance_targets(one)["boxes"]) == 0  # below the default minimum area


def test_crop_keeps_the_visible_part_of_a_cut_instance(dsb_instances):
    inst = torch.as_tensor(dsb_instances)[None]
    crop = {"instance": SpatialCropd("instance", roi_start=(0, 0), roi_end=(100, 100))({"instance": inst})["instance"]}
    out = InstanceMapToTargetsd("instance", min_area=5)(crop)
    cut = [i for i in np.unique(crop["instance"]) if i and (crop["instance"] == i).sum() < (inst == i).sum()]
    assert cut, "the crop should cut some nuclei"
    kept = {int(i): m for i, m in zip(instance_targets(crop["instance"])["instance_ids"], out["masks"])}
    for i in cut:
        visible = int((crop["instance"] == i).sum())
        if visible >= 5:
            assert int(kept[int(i)].sum()) == visible
        else:
            assert int(i) not in kept
    assert out["boxes"].dtype == torch.float32 and out["labels"].dtype == torch.int64


def test_detections_to_instance_map_keeps_the_most_confident_pixels():
    masks = torch.zeros(3, 1, 10, 10)
    masks[0, 0, 2:6, 2:6] = 0.9  # lower score, overlapped
    masks[1, 0, 4:8, 4:8] = 0.8  # higher score
    masks[2, 0, 0:2, 8:10] = 0.9  # below the score threshold
    label, scores = detections_to_instance_map(masks, torch.tensor([0.6, 0.9, 0.3]), min_area=1)
    assert scores == {1: pytest.approx(0.9), 2: pytest.approx(0.6)}
    assert (label[4:8, 4:8] == 1).all() and (label[2:4, 2:6] == 2).all() and label[0, 9] == 0


class _BrightBlobDetector(torch.nn.Module):
    """Detector with torchvision's eval contract that finds bright connected blobs exactly (tile by tile)."""

    training = False

    def __init__(self, jitter: bool = False) -> None:
        super().__init__()
        self.jitter, self.calls = jitter, 0

    def forward(self, images):
        outs = []
        for image in images:
            self.calls += 1
            comps = split_foreground(image[0].numpy() > 0.5, "components")
            if self.jitter:  # each tile sees the blobs one pixel up, not at all, or one pixel down
                comps = _shift_rows(comps, self.calls % 3 - 1)
            ids = [i for i in np.unique(comps) if i]
            masks = torch.stack([torch.as_tensor(comps == i) for i in ids]).float()[:, None] if ids else None
            scores = torch.full((len(ids),), 1.0 - 0.01 * self.calls)
            outs.append({"masks": masks if ids else torch.zeros(0, 1, *image.shape[-2:]), "scores": scores})
        return outs


def _shift_rows(a: np.ndarray, d: int) -> np.ndarray:
    out = np.zeros_like(a)
    if d > 0:
        out[d:] = a[:-d]
    elif d < 0:
        out[:d] = a[-d:]
    else:
        out[:] = a
    return out


def test_tiles_cover_the_axis_once():
    for size in (100, 256, 257, 576, 1000):
        own = [range(a, b) for *_, a, b in tile_layout(size, 256, 64)]
        assert sorted(i for r in own for i in r) == list(range(size))


@pytest.mark.parametrize("jitter", [False, True])
def test_tiled_inference_stitches_instances_across_tile_borders(jitter):
    rng = np.random.default_rng(0)
    image = np.zeros((450, 600), np.float32)
    yy, xx = np.mgrid[:450, :600]
    centres = [(rng.integers(15, 435), rng.integers(15, 585)) for _ in range(40)]
    centres += [(224, 224), (100, 224), (224, 400), (384, 224)]  # on tile ownership borders
    disks = []
    for cy, cx in centres:
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= 10**2
        if (image[disk] == 0).all() and not any((d & ndilate(disk)).any() for d in disks):
            image[disk] = 1.0
            disks.append(disk)
    inferer = TiledInstanceInferer(tile_size=256, overlap=64, min_area=1)
    out = inferer(torch.as_tensor(image)[None, None], _BrightBlobDetector(jitter))
    ids = out[0, 0].numpy().astype(int)
    assert out.shape == (1, 2, 450, 600)
    assert len(np.unique(ids)) - 1 == len(disks)  # none counted twice, none lost
    for disk in disks:
        values, counts = np.unique(ids[disk], return_counts=True)
        main = values[counts.argmax()]
        assert main > 0
        if jitter:  # the tiles disagree by a pixel: one copy wins whole, no sliver of the other stays
            assert ((ids == main) & disk).sum() / ((ids == main) | disk).sum() > 0.85
        else:
            assert len(values) == 1 and (ids == main).sum() == disk.sum()  # none cut in two


def ndilate(mask):
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=2)


def test_network_native_resolution_trainable_norms_no_download(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    model = MicroscopyMaskRCNN(in_channels=1, backbone="resnet18", max_detections=300)
    assert not any("Frozen" in type(m).__name__ for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())
    assert [s[0] for s in model.rpn.anchor_generator.sizes] == [8, 16, 32, 64, 128]
    assert model.roi_heads.detections_per_img == 300
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(1, 210, 300)])[0]
    assert out["masks"].shape[-2:] == (210, 300)  # no rescaling to 800 px
    assert not (tmp_path / "torch_home").exists()  # nothing was downloaded
    three = MicroscopyMaskRCNN(in_channels=3, backbone="resnet18", norm="batch")
    assert three.backbone.body.conv1.in_channels == 3


def test_training_step_of_both_backbones_gives_finite_losses(dsb_instances):
    torch.manual_seed(0)
    crop = dsb_instances[:128, :128]
    target = {k: v for k, v in instance_targets(crop).items() if k != "instance_ids"}
    image = torch.as_tensor(crop > 0, dtype=torch.float32)[None]
    vmamba = dict(backbone="vmamba", vmamba_dims=(16, 32, 64, 128), vmamba_depths=(1, 1, 1, 1))
    for kwargs in (dict(backbone="resnet18"), vmamba):
        model = MicroscopyMaskRCNN(**kwargs)
        model.train()
        losses = model([image], [target])
        assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"}
        total = sum(losses.values())
        total.backward()
        assert torch.isfinite(total)


def test_local_backbone_checkpoint_loads_all_but_a_mismatched_stem(tmp_path):
    rgb = resnet_fpn("resnet18", in_channels=3)
    torch.save(rgb.body.state_dict(), tmp_path / "backbone.pt")
    model = MicroscopyMaskRCNN(in_channels=1, backbone="resnet18", backbone_checkpoint=str(tmp_path / "backbone.pt"))
    body = model.backbone.body
    assert torch.equal(body.layer1[0].conv1.weight, rgb.body.layer1[0].conv1.weight)
    assert body.conv1.weight.shape[1] == 1
    torch.save({"nothing": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt"):
        MicroscopyMaskRCNN(backbone="resnet18", backbone_checkpoint=str(tmp_path / "bad.pt"))


def test_network_scripts_to_the_same_detections():
    """TorchScript scripting (model-zoo's ``ckpt_export`` default): scripted Mask R-CNN returns torchvision's
    ``(losses, detections)`` pair with the eager detections."""
    torch.manual_seed(0)
    net = MicroscopyMaskRCNN(in_channels=1, num_classes=2, backbone="resnet18", norm="group").eval()
    scripted = torch.jit.script(net)
    image = torch.rand(1, 96, 96)
    with torch.no_grad():
        eager, (_, detections) = net([image]), scripted([image])
    assert eager[0]["boxes"].shape[0] > 0
    for key in ("boxes", "scores", "labels", "masks"):
        torch.testing.assert_close(detections[0][key], eager[0][key])
