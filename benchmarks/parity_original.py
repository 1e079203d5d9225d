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
Parity with the original Swin-UMamba code (docs/parity.md): build the original ``SwinUMamba`` and ``SwinUMambaD`` as
its nnU-Net plans functions do, load their weights into ours with ``load_original_checkpoint`` (strict), and compare
the outputs on the same input in eval mode and in train mode with deep supervision.

The original code is not part of this repository: pass a clone of https://github.com/JiarunLiu/Swin-UMamba. What it
imports and a CPU machine cannot (``mamba_ssm``'s CUDA scan, ``timm``, nnU-Net's plans classes) is replaced by
stand-in modules while the original files are imported: the scan by ours, ``DropPath`` by MONAI's, nnU-Net's He
initialisation by its two lines. Needs ``einops`` (``pip install einops``).

Usage (repository root)::

    git clone https://github.com/JiarunLiu/Swin-UMamba /tmp/Swin-UMamba
    python benchmarks/parity_original.py --original_dir /tmp/Swin-UMamba   # writes docs/results/parity_original.json
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import types
from unittest import mock

import fire
import torch
from monai.networks.layers import DropPath

from networks.apps.evidence import machine_description, record_measurement
from networks.layers.selective_scan import selective_scan
from networks.nets import SwinUMamba, SwinUMambaD, load_original_checkpoint

__all__ = ["compare", "main"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join("docs", "results", "parity_original.json")
NETS = os.path.join("swin_umamba", "nnunetv2", "nets")


class _InitWeightsHe:
    """nnU-Net's ``InitWeights_He``: Kaiming-normal convolution weights (leaky slope ``neg_slope``), zero biases."""

    def __init__(self, neg_slope: float = 1e-2) -> None:
        self.neg_slope = neg_slope

    def __call__(self, module: torch.nn.Module) -> None:
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)):
            module.weight = torch.nn.init.kaiming_normal_(module.weight, a=self.neg_slope)
            if module.bias is not None:
                module.bias = torch.nn.init.constant_(module.bias, 0)


def _stand_in_modules() -> dict[str, types.ModuleType]:
    """What the original files import and a CPU machine cannot, as modules to put into ``sys.modules`` while they
    are imported and built: the CUDA scan -> ours, ``timm``'s layers -> MONAI's / torch's, nnU-Net's plans classes
    (unused) and initialisation."""
    contents = {
        "mamba_ssm.ops.selective_scan_interface": {"selective_scan_fn": selective_scan,
                                                   "selective_scan_ref": selective_scan},
        "timm.models.layers": {"DropPath": DropPath, "trunc_normal_": torch.nn.init.trunc_normal_,
                               "to_2tuple": lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)},
        "nnunetv2.utilities.plans_handling.plans_handler": {"ConfigurationManager": object, "PlansManager": object},
        "nnunetv2.utilities.network_initialization": {"InitWeights_He": _InitWeightsHe},
        # it zeroes the last norm of dynamic_network_architectures' own residual blocks, which these files do not use
        "dynamic_network_architectures.initialization.weight_init": {"init_last_bn_before_add_to_0": lambda m: None},
    }  # fmt: skip
    modules: dict[str, types.ModuleType] = {}
    for name, attributes in contents.items():
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # the parent packages too
            modules.setdefault(".".join(parts[:k]), types.ModuleType(".".join(parts[:k])))
        modules[name].__dict__.update(attributes)
    return modules


