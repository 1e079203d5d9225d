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

"""networks.handlers.CPUTimeBudget with a fake clock (no timing assertions)."""

from __future__ import annotations

import json

from ignite.engine import Engine, Events

from networks.handlers import CPUTimeBudget


class FakeClock:
    """Advance by one CPU second per training iteration (inside the step), not between iterations."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _trainer(clock: FakeClock) -> tuple[Engine, list[int]]:
    def step(engine, batch):
        clock.now += 1.0

    engine = Engine(step)
    validated = []
    engine.add_event_handler(Events.EPOCH_COMPLETED, lambda e: validated.append(e.state.iteration))
    return engine, validated


def test_terminates_when_budget_spent(tmp_path):
    clock = FakeClock()
    engine, validated = _trainer(clock)
    CPUTimeBudget(4.5, save_path=str(tmp_path / "budget.json"), clock=clock).attach(engine)
    engine.run(range(3), max_epochs=100)
    assert engine.state.iteration == 5  # 5 s >= 4.5 s: epoch 2 ends early at its 2nd iteration
    assert validated == [3, 5]  # the epoch-end handlers (validation, checkpoints) ran on the last partial epoch
    summary = json.loads((tmp_path / "budget.json").read_text())
    assert summary == {"budget_s": 4.5, "cpu_time_s": 5.0, "iterations": 5, "epochs": 2, "exhausted": True}


def test_does_not_terminate_early():
    clock = FakeClock()
    engine, validated = _trainer(clock)
    handler = CPUTimeBudget(100.0, clock=clock)
    handler.attach(engine)
    engine.run(range(3), max_epochs=4)
    assert engine.state.iteration == 12 and len(validated) == 4
    assert handler.spent_s == 12.0 and engine.state.cpu_time_s == 12.0


def test_time_between_iterations_not_counted():
    clock = FakeClock()
    engine, _ = _trainer(clock)
    engine.add_event_handler(Events.EPOCH_COMPLETED, lambda e: setattr(clock, "now", clock.now + 50.0))  # validation
    CPUTimeBudget(7.5, clock=clock).attach(engine)
    engine.run(range(3), max_epochs=10)
    assert engine.state.iteration == 8


def test_disabled_without_budget():
    clock = FakeClock()
    engine, _ = _trainer(clock)
    CPUTimeBudget(None, clock=clock).attach(engine)
    engine.run(range(3), max_epochs=3)
    assert engine.state.iteration == 9
