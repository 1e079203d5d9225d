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

"""A MONAI ``CheckpointSaver`` whose files are written atomically, with a fixed name for the last checkpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ignite.engine import Engine
from ignite.handlers import DiskSaver
from monai.handlers import CheckpointLoader, CheckpointSaver

__all__ = ["AtomicDiskSaver", "AtomicCheckpointSaver", "ResumeCheckpointLoader"]


class AtomicDiskSaver(DiskSaver):
    """
    Ignite DiskSaver with atomic=True (serialise to a temporary file in the same folder, then
    os.replace) and an optional fixed file name.

    With a fixed name, removing the previous file is skipped: os.replace overwrites it in one
    step, so a crash never leaves the folder without a readable checkpoint (ignite removes the old
    file before writing the new one, which with a fixed name would open such a window).

    Args:
        dirname: folder of the checkpoints (created if missing).
        filename: fixed file name, or None for ignite's names (<prefix>_<name>=<score>.pt).
    """

    def __init__(self, dirname: str, filename: str | None = None) -> None:
        super().__init__(dirname=dirname, atomic=True, create_dir=True, require_empty=False)
        self.filename = filename

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        super().__call__(checkpoint, self.filename or filename, metadata)

    def remove(self, filename: str) -> None:
        if self.filename is None and os.path.exists(os.path.join(self.dirname, filename)):
            super().remove(filename)


class AtomicCheckpointSaver(CheckpointSaver):
    """
    MONAI CheckpointSaver that writes every file atomically.

    MONAI 1.6's CheckpointSaver builds ignite's DiskSaver with atomic=False, so an
    interrupted save can leave a truncated model.pt; this subclass swaps in
    :py:class:`AtomicDiskSaver` for the final, key-metric and interval checkpoints. It also accepts
    interval_filename so the periodic ("last") checkpoint has a fixed name that a
    CheckpointLoader can resume from.

    A single-object save_dict ({"model": net}) is saved as that object's plain state_dict
    (ignite's behaviour), readable with torch.load(path, weights_only=True).

    ``engine_key`` adds the engine the saver is attached to (the trainer) to ``save_dict`` under that
    key, so a config can save the trainer's epoch/iteration without referring to the trainer from its
    own handler list (a circular reference in a bundle config). ``state_dict()`` returns the
    key-metric tracking (best score and file), so saving this handler inside the "last" checkpoint
    lets a resumed run keep the best ``model.pt`` instead of overwriting it with a worse one.

    Args:
        interval_filename: fixed name of the interval checkpoint (with save_interval > 0 and
            n_saved=1), e.g. "checkpoint_last.pt"; None keeps ignite's numbered names.
        args: positional arguments of monai.handlers.CheckpointSaver.
        kwargs: keyword arguments of monai.handlers.CheckpointSaver.
    """

    def __init__(self, *args, interval_filename: str | None = None, engine_key: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.engine_key = engine_key
        if interval_filename is not None and self._interval_checkpoint is not None:
            if self._interval_checkpoint.n_saved != 1:
                raise ValueError("interval_filename needs n_saved=1: a fixed name holds one checkpoint.")
        for attr in ("_final_checkpoint", "_key_metric_checkpoint", "_interval_checkpoint"):
            checkpoint = getattr(self, attr)
            if checkpoint is not None:
                name = getattr(checkpoint.save_handler, "filename", None)
                if attr == "_interval_checkpoint":
                    name = interval_filename
                checkpoint.save_handler = AtomicDiskSaver(self.save_dir, name)

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: Ignite Engine, a trainer or evaluator.
        """
        if self.engine_key is not None:
            self.save_dict[self.engine_key] = engine  # the ignite Checkpoint objects share this dict
        super().attach(engine)

    def state_dict(self) -> dict:
        """Key-metric tracking state (restored by ``load_state_dict``), empty without ``save_key_metric``."""
        return {} if self._key_metric_checkpoint is None else dict(self._key_metric_checkpoint.state_dict())

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict:
            super().load_state_dict(state_dict)


class ResumeCheckpointLoader(CheckpointLoader):
    """
    MONAI ``CheckpointLoader`` for resuming: checks that the checkpoint exists (a clear error naming
    the path instead of a failure at engine start) and can add the engine it is attached to (the
    trainer) to ``load_dict`` under ``engine_key``, mirroring :py:class:`AtomicCheckpointSaver`.

    The trainer's ``max_epochs`` from the config is kept, so a run resumed with a larger ``epochs``
    continues counting from the saved epoch.

    Args:
        load_path: checkpoint file, e.g. ``"$@ckpt_dir + '/checkpoint_last.pt'"``.
        load_dict: objects to restore, e.g. ``{"model": "@network", "optimizer": "@optimizer"}``.
        engine_key: if set, the attached engine is restored from this key (e.g. ``"trainer"``).
        kwargs: other arguments of ``monai.handlers.CheckpointLoader``.
    """

    def __init__(self, load_path: str, load_dict: dict, engine_key: str | None = None, **kwargs) -> None:
        if not os.path.isfile(load_path):
            raise FileNotFoundError(
                f"cannot resume: checkpoint '{load_path}' does not exist (train once without resume, or set ckpt_dir)."
            )
        super().__init__(load_path, dict(load_dict), **kwargs)
        self.engine_key = engine_key

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: Ignite Engine, usually the trainer.
        """
        if self.engine_key is not None:
            self.load_dict[self.engine_key] = engine
        super().attach(engine)
