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

"""Tests of networks.nets.pretrained: VMamba ImageNet weights and checkpoints of the original code."""

from __future__ import annotations

import argparse
import re

import pytest
import torch

from networks.nets import SwinUMamba, SwinUMambaD, VMambaEncoder, load_original_checkpoint, load_vmamba_pretrained

SMALL = {"dims": (8, 16, 32, 64), "depths": (1, 1, 2, 1), "d_state": 4}


def _official_vmamba_checkpoint(path, in_channels=3, seed=123, dims=SMALL["dims"]):
    """Write a checkpoint in the official VMamba layout: {"model": sd} with layers.{i}.downsample, norm, head."""
    torch.manual_seed(seed)
    enc = VMambaEncoder(2, in_channels, dims, SMALL["depths"], 4, SMALL["d_state"])
    # "trained" weights: every tensor differs from a fresh model's
    sd = {
        re.sub(r"^downsamples\.(\d+)\.", r"layers.\1.downsample.", k): v + 0.01 * torch.randn_like(v)
        for k, v in enc.state_dict().items()
    }
    sd.update({"norm.weight": torch.ones(dims[-1]), "norm.bias": torch.zeros(dims[-1])})
    sd.update({"head.weight": torch.randn(1000, dims[-1]), "head.bias": torch.zeros(1000)})
    torch.save({"model": sd}, path)
    return sd


def _expected(sd, key):
    return sd[re.sub(r"^downsamples\.(\d+)\.", r"layers.\1.downsample.", key)]


def test_vmamba_weights_into_swin_umamba(tmp_path):
    sd = _official_vmamba_checkpoint(tmp_path / "vmamba.pth")
    torch.manual_seed(0)
    net = SwinUMamba(2, 1, 2, feature_size=4, **SMALL)
    before = {k: v.clone() for k, v in net.encoder.state_dict().items()}
    report = load_vmamba_pretrained(net, tmp_path / "vmamba.pth")
    assert set(report["skipped"]) == {k for k in sd if k.startswith(("norm.", "head.", "patch_embed."))}
    assert set(report["missing"]) == {k for k in before if k.startswith("patch_embed.")}
    assert "layers.0.downsample.reduction.weight" in report["loaded"]
    for key, value in net.encoder.state_dict().items():
        if key.startswith("patch_embed."):
            assert torch.equal(value, before[key])
        else:
            assert torch.equal(value, _expected(sd, key)), key
            assert not torch.equal(value, before[key]), key  # really changed


@pytest.mark.parametrize("in_channels,loads_patch_embed", [(3, True), (1, False)])
def test_vmamba_weights_into_swin_umamba_d(tmp_path, in_channels, loads_patch_embed):
    sd = _official_vmamba_checkpoint(tmp_path / "vmamba.pth")
    torch.save(sd, tmp_path / "bare.pth")  # a bare state dict works too
    net = SwinUMambaD(2, in_channels, 2, **SMALL)
    report = load_vmamba_pretrained(net, tmp_path / "bare.pth")
    patch_keys = {k for k in sd if k.startswith("patch_embed.")}
    assert patch_keys.issubset(report["loaded"]) == loads_patch_embed
    assert patch_keys.isdisjoint(report["loaded"]) != loads_patch_embed
    assert torch.equal(
        net.encoder.layers[2].blocks[1].self_attention.A_logs, sd["layers.2.blocks.1.self_attention.A_logs"]
    )


def test_vmamba_weights_into_encoder(tmp_path):
    sd = _official_vmamba_checkpoint(tmp_path / "vmamba.pth")
    enc = VMambaEncoder(2, 3, SMALL["dims"], SMALL["depths"], 4, SMALL["d_state"])
    report = load_vmamba_pretrained(enc, tmp_path / "vmamba.pth")
    assert report["missing"] == [] and sorted(report["skipped"]) == [
        "head.bias",
        "head.weight",
        "norm.bias",
        "norm.weight",
    ]
    assert torch.equal(enc.patch_embed.proj.weight, sd["patch_embed.proj.weight"])


