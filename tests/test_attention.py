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

"""Attention gates (AAM, CBAM, ECA-style channel, spatial), the attention ResNets and the cross-channel loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from networks.blocks import CBAM, AggregateAttention, ChannelAttention, SpatialAttention
from networks.blocks.attention import eca_kernel_size
from networks.losses import CrossChannelLoss, channel_keep_mask, cross_channel_terms
from networks.nets import AttentionResNet

SHAPES = {2: (2, 16, 12, 10), 3: (2, 16, 6, 8, 5)}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def cbam_hand_count(c: int, k: int = 7, dims: int = 2) -> int:
    hidden = c // 16
    return (c * hidden + hidden) + (hidden * c + c) + (2 * k**dims + 1)


def aam_hand_count(c: int, k: int = 7, dims: int = 2) -> int:
    return eca_kernel_size(c) + 2 * k**dims + 1


def test_eca_kernel_size_follows_eca_net():
    # k = |(log2 C + 1) / 2| made odd: C=64 -> 3, 128 -> 5 (4 made odd), 256 -> 5, 512 -> 5, 2048 -> 7
    assert [eca_kernel_size(c) for c in (16, 64, 128, 256, 512, 2048)] == [3, 3, 5, 5, 5, 7]


@pytest.mark.parametrize("dims", [2, 3])
def test_gate_and_output_shapes(dims):
    x = torch.randn(SHAPES[dims])
    b, c, *spatial = x.shape
    assert ChannelAttention(dims, c)(x).shape == (b, c) + (1,) * dims
    assert SpatialAttention(dims)(x).shape == (b, 1, *spatial)
    for module in (AggregateAttention(dims, c), AggregateAttention(dims, c, fusion="sum"), CBAM(dims, c)):
        assert module(x).shape == x.shape


@pytest.mark.parametrize("dims", [2, 3])
def test_gradients_reach_every_parameter_and_the_input(dims):
    # seeded: CBAM's channel MLP has 2 hidden ReLU units at 32 channels, and some random inits leave both dead
    torch.manual_seed(0)
    for module in (AggregateAttention(dims, 32), AggregateAttention(dims, 32, fusion="sum"), CBAM(dims, 32)):
        x = torch.randn((2, 32) + SHAPES[dims][2:], requires_grad=True)
        module(x).square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fusion_options_compute_what_the_docstring_says():
    torch.manual_seed(0)
    x = torch.randn(2, 24, 9, 7)
    product = AggregateAttention(2, 24, fusion="product")
    total = AggregateAttention(2, 24, fusion="sum")
    total.load_state_dict(product.state_dict())
    c, s = product.channel(x), product.spatial(x)  # both gates from the same input: parallel, not chained
    torch.testing.assert_close(product(x), x * c * s)
    torch.testing.assert_close(total(x), x * c + x * s)
    assert not torch.allclose(product(x), total(x))
    with pytest.raises(ValueError):
        AggregateAttention(2, 24, fusion="max")


def test_cbam_chains_channel_then_spatial():
    torch.manual_seed(0)
    x = torch.randn(2, 32, 8, 8)
    cbam = CBAM(2, 32)
    refined = x * cbam.channel(x)
    torch.testing.assert_close(cbam(x), refined * cbam.spatial(refined))


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("channels", [64, 128, 256, 512])
def test_parameter_counts_match_hand_counts(dims, channels):
    assert n_params(ChannelAttention(dims, channels)) == eca_kernel_size(channels)
    assert n_params(SpatialAttention(dims)) == 2 * 7**dims + 1
    assert n_params(AggregateAttention(dims, channels)) == aam_hand_count(channels, dims=dims)
    assert n_params(CBAM(dims, channels)) == cbam_hand_count(channels, dims=dims)
    assert n_params(AggregateAttention(dims, channels)) < n_params(CBAM(dims, channels))


def test_channel_gate_options():
    assert n_params(ChannelAttention(2, 64, kernel_size=7, pooling="avgmax")) == 7
    with pytest.raises(ValueError):
        ChannelAttention(2, 64, kernel_size=4)
    with pytest.raises(ValueError):
        ChannelAttention(2, 64, pooling="median")


RESNET18_WIDTHS = [64, 64, 128, 128, 256, 256, 512, 512]  # output channels of the 8 basic blocks
RESNET50_WIDTHS = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3  # of the 16 bottlenecks


@pytest.mark.parametrize("dims", [2, 3])
def test_attention_resnet_parameter_counts(dims):
    plain = n_params(AttentionResNet(dims, 1, 10, "resnet18", None))
    assert n_params(AttentionResNet(dims, 1, 10, "resnet18", "none")) == plain  # the command-line spelling
    aam = n_params(AttentionResNet(dims, 1, 10, "resnet18", "aam"))
    cbam = n_params(AttentionResNet(dims, 1, 10, "resnet18", "cbam"))
    se = n_params(AttentionResNet(dims, 1, 10, "resnet18", "se"))
    assert aam - plain == sum(aam_hand_count(c, dims=dims) for c in RESNET18_WIDTHS)
    assert cbam - plain == sum(cbam_hand_count(c, dims=dims) for c in RESNET18_WIDTHS)
    assert se - plain == sum(2 * c * (c // 16) + c // 16 + c for c in RESNET18_WIDTHS)
    assert plain < aam < se < cbam
    plain50 = n_params(AttentionResNet(dims, 1, 10, "resnet50", None))
    aam50 = n_params(AttentionResNet(dims, 1, 10, "resnet50", "aam"))
    assert aam50 - plain50 == sum(aam_hand_count(c, dims=dims) for c in RESNET50_WIDTHS)


@pytest.mark.parametrize("dims,size", [(2, (32, 32)), (3, (16, 16, 16))])
@pytest.mark.parametrize("attention", ["aam", "cbam", "se", None])
def test_attention_resnet_forward_backward(dims, size, attention):
    net = AttentionResNet(dims, 1, 7, "resnet18", attention, stem_kernel_size=3, stem_max_pool=False)
    x = torch.randn((2, 1) + size)
    logits = net(x)
    assert logits.shape == (2, 7)
    F.cross_entropy(logits, torch.tensor([1, 3])).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.eval()
    assert net(x).shape == (2, 7)


def test_attention_sits_before_the_residual_addition():
    net = AttentionResNet(2, 1, 3, "resnet18", "aam")
    block = net.layer2[0]
    assert isinstance(block.bn2, torch.nn.Sequential) and isinstance(block.bn2[1], AggregateAttention)
    bottleneck = AttentionResNet(2, 1, 3, "resnet50", "cbam").layer3[2]
    assert isinstance(bottleneck.bn3[1], CBAM) and not isinstance(bottleneck.bn2, torch.nn.Sequential)


def test_return_features_only_in_training():
    net = AttentionResNet(2, 1, 5, "resnet18", "aam", return_features=True, stem_kernel_size=3, stem_max_pool=False)
    logits, features = net(torch.randn(2, 1, 32, 32))
    assert logits.shape == (2, 5) and features.shape == (2, 512, 2, 2)
    assert isinstance(net.eval()(torch.randn(1, 1, 32, 32)), torch.Tensor)


# ---------------------------------------------------------------------------------------------------------------------
# cross-channel loss


def test_cross_channel_loss_is_cross_entropy_with_weight_zero():
    logits, target = torch.randn(4, 6), torch.tensor([0, 5, 2, 2])
    features = torch.rand(4, 12, 3, 3)
    expected = F.cross_entropy(logits, target)
    torch.testing.assert_close(CrossChannelLoss(6, weight=0)(logits, target), expected)
    torch.testing.assert_close(CrossChannelLoss(6, weight=0)((logits, features), target[:, None]), expected)
    with pytest.raises(ValueError, match="logits only"):
        CrossChannelLoss(6, weight=0.5)(logits, target)  # features missing: an error, not plain cross-entropy


def test_diversity_is_one_over_xi_when_channels_agree_and_one_when_they_differ():
    xi, classes = 3, 2
    same = torch.zeros(1, classes * xi, 4, 4)
    same[:, :, 0, 0] = 50.0  # every channel peaks at one position
    spread = torch.zeros(1, classes * xi, 4, 4)
    for c in range(classes * xi):
        spread[0, c, c % xi, 1] = 50.0  # channels of a group peak at different positions
    target = torch.tensor([1])
    _, div_same = cross_channel_terms(same, target, classes, xi, drop_fraction=0)
    _, div_spread = cross_channel_terms(spread, target, classes, xi, drop_fraction=0)
    torch.testing.assert_close(div_same, torch.tensor(1 / xi), atol=1e-4, rtol=0)
    torch.testing.assert_close(div_spread, torch.tensor(1.0), atol=1e-4, rtol=0)


def test_discriminality_without_dropping_is_cross_entropy_of_group_maxima():
    torch.manual_seed(0)
    features, target = torch.rand(3, 8, 2, 5), torch.tensor([0, 1, 3])
    dis, _ = cross_channel_terms(features, target, 4, 2, drop_fraction=0)
    scores = features.reshape(3, 4, 2, 10).amax(2).mean(-1)
    torch.testing.assert_close(dis, F.cross_entropy(scores, target))


def test_dropping_zeroes_exactly_the_drop_count_per_group():
    torch.manual_seed(0)
    mask = channel_keep_mask(50, 7, 4, 2)
    assert ((1 - mask).sum(-1) == 2).all()  # two of four channels dropped in every (sample, class) group
    assert 0 < mask[:, :, 0].mean() < 1  # which ones varies
    # channels valued 1..4 in each group: the group maximum after dropping is the largest kept value
    features = torch.arange(1.0, 5.0).repeat(3).reshape(1, 12, 1, 1).expand(6, 12, 2, 2).contiguous()
    torch.manual_seed(1)
    dis, _ = cross_channel_terms(features, torch.zeros(6, dtype=torch.long), 3, 4, drop_fraction=0.5)
    torch.manual_seed(1)
    kept = channel_keep_mask(6, 3, 4, 2)
    scores = (kept * torch.arange(1.0, 5.0)).amax(-1)
    torch.testing.assert_close(dis, F.cross_entropy(scores, torch.zeros(6, dtype=torch.long)))


def test_cross_channel_loss_backward_and_errors():
    net = AttentionResNet(2, 1, 10, "resnet18", "aam", return_features=True, stem_kernel_size=3, stem_max_pool=False)
    loss = CrossChannelLoss(10)(net(torch.randn(2, 1, 32, 32)), torch.tensor([[3], [9]]))
    loss.backward()
    assert torch.isfinite(loss) and net.conv1.weight.grad is not None
    with pytest.raises(ValueError, match="at least one channel per class"):
        cross_channel_terms(torch.rand(2, 8, 3, 3), torch.tensor([0, 1]), 5, 2)
    with pytest.raises(ValueError, match="drop_fraction"):
        cross_channel_terms(torch.rand(2, 8, 3, 3), torch.tensor([0, 1]), 2, 4, drop_fraction=1.0)


@pytest.mark.parametrize("attention", ["se", "cbam", "aam"])
def test_attention_resnets_script_to_the_same_outputs(attention):
    """TorchScript scripting (model-zoo's ``ckpt_export`` default) keeps the eager outputs, the kept gate included."""
    torch.manual_seed(0)
    net = AttentionResNet(2, 1, 5, "resnet18", attention, stem_kernel_size=3, stem_max_pool=False).eval()
    scripted = torch.jit.script(net)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), net(x))
    gate = torch.jit.script(SpatialAttention(2, keep_gate=True))
    gate(x)
    assert gate.last_gate is not None and gate.last_gate.shape == (2, 1, 32, 32)
