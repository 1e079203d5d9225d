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

"""Tests of networks.nets: VMambaEncoder, SwinUMamba, SwinUMambaD, the FlexibleUNet backbone."""

from __future__ import annotations

import copy

import pytest
import torch
from monai.losses import DeepSupervisionLoss, DiceCELoss
from monai.networks.nets import FlexibleUNet

from networks.nets import SwinUMamba, SwinUMambaD, VMambaEncoder

# small configurations: same structure as the full networks, a fraction of the cost
SMALL = {"dims": (8, 16, 32, 64), "depths": (1, 1, 1, 1), "d_state": 4}
SMALL_UNET = {**SMALL, "feature_size": 4}
NETS = {"SwinUMamba": (SwinUMamba, SMALL_UNET), "SwinUMambaD": (SwinUMambaD, SMALL)}
DS_SCALES = {"SwinUMamba": (1, 2, 4, 8), "SwinUMambaD": (1, 4, 8, 16)}


def _build(name, in_channels=1, out_channels=3, seed=0, **kwargs):
    torch.manual_seed(seed)
    cls, config = NETS[name]
    return cls(2, in_channels, out_channels, **{**config, **kwargs})


@pytest.mark.parametrize(
    "cls,classes,expected",
    [
        (SwinUMamba, 14, 59_889_368),
        (SwinUMamba, 13, 59_888_644),
        (SwinUMamba, 2, 59_880_680),
        (SwinUMambaD, 14, 27_497_720),
        (SwinUMambaD, 13, 27_496_948),
        (SwinUMambaD, 2, 27_488_456),
    ],
)
def test_parameter_count_matches_original(cls, classes, expected):
    with torch.device("meta"):  # counts only: no memory, no init cost
        net = cls(spatial_dims=2, in_channels=1, out_channels=classes, deep_supervision=True)
    assert sum(p.numel() for p in net.parameters()) == expected


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("batch,in_ch,out_ch,hw", [(1, 1, 2, (32, 32)), (2, 3, 4, (64, 32)), (3, 2, 1, (32, 96))])
def test_shapes_eval_and_deep_supervision(name, batch, in_ch, out_ch, hw):
    no_drop = {"drop_path_rate": 0.0, **({"decoder_drop_path_rate": 0.0} if name == "SwinUMambaD" else {})}
    net = _build(name, in_ch, out_ch, deep_supervision=True, **no_drop)
    x = torch.randn(batch, in_ch, *hw)
    with torch.no_grad():
        outs = net.train()(x)
        single = net.eval()(x)
    assert isinstance(outs, list) and len(outs) == 4
    for out, scale in zip(outs, DS_SCALES[name]):
        assert out.shape == (batch, out_ch, hw[0] // scale, hw[1] // scale)
    assert isinstance(single, torch.Tensor) and single.shape == (batch, out_ch, *hw)
    torch.testing.assert_close(single, outs[0])  # no stochastic depth: train == eval logits


@pytest.mark.parametrize("name", list(NETS))
def test_no_deep_supervision_returns_tensor_in_training(name):
    net = _build(name).train()
    assert net(torch.randn(1, 1, 32, 32)).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("name", list(NETS))
def test_gradient_reaches_every_parameter(name):
    net = _build(name, deep_supervision=True).train()
    outs = net(torch.randn(2, 1, 32, 32))
    label = torch.randint(0, 3, (2, 1, 32, 32)).float()  # DeepSupervisionLoss resizes it
    loss = DeepSupervisionLoss(DiceCELoss(to_onehot_y=True, softmax=True))(outs, label)
    loss.backward()
    no_grad = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not no_grad, no_grad
    assert torch.isfinite(loss)


@pytest.mark.parametrize("name", list(NETS))
def test_same_seed_same_output_and_deepcopy(name):
    x = torch.randn(1, 1, 32, 32)
    a, b = _build(name, seed=1).eval(), _build(name, seed=1).eval()
    with torch.no_grad():
        ya, yb = a(x), b(x)
        torch.testing.assert_close(ya, yb, rtol=0, atol=0)
        twin = copy.deepcopy(a)
        torch.testing.assert_close(twin(x), ya, rtol=0, atol=0)


@pytest.mark.parametrize("name", list(NETS))
def test_jit_trace_round_trip(name, tmp_path):
    net = _build(name, deep_supervision=True).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        traced = torch.jit.trace(net, x, check_trace=False)
        path = str(tmp_path / "net.ts")
        torch.jit.save(traced, path)
        loaded = torch.jit.load(path)
        torch.testing.assert_close(loaded(x), net(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(NETS))
def test_freeze_encoder_keeps_patch_embed_trainable(name):
    net = _build(name)
    net.freeze_encoder()
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith("encoder.") and "patch_embed" not in n for n in frozen)
    assert {n for n, _ in net.encoder.named_parameters() if not n.startswith("patch_embed.")} == {
        n[len("encoder.") :] for n in frozen
    }
    net.unfreeze_encoder()
    assert all(p.requires_grad for p in net.parameters())


def test_vmamba_encoder_features():
    torch.manual_seed(0)
    enc = VMambaEncoder(2, 3, dims=8, depths=(1, 1, 2, 1), d_state=4)
    assert enc.dims == (8, 16, 32, 64)
    x = torch.randn(2, 3, 64, 32)
    feats = enc(x)
    assert feats[0] is x
    assert [tuple(f.shape) for f in feats[1:]] == [(2, 8, 16, 8), (2, 16, 8, 4), (2, 32, 4, 2), (2, 64, 2, 1)]


def test_flexible_unet_backbone():
    torch.manual_seed(0)
    net = FlexibleUNet(spatial_dims=2, in_channels=1, out_channels=2, backbone="vmamba-tiny").eval()
    with torch.no_grad():
        assert net(torch.randn(1, 1, 32, 64)).shape == (1, 2, 32, 64)
    with pytest.raises(ValueError, match="pretrained"):
        FlexibleUNet(spatial_dims=2, in_channels=1, out_channels=2, backbone="vmamba-tiny", pretrained=True)


@pytest.mark.parametrize("name", list(NETS))
def test_bad_inputs_raise(name):
    cls, config = NETS[name]
    net = _build(name).eval()
    with pytest.raises(ValueError, match=r"multiples of 32.*\(1, 1, 48, 64\)"):
        net(torch.randn(1, 1, 48, 64))
    with pytest.raises(ValueError, match="input channels"):
        net(torch.randn(1, 2, 32, 32))
    with pytest.raises(ValueError, match="4D"):
        net(torch.randn(1, 1, 32, 32, 32))
    with pytest.raises(ValueError, match="spatial_dims"):
        cls(3, 1, 2, **config)
    with pytest.raises(ValueError, match="out_channels"):
        cls(2, 1, 0, **config)
    with pytest.raises(ValueError, match="dims"):
        cls(2, 1, 2, **{**config, "depths": (1, 1, 1)})
    with pytest.raises(ValueError, match="drop_path_rate"):
        cls(2, 1, 2, **{**config, "drop_path_rate": 1.5})