def _import_original(original_dir: str, name: str):
    path = os.path.join(original_dir, NETS, f"{name}.py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: --original_dir must be a clone of JiarunLiu/Swin-UMamba")
    spec = importlib.util.spec_from_file_location(f"original_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _original_models(original_dir: str, out_channels: int) -> dict:
    """The original networks with the arguments of ``get_swin_umamba_from_plans`` / ``get_swin_umamba_d_from_plans``."""
    plain, d = _import_original(original_dir, "SwinUMamba"), _import_original(original_dir, "SwinUMambaD")
    swin = plain.SwinUMamba(in_chans=1, out_chans=out_channels, feat_size=[48, 96, 192, 384, 768],
                            deep_supervision=True, hidden_size=768)  # fmt: skip
    vss = dict(in_chans=1, patch_size=4, depths=[2, 2, 9, 2], dims=96, drop_path_rate=0.2)
    decoder = dict(num_classes=out_channels, deep_supervision=True, features_per_stage=[96, 192, 384, 768],
                   drop_path_rate=0.2, d_state=16)  # fmt: skip
    swin_d = d.SwinUMambaD(vss, decoder)
    swin_d.apply(_InitWeightsHe(1e-2))
    return {"SwinUMamba": swin, "SwinUMambaD": swin_d}


def _no_drop_path(model: torch.nn.Module) -> None:
    """Stochastic depth off in both nets, so train mode is deterministic."""
    for module in model.modules():
        if hasattr(module, "drop_prob"):
            module.drop_prob = 0.0


def _outputs(model: torch.nn.Module, x: torch.Tensor, train: bool) -> list[torch.Tensor]:
    model.train(train)
    with torch.no_grad():
        out = model(x)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def compare(original, ours, sizes: list[tuple[int, int]], seed: int = 0) -> list[dict]:
    """Max abs difference of the eval output and of every deep-supervision output in train mode, per input size."""
    rows = []
    for h, w in sizes:
        x = torch.randn(2, 1, h, w, generator=torch.Generator().manual_seed(seed))
        # the original returns every deep-supervision output in train mode, and only in train mode
        original.deep_supervision = False
        if hasattr(original, "decoder"):
            original.decoder.deep_supervision = False
        eval_a, eval_b = _outputs(original, x, False)[0], _outputs(ours, x, False)[0]
        original.deep_supervision = True
        if hasattr(original, "decoder"):
            original.decoder.deep_supervision = True
        train_a, train_b = _outputs(original, x, True), _outputs(ours, x, True)
        if len(train_a) != len(train_b):
            raise ValueError(f"deep supervision: the original gives {len(train_a)} outputs, ours {len(train_b)}")
        train_a = sorted(train_a, key=lambda t: -t.numel())  # both largest first
        train_b = sorted(train_b, key=lambda t: -t.numel())
        rows.append({
            "input": f"2x1x{h}x{w}",
            "eval_max_abs_diff": float((eval_a - eval_b).abs().max()),
            "eval_max_abs_output": float(eval_a.abs().max()),
            "train_max_abs_diff": max(float((a - b).abs().max()) for a, b in zip(train_a, train_b)),
            "train_outputs": len(train_a),
        })  # fmt: skip
    return rows


def main(original_dir: str, sizes: str = "64x64,64x96", out_channels: int = 14, seed: int = 0) -> dict:
    """Compare both networks with the original at each input size; write the results file and render it."""
    torch.manual_seed(seed)
    sizes_hw = [tuple(int(v) for v in s.split("x")) for s in sizes.split(",")]
    with mock.patch.dict(sys.modules, _stand_in_modules()), tempfile.TemporaryDirectory() as scratch:
        return _compare_and_record(original_dir, scratch, sizes, sizes_hw, out_channels, seed)


def _compare_and_record(original_dir: str, scratch: str, sizes: str, sizes_hw: list, out_channels: int, seed: int):
    """``main`` with the stand-ins importable; checkpoints go to ``scratch``."""
    original_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=original_dir, capture_output=True,
                                     text=True).stdout.strip() or "unknown"  # fmt: skip
    table = []
    for name, original in _original_models(original_dir, out_channels).items():
        ours = (SwinUMamba if name == "SwinUMamba" else SwinUMambaD)(2, 1, out_channels, deep_supervision=True)
        checkpoint = os.path.join(scratch, f"{name}.pth")
        torch.save({"network_weights": original.state_dict()}, checkpoint)
        load_original_checkpoint(ours, checkpoint)  # strict: every key of both sides mapped
        for model in (original, ours):
            _no_drop_path(model)
        count = [sum(p.numel() for p in m.parameters()) for m in (original, ours)]
        for row in compare(original, ours, sizes_hw, seed):
            table.append([
                name, f"{count[0]:,} / {count[1]:,}", row["input"],
                f"{row['eval_max_abs_diff']:.1e} (outputs up to {row['eval_max_abs_output']:.1f})",
                f"{row['train_max_abs_diff']:.1e} ({row['train_outputs']} outputs)",
            ])  # fmt: skip
    data = record_measurement(
        REPO,
        os.path.join(REPO, SOURCE),
        f"Outputs of the original code's networks (commit {original_commit}) and ours with its weights",
        ["net", "parameters (original / ours)", "input", "eval: max abs difference",
         "train, deep supervision: max abs difference"],
        table,
        f"python benchmarks/parity_original.py --original_dir <clone of JiarunLiu/Swin-UMamba> --sizes {sizes}",
        os.path.join("docs", "parity.md"),
        f"{machine_description()}, torch {torch.__version__}, fp32 CPU",
        ["Weights of the original nets (He-initialised as its plans functions do) saved as an nnU-Net "
         "checkpoint and loaded into ours with load_original_checkpoint (strict); stochastic depth off in "
         "both; the same random input, batch 2. A difference of 0 is bit-identical."],
    )  # fmt: skip
    print("\n".join(" | ".join(row) for row in table))
    return data


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
