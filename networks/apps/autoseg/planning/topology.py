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

"""U-Net topology from spacing and patch size, and the size estimates planning compares against references.

The rules are nnU-Net v2's (``get_pool_and_conv_props``): pool an axis while its feature map stays at least twice the
minimum edge (three times when it is the only axis left) and its spacing is within a factor 2 of the finest; a
kernel becomes 3 along an axis once that axis' spacing is within a factor 2 of the finest (1 before: anisotropic data
starts with in-plane convolutions); the bottleneck is always 3. The VRAM proxy is nnU-Net's: the number of elements
of every convolution's output feature map (what ``compute_conv_feature_map_size`` of its networks sums), computed
here from the arguments instead of by building the network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "pool_and_conv_props",
    "pad_shape",
    "plain_unet_feature_map_size",
    "residual_unet_feature_map_size",
    "unet_multiply_adds",
]


def pad_shape(shape: Sequence[int], divisor: Sequence[int]) -> np.ndarray:
    """Round each entry of ``shape`` up to a multiple of ``divisor`` (entries already multiples stay)."""
    shape, divisor = np.asarray(shape, dtype=np.int64), np.asarray(divisor, dtype=np.int64)
    return (np.ceil(shape / divisor) * divisor).astype(int)


def pool_and_conv_props(
    spacing: Sequence[float], patch_size: Sequence[int], min_feature_map_size: int = 4, max_numpool: int = 999999
):
    """Pools per axis, pooling strides, conv kernel sizes, padded patch size and the patch divisor.

    Returns:
        ``(num_pool_per_axis, strides, kernel_sizes, patch_size, must_be_divisible_by)``; ``strides`` starts with
        the all-ones stride of the first stage, ``kernel_sizes`` ends with the bottleneck's.
    """
    dim = len(spacing)
    current_spacing = [float(s) for s in spacing]
    current_size = [float(s) for s in patch_size]
    strides = [[1] * dim]
    kernels: list[list[int]] = []
    num_pool = [0] * dim
    kernel = [1] * dim
    while True:
        valid = [i for i in range(dim) if current_size[i] >= 2 * min_feature_map_size]
        if not valid:
            break
        finest = min(current_spacing[i] for i in valid)
        valid = [i for i in valid if current_spacing[i] / finest < 2 and num_pool[i] < max_numpool]
        if len(valid) == 1 and current_size[valid[0]] < 3 * min_feature_map_size:
            break
        if not valid:
            break
        overall_finest = min(current_spacing)
        for d in range(dim):
            if kernel[d] != 3 and current_spacing[d] / overall_finest < 2:
                kernel[d] = 3
        stride = [1] * dim
        for i in valid:
            stride[i] = 2
            num_pool[i] += 1
            current_spacing[i] *= 2
            current_size[i] = np.ceil(current_size[i] / 2)
        strides.append(stride)
        kernels.append(list(kernel))
    divisor = 2 ** np.array(num_pool)
    padded = pad_shape(patch_size, divisor)
    kernels.append([3] * dim)
    return (
        num_pool,
        tuple(tuple(s) for s in strides),
        tuple(tuple(k) for k in kernels),
        tuple(int(p) for p in padded),
        divisor,
    )


def _stage_sizes(patch_size: Sequence[int], strides: Sequence[Sequence[int]]) -> list[list[int]]:
    sizes, size = [], list(patch_size)
    for stride in strides:
        size = [s // t for s, t in zip(size, stride)]
        sizes.append(size)
    return sizes


def _decoder_feature_map_size(sizes, features, num_classes: int, convs_per_stage: Sequence[int]) -> int:
    total = 0
    for s in range(len(features) - 2, -1, -1):  # up-convolution, its convs, and the final 1x1 segmentation
        voxels = int(np.prod(sizes[s], dtype=np.int64))
        total += (convs_per_stage[len(features) - 2 - s] + 1) * features[s] * voxels
    return total + num_classes * int(np.prod(sizes[0], dtype=np.int64))


def plain_unet_feature_map_size(
    patch_size, strides, features, convs_per_stage, convs_per_stage_decoder, num_classes: int
) -> int:
    """Elements of all conv outputs of nnU-Net's ``PlainConvUNet`` (no deep supervision) for one sample."""
    sizes = _stage_sizes(patch_size, strides)
    encoder = sum(n * f * int(np.prod(size, dtype=np.int64)) for n, f, size in zip(convs_per_stage, features, sizes))
    return encoder + _decoder_feature_map_size(sizes, features, num_classes, convs_per_stage_decoder)


def residual_unet_feature_map_size(
    patch_size, strides, features, blocks_per_stage, convs_per_stage_decoder, num_classes: int
) -> int:
    """Elements of all conv outputs of nnU-Net's ``ResidualEncoderUNet`` (basic blocks, stem, no deep supervision)."""
    sizes = _stage_sizes(patch_size, strides)
    total = features[0] * int(np.prod(patch_size, dtype=np.int64))  # stem conv
    in_features, in_size = features[0], list(patch_size)
    for blocks, f, size in zip(blocks_per_stage, features, sizes):
        voxels = int(np.prod(size, dtype=np.int64))
        projection = in_features != f or list(size) != list(in_size)  # the first block's skip needs a 1x1 conv
        total += (2 * blocks + int(projection)) * f * voxels
        in_features, in_size = f, size
    return total + _decoder_feature_map_size(sizes, features, num_classes, convs_per_stage_decoder)


def unet_multiply_adds(
    patch_size,
    strides,
    kernel_sizes,
    features,
    convs_per_stage,
    convs_per_stage_decoder,
    in_channels: int,
    num_classes: int,
) -> int:
    """Forward multiply-adds of one sample through the plain U-Net of a plan (nnU-Net's ``PlainConvUNet``).

    Each convolution costs ``output elements x input channels x kernel volume``; normalisation and activations are
    left out (memory-bound; the CPU preset's measured throughput absorbs them).
    """
    sizes = _stage_sizes(patch_size, strides)
    kvol = [int(np.prod(k)) for k in kernel_sizes]
    total, c_in = 0, in_channels
    for s, (n, f, size) in enumerate(zip(convs_per_stage, features, sizes)):
        voxels = int(np.prod(size, dtype=np.int64))
        total += voxels * f * (c_in * kvol[s] + (n - 1) * f * kvol[s])
        c_in = f
    for s in range(len(features) - 2, -1, -1):
        voxels = int(np.prod(sizes[s], dtype=np.int64))
        n = convs_per_stage_decoder[len(features) - 2 - s]
        up = features[s + 1]  # transposed conv with kernel = stride: one input tap per output voxel and channel
        total += voxels * features[s] * (up + 2 * features[s] * kvol[s] + (n - 1) * features[s] * kvol[s])
    return total + int(np.prod(sizes[0], dtype=np.int64)) * features[0] * num_classes
