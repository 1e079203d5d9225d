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

"""The suite's Python commands run in a pre-imported interpreter (tests/warm_python.py): each must see what a fresh
``python`` would (argv, working directory, environment, sys.path[0], exit status, output), and only the imports
are shared."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests import warm_python

REPORT = textwrap.dedent("""
    import json, os, sys
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "path0": sys.path[0], "name": __name__,
                      "x": os.environ.get("ZOO_X"), "home": "HOME" in os.environ}))
    print("to stderr", file=sys.stderr)
    sys.exit(int(os.environ.get("ZOO_CODE", "0")))
    """)


@pytest.fixture
def cases(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "report_script.py").write_text(REPORT)
    (tmp_path / "work" / "report_module.py").write_text(REPORT)
    env = dict(os.environ, ZOO_X="seen", ZOO_CODE="3")
    env.pop("HOME", None)
    return tmp_path, env


@pytest.mark.parametrize("kind", ["-c", "-m", "script"])
def test_same_as_a_fresh_interpreter(cases, kind):
    root, env = cases
    target = {"-c": ["-c", REPORT], "-m": ["-m", "report_module"], "script": [str(root / "report_script.py")]}[kind]
    cmd = [sys.executable, *target, "a b", "--c"]
    warm = warm_python.run(cmd, cwd=root / "work", env=env, timeout=60)
    fresh = subprocess.run(cmd, cwd=root / "work", env=env, capture_output=True, text=True, timeout=60)
    assert (warm.returncode, warm.stdout, warm.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert warm.returncode == 3 and '"x": "seen"' in warm.stdout and '"home": false' in warm.stdout


def test_libraries_are_preloaded_and_errors_reported(tmp_path):
    proc = warm_python.run([sys.executable, "-c", "import sys; print('monai' in sys.modules); 1 / 0"], cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == "True\n"
    assert "ZeroDivisionError" in proc.stderr


def test_timeout_kills_the_command_and_the_next_one_runs(tmp_path):
    with pytest.raises(subprocess.TimeoutExpired):
        warm_python.run([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"], timeout=2)
    assert warm_python.run([sys.executable, "-c", "print('next')"], cwd=tmp_path).stdout == "next\n"


def test_import_time_settings_get_a_fresh_interpreter(tmp_path):
    threads = "2" if os.environ.get("OMP_NUM_THREADS") == "1" else "1"
    env = dict(os.environ, OMP_NUM_THREADS=threads)
    code = "import sys, torch; print('monai' in sys.modules, torch.get_num_threads())"
    assert warm_python.run([sys.executable, "-c", code], cwd=tmp_path, env=env).stdout.split() == ["False", threads]


def test_c_code_pickles_its_classes_warns_by_default_and_joins_its_threads(tmp_path):
    code = textwrap.dedent("""
        import pickle, threading, time, warnings

        class Point:
            pass

        pickle.dumps(Point())  # needs a real __main__ module
        warnings.warn("shown", DeprecationWarning)  # Python's default filters show it when __main__ warns
        warnings.warn("hidden", ResourceWarning)  # and hide this one
        threading.Thread(target=lambda: (time.sleep(0.5), open("late.txt", "w").write("done"))).start()
        """)
    proc = warm_python.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": ""})
    assert proc.returncode == 0, proc.stderr
    assert "shown" in proc.stderr and "hidden" not in proc.stderr
    assert (tmp_path / "late.txt").read_text() == "done"  # the non-daemon thread finished before the exit
    proc = warm_python.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0 and "shown" not in proc.stderr
