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

"""Run one function per case in worker processes, with a progress bar; a failing case is reported, not fatal."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tqdm import tqdm

__all__ = ["default_num_processes", "map_cases"]


def default_num_processes() -> int:
    """Worker count: the CPUs this process may use, at most 8 (nnU-Net's default)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(8, available))


def map_cases(
    fn: Callable[[str], Any], cases: Sequence[str], num_processes: int | None = None, desc: str = "cases"
) -> Iterator[tuple[str, Any, BaseException | None]]:
    """Yield ``(case, result, error)`` for every case as it finishes; ``error`` is the exception a case raised.

    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one).

    Raises:
        RuntimeError: a worker process died (killed, out of memory): the message names the cases still pending.
    """
    num_processes = default_num_processes() if num_processes is None else max(1, int(num_processes))
    bar = tqdm(total=len(cases), desc=desc, unit="case", file=sys.stderr, dynamic_ncols=True)
    try:
        if num_processes == 1 or len(cases) <= 1:
            for case in cases:
                try:
                    yield case, fn(case), None
                except Exception as err:  # reported by the caller, the other cases go on
                    yield case, None, err
                bar.update()
            return
        # fork shares the already-imported modules (no re-import of torch per worker); spawn where fork is absent
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(min(num_processes, len(cases)), mp_context=multiprocessing.get_context(method)) as ex:
            futures = {ex.submit(fn, case): case for case in cases}
            pending = set(cases)
            for future in as_completed(futures):
                case = futures[future]
                pending.discard(case)
                try:
                    yield case, future.result(), None
                except BrokenProcessPool as err:
                    raise RuntimeError(
                        f"a worker process died (killed or out of memory?) while processing "
                        f"{sorted(pending | {case})[:10]}; rerun with fewer processes "
                        "(--num_processes)"
                    ) from err
                except Exception as err:
                    yield case, None, err
                bar.update()
    finally:
        bar.close()
