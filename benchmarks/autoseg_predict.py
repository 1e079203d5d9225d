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
Inference time per case of autoseg's predictor against a plain MONAI ``sliding_window_inference`` of the same
network, in one run, so the cost of what nnU-Net adds is visible: reading and preprocessing the raw file, mirror
TTA, undoing the resampling/cropping/transpose and writing the label map in the input's format.

Rows (each the median of ``--repeats`` runs per case, same network weights, same device and thread count):

- ``plain``: ``sliding_window_inference`` (Gaussian, overlap 0.5) + argmax on the already preprocessed array;
- ``sliding_window_only``: our window inferer without TTA on the preprocessed array (same as plain: a check);
- ``tta``: with mirror TTA (4 passes in 2D, 8 in 3D);
- ``predictor``: ``predict_cases`` end to end from the raw file to the written label map (TTA and export).

Usage::

    python benchmarks/autoseg_predict.py --work_dir WORK --dataset_dir RAW --configuration 3d_fullres [--cases 2]

``WORK`` holds a trained (or at least generated) bundle for the configuration: ``autoseg.py train`` or ``run``.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time

import fire
import torch
from monai.bundle import ConfigParser
from monai.inferers import sliding_window_inference

from networks.apps.autoseg import LoadCased, WorkFolder
from networks.apps.autoseg.dataset import load_raw_dataset
from networks.apps.autoseg.inference.predict import ConfigurationModel, predict_cases, window_inferer
from networks.apps.autoseg.training.train import write_work_bundle


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(work_dir: str, dataset_dir: str, configuration: str = "3d_fullres", cases: int = 2, repeats: int = 1) -> None:
    torch.set_grad_enabled(False)
    dataset = load_raw_dataset(dataset_dir)
    bundle = write_work_bundle(WorkFolder(work_dir), configuration)
    checkpoint = bundle / "models" / "model.pt"
    if not checkpoint.is_file():  # timing does not depend on the weights: save the initial ones
        parser = ConfigParser()
        parser.read_config(str(bundle / "configs" / "inference.json"))
        torch.save(parser.get_parsed_content("network_def").state_dict(), checkpoint)
    model = ConfigurationModel(str(bundle), [str(checkpoint)]).load(torch.device("cpu"))
    network, patch = model.networks[0], model.patch_size
    loader = LoadCased("image", model.plans_file, configuration, model.dataset_json_file)
    rows = {"plain": [], "sliding_window_only": [], "tta": [], "predictor": []}
    names = sorted(dataset.cases)[:cases]
    for case in names:
        image = loader({"image": dataset.cases[case]["images"]})["image"][None]
        if len(patch) == 2:  # a 2D network: the plain baseline runs it on each slice as a batch
            slices = image[0].permute(1, 0, 2, 3)

            def plain():
                return sliding_window_inference(slices, patch, 4, network, 0.5, "gaussian").argmax(1)

        else:

            def plain():
                return sliding_window_inference(image, patch, 2, network, 0.5, "gaussian").argmax(1)

        rows["plain"].append(_median_time(plain, repeats))
        no_tta, tta = window_inferer(patch, mirror=False), window_inferer(patch, mirror=True)
        rows["sliding_window_only"].append(_median_time(lambda: no_tta(image, network).argmax(1), repeats))
        rows["tta"].append(_median_time(lambda: tta(image, network).argmax(1), repeats))
        with tempfile.TemporaryDirectory() as out:
            single = {case: dataset.cases[case]["images"]}
            rows["predictor"].append(_median_time(lambda: predict_cases(single, out, [model], "cpu"), repeats))
    base = statistics.mean(rows["plain"])
    print(
        f"# {configuration} of {dataset.name}, patch {patch}, {len(names)} case(s), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )
    print("| path | seconds per case | vs plain |")
    print("|---|---|---|")
    for name, times in rows.items():
        mean = statistics.mean(times)
        print(f"| {name} | {mean:.2f} | {mean / base:.2f}x |")


if __name__ == "__main__":
    fire.Fire(main)