def test_vmamba_shape_mismatch_and_bad_files(tmp_path):
    _official_vmamba_checkpoint(tmp_path / "wide.pth", dims=(16, 32, 64, 128))
    net = SwinUMambaD(2, 1, 2, **SMALL)
    with pytest.raises(ValueError, match=r"Shape mismatch for 'layers\.0\.blocks\.0\.ln_1\.weight'.*\(16,\).*\(8,\)"):
        load_vmamba_pretrained(net, tmp_path / "wide.pth")
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        load_vmamba_pretrained(net, tmp_path / "nowhere.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth"):
        load_vmamba_pretrained(net, tmp_path / "junk.pth")
    config = argparse.Namespace(lr=1e-4)  # an arbitrary object, as old training scripts saved: not weights_only
    torch.save({"model": net.encoder.state_dict(), "config": config}, tmp_path / "pickled.pth")
    with pytest.raises(ValueError, match="trust_checkpoint"):
        load_vmamba_pretrained(net, tmp_path / "pickled.pth")
    assert load_vmamba_pretrained(net, tmp_path / "pickled.pth", trust_checkpoint=True)["missing"] == []
    with pytest.raises(TypeError, match="Linear"):
        load_vmamba_pretrained(torch.nn.Linear(2, 2), tmp_path / "pickled.pth")


# our key -> the original code's key (written independently of the loader's table)
def _to_original_swin_umamba(key):
    key = re.sub(r"^encoder\.", "vssm_encoder.", key)
    key = re.sub(r"^skips\.(\d)\.", lambda m: f"encoder{int(m.group(1)) + 1}.", key)
    key = re.sub(r"^up_blocks\.(\d)\.", lambda m: f"decoder{6 - int(m.group(1))}.", key)
    key = re.sub(r"^final_block\.", "decoder1.", key)
    return re.sub(r"^heads\.", "out_layers.", key)


def _to_original_swin_umamba_d(key):
    key = re.sub(r"^encoder\.", "vssm_encoder.", key)
    key = re.sub(r"^final_expand\.", "decoder.expand_layers.3.", key)
    key = re.sub(r"^up_expands\.", "decoder.expand_layers.", key)
    key = re.sub(r"^up_stages\.", "decoder.stages.", key)
    key = re.sub(r"^fuse\.", "decoder.concat_back_dim.", key)
    return re.sub(r"^heads\.", "decoder.seg_layers.", key)


@pytest.mark.parametrize(
    "cls,config,to_original,prefix",
    [
        (SwinUMamba, {**SMALL, "feature_size": 4}, _to_original_swin_umamba, ""),
        (SwinUMamba, {**SMALL, "feature_size": 4}, _to_original_swin_umamba, "module."),
        (SwinUMambaD, SMALL, _to_original_swin_umamba_d, "_orig_mod."),
    ],
)
def test_original_checkpoint_round_trip(tmp_path, cls, config, to_original, prefix):
    torch.manual_seed(1)
    source = cls(2, 1, 3, deep_supervision=True, **config).eval()
    original_sd = {prefix + to_original(k): v for k, v in source.state_dict().items()}
    assert "vssm_encoder.downsamples.0.reduction.weight" in {k[len(prefix) :] for k in original_sd}
    torch.save({"network_weights": original_sd, "optimizer_state": {}, "current_epoch": 3}, tmp_path / "ckpt.pth")
    torch.manual_seed(2)
    target = cls(2, 1, 3, deep_supervision=True, **config).eval()
    report = load_original_checkpoint(target, tmp_path / "ckpt.pth")
    assert len(report["loaded"]) == len(original_sd)
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)

    original_sd[prefix + "decoder.unknown.weight"] = torch.zeros(1)
    del original_sd[prefix + to_original("heads.0.conv.conv.weight" if cls is SwinUMamba else "heads.0.weight")]
    torch.save(original_sd, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=r"decoder\.unknown\.weight.*heads\.0\.(conv\.conv\.)?weight"):
        load_original_checkpoint(target, tmp_path / "bad.pth")


def test_original_checkpoint_shape_mismatch(tmp_path):
    source = SwinUMambaD(2, 1, 3, **SMALL)
    sd = {_to_original_swin_umamba_d(k): v for k, v in source.state_dict().items()}
    torch.save({"network_weights": sd}, tmp_path / "ckpt.pth")
    with pytest.raises(ValueError, match=r"decoder\.seg_layers\.0\.weight': checkpoint \(3, 32, 1, 1\) vs model \(5"):
        load_original_checkpoint(SwinUMambaD(2, 1, 5, **SMALL), tmp_path / "ckpt.pth")
