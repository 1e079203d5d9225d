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
MONAI Label app for this project's bundles: MONAI Label's ``monaibundle`` sample app (copied beside this file as
``stock_main.py`` by ``scripts/monailabel_loop.py app``) with two fixes for a bundle that has no trained model yet.

- Inference asked of such a bundle gets a clear answer (HTTP 404 with the message) naming the missing
  ``models/model.pt`` and what to do; the stock app fails with ``AttributeError: 'BundleInferTask' object has no
  attribute 'description'``.
- Once a training has written ``models/model.pt``, the bundle serves inference at the next request; the stock app
  builds its inference tasks at start only, so it needs a restart.

Everything else is the stock app: same settings (``--conf models <names> --conf zoo_source local --conf sam2 false``).
"""

from __future__ import annotations

import importlib.util
import logging
import os

from fastapi import HTTPException
from monailabel.interfaces.app import MONAILabelApp

logger = logging.getLogger(__name__)


def _stock_app_class():
    spec = importlib.util.spec_from_file_location(
        "stock_main", os.path.join(os.path.dirname(__file__), "stock_main.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MyApp


_StockApp = _stock_app_class()


# MONAILabelApp is named as a direct base because MONAI Label finds the app class by its direct bases
class ZooBundleApp(_StockApp, MONAILabelApp):
    def _model_file(self, name: str) -> str:
        return os.path.join(self.models[name], "models", "model.pt")

    def _refresh_infers(self) -> None:
        """Rebuild the inference tasks when a bundle that had no model.pt at start has one now."""
        stale = [n for n, t in self._infers.items() if not t.is_valid() and n in self.models]
        if any(os.path.isfile(self._model_file(n)) for n in stale):
            logger.info(f"trained model(s) now available for {stale}: rebuilding the inference tasks")
            self._infers = self.init_infers()

    def info(self):
        self._refresh_infers()
        return super().info()

    def infer(self, request, datastore=None):
        self._refresh_infers()
        name = request.get("model")
        task = self._infers.get(name)
        if task is not None and not task.is_valid() and name in self.models:
            # an HTTPException reaches a REST client as {"detail": message}; others become a bare 500
            raise HTTPException(
                status_code=404,
                detail=f"model '{name}' has no trained weights yet: {self._model_file(name)} does not exist. "
                f"Train it first (POST /train/{name}, or 'Train' in the client); inference uses the new model as "
                "soon as the training has written it.",
            )
        return super().infer(request, datastore)
