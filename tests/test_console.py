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

"""TrainingConsole on a real MONAI trainer and evaluator (a linear regression on in-memory data, so it runs in a
second): what reaches the console with and without a terminal, what reaches the log file, and FoldProgress."""

from __future__ import annotations

import io
import logging
import re
import time

import pytest
import torch
from monai.engines import SupervisedEvaluator, SupervisedTrainer
from monai.handlers import MeanAbsoluteError, StatsHandler, ValidationHandler, from_engine

from networks.apps.autoseg.training.train import FoldProgress
from networks.handlers import TrainingConsole
from networks.handlers.console import _StdoutHandler, format_duration, loss_of

EPOCHS, ITERATIONS = 3, 4


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _data(n: int):
    torch.manual_seed(0)
    x = torch.randn(n, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])
    return [{"image": x[i : i + 2], "label": y[i : i + 2]} for i in range(0, n, 2)]


def _run(tmp_path, fail_at_epoch: int | None = None, step_s: float = 0.0, **console_args) -> TrainingConsole:
    """Train 3 epochs of 4 iterations, validating at epoch 2, with the bundles' handler order; ``step_s`` slows
    the iterations past tqdm's redraw interval (0.1 s)."""
    network = torch.nn.Linear(4, 1)
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=_data(4),
        network=network,
        key_val_metric={"val_mae": MeanAbsoluteError(output_transform=from_engine(["pred", "label"]))},
        val_handlers=[StatsHandler(name=None, iteration_log=False)],
    )
    console = TrainingConsole(log_file=str(tmp_path / "logs" / "training.log"), validator=evaluator, **console_args)

    def loss(pred, label, _mse=torch.nn.MSELoss()):
        if trainer.state.epoch == fail_at_epoch:
            raise RuntimeError("loss exploded")
        time.sleep(step_s)
        return _mse(pred, label)

    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=EPOCHS,
        train_data_loader=_data(2 * ITERATIONS),
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.05),
        loss_function=loss,
        train_handlers=[
            ValidationHandler(validator=evaluator, interval=2, epoch_level=True),
            console,
            StatsHandler(name=None, tag_name="train_loss", output_transform=from_engine(["loss"], first=True)),
        ],
    )
    trainer.run()
    return console


@pytest.fixture
def root_console(capsys):
    """A console handler on the root logger, as a bundle's logging.conf sets it (stdout, INFO)."""
    root = logging.getLogger()
    handler = _StdoutHandler()  # writes to sys.stdout as capsys has it when a record comes
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_one_line_per_epoch_without_a_terminal(tmp_path, capsys, root_console):
    bars = io.StringIO()
    _run(tmp_path, stream=bars)
    lines = capsys.readouterr().out.splitlines()
    assert bars.getvalue() == ""  # not a terminal: no bar at all
    header, *epochs, footer = lines
    assert header.startswith("training epochs 1-3 of 3, 4 iterations each; per-iteration values in ")
    assert len(epochs) == EPOCHS, lines
    for e, line in enumerate(epochs, 1):
        assert re.fullmatch(rf"epoch {e}/3 \| loss \d+\.\d{{4}} \| .*\d+\.\d s \| ETA \d+:\d\d:\d\d", line), line
    assert "val_mae" not in epochs[0] and "val_mae" not in epochs[2]
    assert re.search(r"\| val_mae \d+\.\d{4} \(best \d+\.\d{4} @ 2\) \|", epochs[1]), epochs[1]
    assert epochs[2].endswith("ETA 0:00:00")
    assert footer.startswith("finished at epoch 3/3 in ") and "best val_mae" in footer
    log = (tmp_path / "logs" / "training.log").read_text()
    assert log.count("Iter:") == EPOCHS * ITERATIONS and "train_loss" in log  # per-iteration values: file only
    assert "Epoch[1] Complete" in log and "epoch 2/3" in log
    logging.getLogger("ignite.engine.engine.SupervisedTrainer").info("after the run")
    assert capsys.readouterr().out == "after the run\n"  # the console shows the engines' records again


def test_terminal_bar_and_epoch_lines(tmp_path, capsys, root_console):
    bars = _Terminal()
    _run(tmp_path, stream=bars, label="2d fold 0 (1/2)", runs_after=1, step_s=0.12)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == EPOCHS + 2 and all(line.startswith("2d fold 0 (1/2) | ") for line in out)
    assert all(", all runs " in line for line in out[1:-1])
    drawn = bars.getvalue()
    for e in range(1, EPOCHS + 1):
        assert f"2d fold 0 (1/2) | epoch {e}/3" in drawn
    assert "loss " in drawn and "validate" in drawn
    # the run's ETA once an epoch was timed: never more than the epochs left at the time of one epoch each
    etas = [int(m[0]) * 3600 + int(m[1]) * 60 + int(m[2]) for m in re.findall(r"run ETA (\d+):(\d\d):(\d\d)", drawn)]
    assert etas and max(etas) <= 2 * 4 * 0.12 + 2, etas
    assert "\n" not in drawn  # each bar redraws its one line and is wiped when it closes


def test_verbose_keeps_iteration_lines_on_the_console(tmp_path, capsys, root_console):
    _run(tmp_path, stream=io.StringIO(), verbose=True)
    out = capsys.readouterr().out
    assert out.count("Iter:") == EPOCHS * ITERATIONS


def test_failure_is_reported_and_logging_restored(tmp_path, capsys, root_console):
    with pytest.raises(RuntimeError, match="loss exploded"):
        _run(tmp_path, fail_at_epoch=2, stream=io.StringIO())
    out = capsys.readouterr().out
    assert out.count("training stopped at epoch 2: RuntimeError('loss exploded')") == 1
    assert not root_console.filters
    log_file = tmp_path / "logs" / "training.log"
    assert not any(getattr(h, "baseFilename", None) == str(log_file) for h in logging.getLogger().handlers)
    assert "Traceback" in log_file.read_text() and "loss exploded" in log_file.read_text()


def test_helpers():
    assert format_duration(3725.4) == "1:02:05" and format_duration(90061) == "25:01:01"
    assert loss_of([{"loss": torch.tensor(0.5)}]) == 0.5 and loss_of({"loss": 2}) == 2.0 and loss_of({}) is None


def test_fold_progress_labels_and_mean_duration():
    progress = FoldProgress(4)
    assert progress.overrides("2d", 0) == {"progress_label": "2d fold 0 (1/4)", "runs_after": 3}
    progress.finished(100.0)
    progress.finished(None)  # a fold that was already trained: counted, not timed
    progress.finished(50.0)
    assert progress.overrides("3d_fullres", 3) == {
        "progress_label": "3d_fullres fold 3 (4/4)",
        "runs_after": 0,
        "run_seconds": 75.0,
    }
