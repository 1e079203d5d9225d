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

"""The console of a training run: one progress bar per epoch on a terminal, one summary line per epoch always.

Per-iteration values (``StatsHandler`` lines) and the engines' own chatter go to a log file and TensorBoard, not to
the console; ``verbose=True`` brings them back.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import IO, Any, Callable

from ignite.engine import Engine, Events

__all__ = ["TrainingConsole", "PassProgress", "format_duration", "loss_of"]

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (hours past 24 too)."""
    minutes, secs = divmod(int(round(max(seconds, 0.0))), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def loss_of(output: Any) -> float | None:
    """The loss in an engine's iteration output: MONAI trainers' decollated list of dicts, a dict, or a tensor."""
    if isinstance(output, (list, tuple)) and output:
        output = output[0]
    if isinstance(output, dict):
        output = output.get("loss")
    if output is None:
        return None
    return float(output.detach().mean()) if hasattr(output, "detach") else float(output)


def _is_terminal(stream: IO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _one_line_bar(total: int, desc: str, stream: IO):
    """A tqdm bar over ``total`` iterations that redraws one line and wipes it when closed."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True, file=stream, unit="it")


class _DropEngineInfo(logging.Filter):
    """Lets a console handler pass warnings and errors of the named engine loggers, and everything of the others.

    ``finish(name)`` lets it drop one more INFO record of that logger (ignite's "Engine run finished", logged after
    the ``COMPLETED`` handlers ran), after which it passes everything.
    """

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names
        self.active = True
        self._last: str | None = None
        self._final: logging.LogRecord | None = None

    def finish(self, name: str) -> None:
        self._last = name

    def filter(self, record: logging.LogRecord) -> bool:
        if record is self._final:  # dropped by every console handler, not only the first that sees it
            return False
        if not self.active or record.levelno >= logging.WARNING or record.name not in self.names:
            return True
        if record.name == self._last:
            self._final, self.active = record, False
        return False


class _StdoutHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stdout`` is when a record comes (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> IO:  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, value: IO) -> None:
        pass


def _console_logger() -> logging.Logger:
    """``networks.console``: plain lines on stdout, whatever logging configuration the run was given."""
    logger = logging.getLogger("networks.console")
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class PassProgress:
    """
    A progress bar over one pass of an engine (an evaluation or inference run), drawn only when ``stream`` is a
    terminal and removed when the pass ends.

    Args:
        desc: the bar's label.
        stream: where to draw; defaults to ``sys.stderr``.
        bar: ``None`` draws the bar only on a terminal; ``True``/``False`` force it.
    """

    def __init__(self, desc: str = "evaluate", stream: IO | None = None, bar: bool | None = None) -> None:
        self.desc, self.stream = desc, stream
        self.bar = bar
        self._bar = None

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: an evaluator, or any engine whose epochs are passes.
        """
        stream = self.stream or sys.stderr
        if not (_is_terminal(stream) if self.bar is None else self.bar):
            return
        engine.add_event_handler(Events.EPOCH_STARTED, self._open, stream)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._step)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._close)
        # no EXCEPTION_RAISED handler: one registered makes ignite hand the exception to the handlers instead of
        # raising it, and in a config without StatsHandler a failed pass would then end as if it had finished

    def _open(self, engine: Engine, stream: IO) -> None:
        self._close(engine)
        self._bar = _one_line_bar(engine.state.epoch_length, self.desc, stream)

    def _step(self, engine: Engine) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def _close(self, engine: Engine, *_: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class TrainingConsole:
    """
    What a person sees of a training run:

    - on a terminal, one progress bar per epoch with the running mean loss, the epoch's ETA and, after the first
      epoch, the run's ETA; it stays one line and is replaced by the epoch's summary line (a validation pass draws
      its own bar);
    - one summary line per epoch, on a terminal or not: epoch, mean loss, the validator's key metric when it ran
      this epoch and the best so far, the epoch's time (validation included), the ETA of the run and, with
      ``runs_after``, of the whole sequence of runs (autoseg's folds);
    - a header line when the run starts and a closing line when it ends.

    Everything the engines log at INFO level (``StatsHandler``'s per-iteration values, ``Epoch[n] Complete``) goes to
    ``log_file`` only, unless ``verbose``: this handler keeps those records of the trainer's and validator's loggers
    off the console handlers of the root logger while the run lasts, and adds ``log_file`` to the root logger.
    Attach it after the ``ValidationHandler``, so that an epoch's validation has run when its line is written.

    Args:
        log_file: file that receives every log record of the run (appended to, so a resumed run continues it).
        validator: the evaluator run by the ``ValidationHandler``, whose key metric the summary line reports.
        verbose: leave the engines' INFO records on the console as well.
        bar: ``None`` draws bars only when ``stream`` is a terminal; ``True``/``False`` force them.
        label: put before every line, e.g. ``"3d_fullres fold 1 (2/5)"``.
        runs_after: how many runs of about this length follow this one (for the ETA of the whole sequence).
        run_seconds: the mean duration of the runs before this one; without it, this run's own estimated duration
            stands for the runs after it.
        output_transform: maps ``engine.state.output`` to the iteration's loss; defaults to :func:`loss_of`.
        stream: where to draw the bars; defaults to ``sys.stderr``.
    """

    def __init__(
        self,
        log_file: str | None = None,
        validator: Engine | None = None,
        verbose: bool = False,
        bar: bool | None = None,
        label: str = "",
        runs_after: int = 0,
        run_seconds: float | None = None,
        output_transform: Callable[[Any], float | None] = loss_of,
        stream: IO | None = None,
    ) -> None:
        self.log_file, self.validator, self.verbose = log_file, validator, bool(verbose)
        self.bar, self.label = bar, f"{label} | " if label else ""
        self.runs_after, self.run_seconds = int(runs_after or 0), run_seconds
        self.output_transform = output_transform
        self.stream = stream
        self.console = _console_logger()
        self._bar = None
        self._file_handler: logging.Handler | None = None
        self._filter: _DropEngineInfo | None = None
        self._filtered: list[logging.Handler] = []
        self._loss_sum, self._loss_count = 0.0, 0
        self._validated_epoch: int | None = None
        self._run_start = self._epoch_start = 0.0
        self._first_epoch = 0
        self._root_level: int | None = None
        self._stopped = False

    # -- attaching -------------------------------------------------------------------------------------------------
    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: the trainer.
        """
        stream = self.stream or sys.stderr
        draw = _is_terminal(stream) if self.bar is None else bool(self.bar)
        engines = [engine] + ([self.validator] if self.validator is not None else [])
        for e in engines:  # the engines' INFO records must reach the log file even when the root logger is quieter
            e.logger.setLevel(logging.INFO)
        self._quiet_engines({e.logger.name for e in engines})
        if self.log_file:
            self._add_log_file()
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.EPOCH_STARTED, self._epoch_started, stream if draw else None)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._iteration_completed)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._epoch_completed)
        engine.add_event_handler(Events.COMPLETED, self._completed)
        engine.add_event_handler(Events.EXCEPTION_RAISED, self._failed)
        if self.validator is not None:
            self.validator.add_event_handler(Events.COMPLETED, self._validated, engine)
            if draw:
                PassProgress(f"{self.label}validate", stream=stream, bar=True).attach(self.validator)

    def _quiet_engines(self, names: set[str]) -> None:
        if self.verbose:
            return
        self._filter = _DropEngineInfo(names)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.addFilter(self._filter)
                self._filtered.append(handler)

    def _add_log_file(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.log_file))
        os.makedirs(folder, exist_ok=True)
        self._file_handler = logging.FileHandler(self.log_file, mode="a", encoding="utf-8")
        self._file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        self._file_handler.setLevel(logging.INFO)
        root = logging.getLogger()
        root.addHandler(self._file_handler)
        if root.getEffectiveLevel() > logging.INFO:
            self._root_level = root.level
            root.setLevel(logging.INFO)
        self.console.addHandler(self._file_handler)

    def _detach_logging(self, engine: Engine | None = None) -> None:
        """Remove the log file; take the console filter off (or, after a finished ``engine``, let it drop the
        engine's closing INFO record first)."""
        if engine is not None and self._filter is not None:
            self._filter.finish(engine.logger.name)
        else:
            for handler in self._filtered:
                handler.removeFilter(self._filter)
        self._filtered = []
        if self._file_handler is not None:
            logging.getLogger().removeHandler(self._file_handler)
            self.console.removeHandler(self._file_handler)
            self._file_handler.close()
            self._file_handler = None
        if self._root_level is not None:
            logging.getLogger().setLevel(self._root_level)
            self._root_level = None

    # -- events ----------------------------------------------------------------------------------------------------
    def _started(self, engine: Engine) -> None:
        self._run_start, self._first_epoch = time.perf_counter(), engine.state.epoch
        state = engine.state
        resumed = f", resumed after epoch {state.epoch}" if state.epoch else ""
        where = f"; per-iteration values in {self.log_file}" if self.log_file and not self.verbose else ""
        plural = "s" if state.epoch_length != 1 else ""
        self.console.info(
            "%straining epochs %d-%d of %d, %d iteration%s each%s%s",
            self.label, state.epoch + 1, state.max_epochs, state.max_epochs, state.epoch_length, plural, resumed, where,
        )  # fmt: skip

    def _epoch_started(self, engine: Engine, stream: IO | None) -> None:
        self._epoch_start = time.perf_counter()
        self._loss_sum, self._loss_count = 0.0, 0
        self._close_bar()
        if stream is not None:
            desc = f"{self.label}epoch {engine.state.epoch}/{engine.state.max_epochs}"
            self._bar = _one_line_bar(engine.state.epoch_length, desc, stream)

    def _iteration_completed(self, engine: Engine) -> None:
        loss = self.output_transform(engine.state.output)
        if loss is not None:
            self._loss_sum += loss
            self._loss_count += 1
        if self._bar is None:
            return
        postfix = f"loss {self._mean_loss():.4f}" if self._loss_count else ""
        done = engine.state.epoch - 1 - self._first_epoch
        if done > 0:  # the run's ETA once one epoch of this run has been timed
            per_epoch = (self._epoch_start - self._run_start) / done
            this_epoch = max(per_epoch - self._bar.format_dict.get("elapsed", 0), 0.0)
            left = per_epoch * (engine.state.max_epochs - engine.state.epoch) + this_epoch
            postfix += f", run ETA {format_duration(left)}"
        self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(1)
        if (engine.state.iteration - 1) % engine.state.epoch_length + 1 == engine.state.epoch_length:
            self._close_bar()  # before the validation pass draws its own

    def _validated(self, validator: Engine, trainer: Engine) -> None:
        self._validated_epoch = trainer.state.epoch

    def _epoch_completed(self, engine: Engine) -> None:
        self._close_bar()
        state = engine.state
        now = time.perf_counter()
        parts = [f"{self.label}epoch {state.epoch:>{len(str(state.max_epochs))}}/{state.max_epochs}"]
        if self._loss_count:
            parts.append(f"loss {self._mean_loss():.4f}")
        if self.validator is not None and self._validated_epoch == state.epoch:
            parts.append(self._metric_text())
        parts.append(f"{now - self._epoch_start:.1f} s")
        per_epoch = (now - self._run_start) / max(state.epoch - self._first_epoch, 1)
        left = per_epoch * (state.max_epochs - state.epoch)
        eta = f"ETA {format_duration(left)}"
        if self.runs_after:  # the runs after this one start from epoch 0
            run_s = self.run_seconds if self.run_seconds else per_epoch * state.max_epochs
            eta += f", all runs {format_duration(left + self.runs_after * run_s)}"
        parts.append(eta)
        self.console.info(" | ".join(parts))

    def _metric_text(self) -> str:
        vstate = self.validator.state
        name = getattr(vstate, "key_metric_name", None)
        if not name or name not in vstate.metrics:
            return "validated"
        text = f"{name} {float(vstate.metrics[name]):.4f}"
        best, best_epoch = getattr(vstate, "best_metric", None), getattr(vstate, "best_metric_epoch", -1)
        if best is not None and best_epoch is not None and best_epoch >= 0:
            text += f" (best {float(best):.4f} @ {best_epoch})"
        return text

    def _completed(self, engine: Engine) -> None:
        self._close_bar()
        state = engine.state
        text = f"{self.label}finished at epoch {state.epoch}/{state.max_epochs}"
        text += f" in {format_duration(time.perf_counter() - self._run_start)}"
        vstate = self.validator.state if self.validator is not None else None
        if vstate is not None and getattr(vstate, "key_metric_name", None) and vstate.best_metric_epoch >= 0:
            best, best_epoch = float(vstate.best_metric), vstate.best_metric_epoch
            text += f"; best {vstate.key_metric_name} {best:.4f} at epoch {best_epoch}"
        self.console.info(text)
        self._detach_logging(engine)

    def _failed(self, engine: Engine, error: BaseException) -> None:
        # ignite fires EXCEPTION_RAISED twice for an error inside an iteration (the iteration's, then the run's)
        if not self._stopped:
            self._stopped = True
            self._close_bar()
            self.console.error("%straining stopped at epoch %d: %r", self.label, engine.state.epoch, error)
            if self._file_handler is not None:  # the traceback for the log file (the console gets Python's own)
                exc_info = (type(error), error, error.__traceback__)
                record = logging.LogRecord("networks.console", logging.ERROR, __file__, 0, "traceback", None, exc_info)
                self._file_handler.handle(record)
            self._detach_logging()
        raise error  # as MONAI's handlers do: ignite re-raises only when no EXCEPTION_RAISED handler is registered

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _mean_loss(self) -> float:
        return self._loss_sum / max(self._loss_count, 1)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
